// Reference kernels in plain JavaScript: the correctness baseline every other backend is tested against.
import { activations } from '../activations.js';
import { checkGemm, checkPrepared } from './check.js';
import type { Kernels, PreparedMatrix } from './types.js';

interface JsPrepared extends PreparedMatrix {
  readonly transB: boolean;
  readonly data: Float32Array;
}

export const jsKernels: Kernels = {
  name: 'js',
  activations,
  gemm(transA, transB, m, n, k, a, b, c, accumulate) {
    checkGemm(m, n, k, a, b, c);
    if (!accumulate) c.fill(0, 0, m * n);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[p * m + i] : a[i * k + p];
        if (aip === 0) continue;
        if (transB) {
          for (let j = 0; j < n; j++) c[ci + j] += aip * b[j * k + p];
        } else {
          const bp = p * n;
          for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    }
  },
  sumRows(m, n, x, out, accumulate) {
    if (!accumulate) out.fill(0, 0, n);
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) out[j] += x[row + j];
    }
  },
  prepare(transB, k, n, b): JsPrepared {
    checkGemm(0, n, k, null, b, null);
    return { backend: 'js', k, n, transB, data: b.slice(0, k * n) };
  },
  gemmPrepared(transA, m, a, b, c, accumulate) {
    checkPrepared('js', b);
    const p = b as JsPrepared;
    checkGemm(m, p.n, p.k, a, null, c);
    jsKernels.gemm(transA, p.transB, m, p.n, p.k, a, p.data, c, accumulate);
  },
};
