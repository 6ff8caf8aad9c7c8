// Assembles src/engine/kernels/gemm.wat into gemm.wasm with the wabt package (a devDependency):
// `npm run build:wasm`. The .wasm is committed, so installing the project needs no assembler; a
// test checks that the committed binary matches a fresh assembly of the source.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabtInit from 'wabt';

export const WAT_PATH = fileURLToPath(new URL('../src/engine/kernels/gemm.wat', import.meta.url));
export const WASM_PATH = fileURLToPath(new URL('../src/engine/kernels/gemm.wasm', import.meta.url));

/** The binary for a WAT source: SIMD and bulk memory on, no debug names (so output is stable). */
export async function assembleWat(source: string, name = 'gemm.wat'): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(name, source, { simd: true, bulk_memory: true });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = await assembleWat(readFileSync(WAT_PATH, 'utf8'));
  writeFileSync(WASM_PATH, bytes);
  console.log(`${WASM_PATH}: ${bytes.length} bytes`);
}
