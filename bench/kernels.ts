// Per-shape gemm speed of each kernel backend: the products of one W-mnist and one W-tab training
// step (the shapes of bench/data.ts) and the single-row inference product. Times are process CPU time
// (less sensitive to other processes than wall time), median of 7 rounds of ~30 ms.
// Usage: npx tsx bench/kernels.ts [--backends=wasm-simd,js-blocked,js]
import { availableKernels } from '../src/engine/kernels/index.js';
import { median } from './data.js';

// name, transA, transB, m, n, k
const SHAPES: Array<[string, boolean, boolean, number, number, number]> = [
  ['L1 fwd', false, false, 128, 256, 784],
  ['L1 dW', true, false, 784, 256, 128],
  ['L2 fwd', false, false, 128, 128, 256],
  ['L2 dW', true, false, 256, 128, 128],
  ['L2 dX', false, true, 128, 256, 128],
  ['L3 fwd', false, false, 128, 10, 128],
  ['L3 dW', true, false, 128, 10, 128],
  ['L3 dX', false, true, 128, 128, 10],
  ['T1 fwd', false, false, 64, 128, 32],
  ['T1 dW', true, false, 32, 128, 64],
  ['T2 fwd', false, false, 64, 128, 128],
  ['T2 dW', true, false, 128, 128, 64],
  ['T2 dX', false, true, 64, 128, 128],
  ['T3 fwd', false, false, 64, 4, 128],
  ['T3 dW', true, false, 128, 4, 64],
  ['T3 dX', false, true, 64, 128, 4],
  ['row L1', false, false, 1, 256, 784],
];

const arg = process.argv.slice(2).find((a) => a.startsWith('--backends='));
const wanted = arg?.slice('--backends='.length).split(',');
const backends = availableKernels().filter((k) => !wanted || wanted.includes(k.name));

for (const kernels of backends) {
  for (const [name, transA, transB, m, n, k] of SHAPES) {
    const a = new Float32Array(m * k).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    const b = new Float32Array(k * n).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
    const c = new Float32Array(m * n);
    const run = () => kernels.gemm(transA, transB, m, n, k, a, b, c, false);
    for (let i = 0; i < 20; i++) run();
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      let calls = 0;
      while (performance.now() - start < 30) {
        run();
        calls++;
      }
      const used = process.cpuUsage(cpu);
      rounds.push((used.user + used.system) / calls);
    }
    const us = median(rounds);
    process.stdout.write(
      JSON.stringify({
        backend: kernels.name,
        shape: name,
        m,
        n,
        k,
        transA,
        transB,
        cpu_us: Number(us.toFixed(2)),
        gflops: Number(((2 * m * n * k) / us / 1e3).toFixed(2)),
      }) + '\n',
    );
  }
}
