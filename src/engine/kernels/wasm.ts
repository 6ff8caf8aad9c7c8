// The WebAssembly SIMD backend: gemm.wat's packed 4x8 micro-kernel driven from here.
// Each call copies its operands into the module's memory (growing it when needed), runs there and
// copies C back, so callers keep plain Float32Arrays. Typed-array views of the memory are rebuilt
// after every grow, because growing detaches the old buffer.
import { checkGemm, checkPrepared } from './check.js';
import { GEMM_WASM_BASE64 } from './gemm-wasm.js';
import { jsKernels } from './js.js';
import type { Kernels, PreparedMatrix } from './types.js';

// The slice of the WebAssembly API used here (the project's TypeScript lib has no DOM types).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface GemmExports {
  memory: WasmMemory;
  pack(dst: number, src: number, sx: number, sp: number, xn: number, kc: number, w: number): void;
  kernel(
    mc: number,
    nc: number,
    kc: number,
    pa: number,
    pb: number,
    c: number,
    ldc: number,
    scratch: number,
  ): void;
  gemv_n(a: number, b: number, c: number, n: number, k: number): void;
  gemv_t(a: number, b: number, c: number, n: number, k: number): void;
}

const MR = 4; // micro-tile rows (packed A panel height)
const NR = 8; // micro-tile columns (packed B panel width)
const MC = 128; // rows of op(A) per packed block
const KC_MAX = 256; // depth per packed block; k is split into equal blocks of at most this
const SCRATCH_BYTES = 128; // one 4x8 tile for the edge path, at address 0
// Above this working set a product is split into row (or depth) slices, so a whole-data-set
// forward pass never doubles its size inside the module's memory.
const SLICE_BYTES = 32 << 20;

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;
const align16 = (bytes: number) => (bytes + 15) & ~15;

/** The module's bytes, decoded from the generated constant (the engine reads no file). */
const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));

/** True when this runtime can compile the module (WebAssembly with 128-bit SIMD). */
export const wasmSimdAvailable: boolean = wasmApi !== undefined && wasmApi.validate(bytes);

/** An operand to copy into the module's memory, or the byte offset of one already there. */
type Operand = Float32Array | number;

// One module instance: its memory and the products that run in it. Each prepared matrix gets its
// own instance with the matrix resident below `base`, so nothing needs an allocator and a dropped
// matrix is garbage-collected with its instance.
class Workspace {
  private readonly wasm: GemmExports;
  private f32: Float32Array;

  constructor(
    api: WasmApi,
    module: object,
    /** First byte free for per-call data; resident data lies below it. */
    private readonly base: number,
  ) {
    this.wasm = new api.Instance(module).exports as GemmExports;
    this.f32 = new Float32Array(this.wasm.memory.buffer);
    this.reserve(base);
  }

  reserve(end: number): void {
    const memory = this.wasm.memory;
    const have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / 65536));
    if (this.f32.buffer !== memory.buffer) this.f32 = new Float32Array(memory.buffer);
  }

  copyIn(src: Float32Array, len: number, off: number): void {
    this.f32.set(src.length === len ? src : src.subarray(0, len), off >> 2);
  }

  private copyOut(dst: Float32Array, len: number, off: number): void {
    dst.set(this.f32.subarray(off >> 2, (off >> 2) + len));
  }

  // One row: c (1 x n) (+)= a (1 x k) · op(B); no packing, B is streamed once.
  private gemv(
    transB: boolean,
    n: number,
    k: number,
    a: Float32Array,
    b: Operand,
    c: Float32Array,
    acc: boolean,
  ): void {
    const aOff = this.base;
    const bOff = typeof b === 'number' ? b : aOff + align16(k * 4);
    const cOff = typeof b === 'number' ? aOff + align16(k * 4) : bOff + align16(k * n * 4);
    this.reserve(cOff + n * 4);
    this.copyIn(a, k, aOff);
    if (typeof b !== 'number') this.copyIn(b, k * n, bOff);
    if (acc) this.copyIn(c, n, cOff);
    else this.f32.fill(0, cOff >> 2, (cOff >> 2) + n);
    if (transB) this.wasm.gemv_t(aOff, bOff, cOff, n, k);
    else this.wasm.gemv_n(aOff, bOff, cOff, n, k);
    this.copyOut(c, n, cOff);
  }

  // The packed product. With transposeOut, the m x n result is added into c as its transpose
  // (c is n x m): that is how a narrow C is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ.
  private packed(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Operand,
    b: Operand,
    c: Float32Array,
    acc: boolean,
    transposeOut: boolean,
  ): void {
    const kBlocks = Math.ceil(k / KC_MAX);
    const kcMax = Math.ceil(k / kBlocks);
    let end = this.base;
    const aOff = typeof a === 'number' ? a : end;
    if (typeof a !== 'number') end += align16(m * k * 4);
    const bOff = typeof b === 'number' ? b : end;
    if (typeof b !== 'number') end += align16(k * n * 4);
    const cOff = end;
    const paOff = cOff + align16(m * n * 4);
    const pbOff = paOff + kcMax * roundUp(Math.min(m, MC), MR) * 4;
    this.reserve(pbOff + kcMax * roundUp(n, NR) * 4);
    if (typeof a !== 'number') this.copyIn(a, m * k, aOff);
    if (typeof b !== 'number') this.copyIn(b, k * n, bOff);
    if (acc && !transposeOut) this.copyIn(c, m * n, cOff);
    else this.f32.fill(0, cOff >> 2, (cOff >> 2) + m * n);
    // Byte strides of op(A)[i][p] and op(B)[p][j] along their packed (x) and depth (p) axes.
    const sxA = transA ? 4 : k * 4;
    const spA = transA ? m * 4 : 4;
    const sxB = transB ? k * 4 : 4;
    const spB = transB ? 4 : n * 4;
    const wasm = this.wasm;
    for (let p0 = 0; p0 < k; p0 += kcMax) {
      const kc = Math.min(kcMax, k - p0);
      wasm.pack(pbOff, bOff + p0 * spB, sxB, spB, n, kc, NR);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        wasm.pack(paOff, aOff + i0 * sxA + p0 * spA, sxA, spA, mc, kc, MR);
        wasm.kernel(mc, n, kc, paOff, pbOff, cOff + i0 * n * 4, n * 4, 0);
      }
    }
    if (!transposeOut) {
      this.copyOut(c, m * n, cOff);
      return;
    }
    const f32 = this.f32;
    const base = cOff >> 2;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const v = f32[base + i * n + j];
        c[j * m + i] = acc ? c[j * m + i] + v : v;
      }
    }
  }

  private product(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Operand,
    c: Float32Array,
    acc: boolean,
  ): void {
    if (m === 1) return this.gemv(transB, n, k, a, b, c, acc);
    // A one-column C is the row Cᵀ = op(B)ᵀ·op(A)ᵀ, where op(A)ᵀ is A read the other way.
    if (n === 1 && typeof b !== 'number') return this.gemv(!transA, m, k, b, a, c, acc);
    // Narrow outputs waste most of an 8-wide tile: compute Cᵀ when its padded area is smaller.
    const area = roundUp(m, MR) * roundUp(n, NR);
    const areaT = roundUp(n, MR) * roundUp(m, NR);
    if (areaT < area) return this.packed(!transB, !transA, n, m, k, b, a, c, acc, true);
    this.packed(transA, transB, m, n, k, a, b, c, acc, false);
  }

  /** C (+)= op(A)·op(B) after the checks, split into slices when the working set is large. */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Operand,
    c: Float32Array,
    acc: boolean,
  ): void {
    if (m === 0 || n === 0) return;
    if (k === 0) {
      if (!acc) c.fill(0, 0, m * n);
      return;
    }
    const work = 4 * (m * k + k * n + m * n);
    if (work > SLICE_BYTES && !transA && m > MC) {
      // Row slices: rows of A and of C are contiguous.
      const rows = Math.max(MC, Math.floor(SLICE_BYTES / (4 * (k + n)) / MC) * MC);
      for (let i0 = 0; i0 < m; i0 += rows) {
        const i1 = Math.min(m, i0 + rows);
        this.product(
          false,
          transB,
          i1 - i0,
          n,
          k,
          a.subarray(i0 * k, i1 * k),
          b,
          c.subarray(i0 * n, i1 * n),
          acc,
        );
      }
      return;
    }
    if (work > SLICE_BYTES && transA && !transB && k > KC_MAX && typeof b !== 'number') {
      // Depth slices: rows of Aᵀ (k x m) and of B (k x n) are contiguous; later slices accumulate.
      const depth = Math.max(KC_MAX, Math.floor(SLICE_BYTES / (4 * (m + n)) / KC_MAX) * KC_MAX);
      for (let p0 = 0; p0 < k; p0 += depth) {
        const p1 = Math.min(k, p0 + depth);
        this.product(
          true,
          false,
          m,
          n,
          p1 - p0,
          a.subarray(p0 * m, p1 * m),
          b.subarray(p0 * n, p1 * n),
          c,
          acc || p0 > 0,
        );
      }
      return;
    }
    this.product(transA, transB, m, n, k, a, b, c, acc);
  }
}

interface WasmPrepared extends PreparedMatrix {
  readonly transB: boolean;
  readonly workspace: Workspace;
}

function createWasmKernels(api: WasmApi): Kernels {
  const module = new api.Module(bytes);
  const shared = new Workspace(api, module, SCRATCH_BYTES);
  return {
    name: 'wasm-simd',
    gemm(transA, transB, m, n, k, a, b, c, accumulate) {
      checkGemm(m, n, k, a, b, c);
      shared.gemm(transA, transB, m, n, k, a, b, c, accumulate);
    },
    // Bias passes touch each element once: copying into the module would cost more than the work.
    activations: jsKernels.activations,
    sumRows: jsKernels.sumRows,
    prepare(transB, k, n, b): WasmPrepared {
      checkGemm(0, n, k, null, b, null);
      const workspace = new Workspace(api, module, SCRATCH_BYTES + align16(k * n * 4));
      workspace.copyIn(b, k * n, SCRATCH_BYTES);
      return { backend: 'wasm-simd', k, n, transB, workspace };
    },
    gemmPrepared(transA, m, a, b, c, accumulate) {
      checkPrepared('wasm-simd', b);
      const p = b as WasmPrepared;
      checkGemm(m, p.n, p.k, a, null, c);
      p.workspace.gemm(transA, p.transB, m, p.n, p.k, a, SCRATCH_BYTES, c, accumulate);
    },
  };
}

/** The WebAssembly SIMD backend, or null where this runtime cannot compile SIMD modules. */
export const wasmKernels: Kernels | null = wasmApi && wasmSimdAvailable ? createWasmKernels(wasmApi) : null;
