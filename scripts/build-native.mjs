// Builds the engine's optional native kernels (native/kernels.cc -> native/build/kernels.node) at
// `npm ci` / `npm install` (the package's own install script) or by hand with `npm run build:native`.
// It compiles with the C++ compiler at hand ($CXX, else g++, else c++) against the headers of the
// Node that runs it, offline. It never fails the install: without a compiler or headers, or when the
// build breaks, it says so and exits 0, and the engine uses its WebAssembly kernels.
// BACKPROP_NATIVE=0 skips the build (and removes a previous one).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, 'native', 'kernels.cc');
const outDir = join(root, 'native', 'build');
const out = join(outDir, 'kernels.node');
const say = (msg) => process.stdout.write(`[build-native] ${msg}\n`);

// $CXX when set (and only it: the user chose it), else the first of g++, c++, clang++ that runs.
function findCompiler() {
  const choices = process.env.CXX ? [process.env.CXX] : ['g++', 'c++', 'clang++'];
  return choices.find((cxx) => spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status === 0) ?? null;
}

function main() {
  if (process.env.BACKPROP_NATIVE === '0') {
    rmSync(out, { force: true });
    return say('skipped (BACKPROP_NATIVE=0): the engine will use its WebAssembly kernels');
  }
  // Node's headers ship with the binary's installation: <prefix>/include/node/node_api.h.
  const headers = join(dirname(dirname(process.execPath)), 'include', 'node');
  if (!existsSync(join(headers, 'node_api.h'))) {
    return say(`no Node headers at ${headers}: not built, the engine will use its WebAssembly kernels`);
  }
  const cxx = findCompiler();
  if (!cxx)
    return say(
      'no C++ compiler ($CXX, else g++, c++, clang++) runs here: not built, the engine will use WebAssembly',
    );
  mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const args = [
    '-O3',
    // No fused multiply-adds the JavaScript reference does not do (same bits), and a square root that
    // need not set errno, so the optimizer loops vectorize (Adam: about 6x faster).
    '-ffp-contract=off',
    '-fno-math-errno',
    '-std=c++20',
    '-fPIC',
    '-shared',
    '-pthread',
    `-I${headers}`,
    source,
    '-o',
    tmp,
  ];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  const started = Date.now();
  const r = spawnSync(cxx, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = (r.stderr || r.error?.message || `exit ${r.status}`)
      .trim()
      .split('\n')
      .slice(0, 5)
      .join('\n  ');
    return say(`${cxx} failed, the engine will use its WebAssembly kernels:\n  ${why}`);
  }
  renameSync(tmp, out);
  say(`built ${out} with ${cxx} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (err) {
  say(`not built (${err instanceof Error ? err.message : String(err)}); the engine will use WebAssembly`);
}
