// A regression table on which the network's size and learning rate matter: y depends on its four
// inputs only through the products x1·x2 and x3·x4 inside a sine, which a small network learns
// slowly and coarsely. Measured with the default job's settings on 2,000 rows (seed 1, README
// "Hyperparameter search"): its 16-8 network reaches a test RMSE near 0.7, wider or deeper ones at a
// higher learning rate near 0.4, against the noise's 0.1.
import { createRng } from '../../src/engine/index.js';

/**
 * CSV text (header x1,x2,x3,x4,y) of `rows` rows drawn from a generator seeded with `seed`: each x
 * uniform in [−1, 1), y = 3·sin(5·x1·x2 + 3·x3·x4) + N(0, 0.1²), written with 4 decimals.
 */
export function interactionsCsv(rows: number, seed: number): string {
  const rng = createRng(seed);
  const lines = ['x1,x2,x3,x4,y'];
  for (let i = 0; i < rows; i++) {
    const x = [0, 1, 2, 3].map(() => rng.next() * 2 - 1);
    const y = 3 * Math.sin(5 * x[0] * x[1] + 3 * x[2] * x[3]) + 0.1 * rng.normal();
    lines.push([...x, y].map((v) => v.toFixed(4)).join(','));
  }
  return `${lines.join('\n')}\n`;
}
