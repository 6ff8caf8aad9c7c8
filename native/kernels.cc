// The engine's optional native kernels (see src/engine/kernels/native.ts): single-precision matrix
// products for x86-64 with AVX-512 and AVX2 micro-kernels chosen at run time, and a plain C++ path
// for every other CPU. Built at install by scripts/build-native.mjs; the engine uses its WebAssembly
// kernels when this file was not built.
//
// Scheme (the usual packed GEMM): op(B) is copied into NR-wide, depth-major panels and op(A) into
// MR-high panels, zero-padded at the edges, so one micro-kernel serves every transpose case. The
// depth is cut into equal blocks of at most KC_MAX, rows into blocks of MC, columns into blocks of NC.
// All matrices are row-major float32 and live in JavaScript memory: nothing is copied in or out.
// Accumulators are named locals, not arrays: GCC keeps an accumulator array in memory.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define BP_X86 1
#endif

namespace {

constexpr int KC_MAX = 256;
constexpr int MC = 128;
constexpr int NC = 2048;
constexpr int MR_MAX = 8;
constexpr int NR_MAX = 32;

// op(X)[i][p] = x[i * si + p * sp]
struct View {
  const float* x;
  long si;
  long sp;
};

// One micro-kernel: C[0..MR)[0..NR) (+)= Apanel · Bpanel over kc steps; beta = add to C.
using MicroKernel = void (*)(int kc, const float* pa, const float* pb, float* c, long ldc, bool beta);

struct Isa {
  const char* name;
  int mr;
  int nr;
  MicroKernel kernel;
};

// ---- micro-kernels ------------------------------------------------------------------------------

void kernelGeneric(int kc, const float* pa, const float* pb, float* c, long ldc, bool beta) {
  // 4 x 8 with the accumulators in a local array; the compiler keeps this one in registers (SSE).
  float acc[4][8] = {};
  for (int p = 0; p < kc; p++) {
    for (int i = 0; i < 4; i++) {
      const float a = pa[p * 4 + i];
      for (int j = 0; j < 8; j++) acc[i][j] += a * pb[p * 8 + j];
    }
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) c[i * ldc + j] = beta ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

#ifdef BP_X86
#define FMA512(r) \
  a = _mm512_set1_ps(pa[r]); \
  c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0); \
  c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);
#define STORE512(r) \
  if (beta) { \
    c##r##0 = _mm512_add_ps(c##r##0, _mm512_loadu_ps(c + r * ldc)); \
    c##r##1 = _mm512_add_ps(c##r##1, _mm512_loadu_ps(c + r * ldc + 16)); \
  } \
  _mm512_storeu_ps(c + r * ldc, c##r##0); \
  _mm512_storeu_ps(c + r * ldc + 16, c##r##1);

// 8 x 32: 16 zmm accumulators, two B loads and eight broadcasts per depth step.
__attribute__((target("avx512f"))) void kernelAvx512(int kc, const float* pa, const float* pb, float* c,
                                                     long ldc, bool beta) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(pb);
    const __m512 b1 = _mm512_loadu_ps(pb + 16);
    __m512 a;
    FMA512(0) FMA512(1) FMA512(2) FMA512(3) FMA512(4) FMA512(5) FMA512(6) FMA512(7)
    pa += 8;
    pb += 32;
  }
  STORE512(0) STORE512(1) STORE512(2) STORE512(3) STORE512(4) STORE512(5) STORE512(6) STORE512(7)
}

#define FMA256(r) \
  a = _mm256_broadcast_ss(pa + r); \
  c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0); \
  c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1);
#define STORE256(r) \
  if (beta) { \
    c##r##0 = _mm256_add_ps(c##r##0, _mm256_loadu_ps(c + r * ldc)); \
    c##r##1 = _mm256_add_ps(c##r##1, _mm256_loadu_ps(c + r * ldc + 8)); \
  } \
  _mm256_storeu_ps(c + r * ldc, c##r##0); \
  _mm256_storeu_ps(c + r * ldc + 8, c##r##1);

// 6 x 16: 12 ymm accumulators.
__attribute__((target("avx2,fma"))) void kernelAvx2(int kc, const float* pa, const float* pb, float* c,
                                                    long ldc, bool beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(pb);
    const __m256 b1 = _mm256_loadu_ps(pb + 8);
    __m256 a;
    FMA256(0) FMA256(1) FMA256(2) FMA256(3) FMA256(4) FMA256(5)
    pa += 6;
    pb += 16;
  }
  STORE256(0) STORE256(1) STORE256(2) STORE256(3) STORE256(4) STORE256(5)
}
#endif

const Isa ISA_GENERIC = {"generic", 4, 8, kernelGeneric};
#ifdef BP_X86
const Isa ISA_AVX512 = {"avx512", 8, 32, kernelAvx512};
const Isa ISA_AVX2 = {"avx2", 6, 16, kernelAvx2};
#endif

const Isa* detectIsa() {
#ifdef BP_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &ISA_AVX2;
#endif
  return &ISA_GENERIC;
}

const Isa* g_isa = detectIsa();

// ---- packing ------------------------------------------------------------------------------------

inline int roundUp(int x, int to) { return (x + to - 1) / to * to; }

#ifdef BP_X86
const bool g_avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));

// Eight rows of a row-major matrix (row stride lda) over depth [0, kc) into one 8-high panel,
// dst[p * 8 + r] = src[r * lda + p], as 8 × 8 transposes in registers: the scalar loop below
// stores one float at a time, which cost a tenth of a 1,024-row forward product.
__attribute__((target("avx2"))) void packRows8(const float* src, long lda, int kc, float* dst) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    const float* s = src + p;
    const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lda), r2 = _mm256_loadu_ps(s + 2 * lda),
                 r3 = _mm256_loadu_ps(s + 3 * lda), r4 = _mm256_loadu_ps(s + 4 * lda),
                 r5 = _mm256_loadu_ps(s + 5 * lda), r6 = _mm256_loadu_ps(s + 6 * lda),
                 r7 = _mm256_loadu_ps(s + 7 * lda);
    // Pairs of rows interleaved, then quads, then the 128-bit halves: column q of the block.
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 q4 = _mm256_shuffle_ps(t4, t6, 0x44), q5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 q6 = _mm256_shuffle_ps(t5, t7, 0x44), q7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    float* d = dst + p * 8;
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(q0, q4, 0x20));
    _mm256_storeu_ps(d + 8, _mm256_permute2f128_ps(q1, q5, 0x20));
    _mm256_storeu_ps(d + 16, _mm256_permute2f128_ps(q2, q6, 0x20));
    _mm256_storeu_ps(d + 24, _mm256_permute2f128_ps(q3, q7, 0x20));
    _mm256_storeu_ps(d + 32, _mm256_permute2f128_ps(q0, q4, 0x31));
    _mm256_storeu_ps(d + 40, _mm256_permute2f128_ps(q1, q5, 0x31));
    _mm256_storeu_ps(d + 48, _mm256_permute2f128_ps(q2, q6, 0x31));
    _mm256_storeu_ps(d + 56, _mm256_permute2f128_ps(q3, q7, 0x31));
  }
  for (; p < kc; p++)
    for (int r = 0; r < 8; r++) dst[p * 8 + r] = src[r * lda + p];
}
#endif

// Rows [i0, i0 + rows) of op(X) over depth [p0, p0 + kc) into `w`-high panels: dst[panel][p][r].
void packPanels(const View& v, int i0, int rows, int p0, int kc, int w, float* dst) {
  for (int r0 = 0; r0 < rows; r0 += w) {
    const int h = std::min(w, rows - r0);
    const float* src = v.x + (long)(i0 + r0) * v.si + (long)p0 * v.sp;
#ifdef BP_X86
    if (w == 8 && h == 8 && v.sp == 1 && v.si != 1 && g_avx2) {
      packRows8(src, v.si, kc, dst);
      dst += (long)kc * w;
      continue;
    }
#endif
    if (v.si == 1) {
      // The panel's rows are contiguous for each depth step.
      for (int p = 0; p < kc; p++) {
        const float* s = src + (long)p * v.sp;
        float* d = dst + p * w;
        std::memcpy(d, s, sizeof(float) * h);
        for (int r = h; r < w; r++) d[r] = 0;
      }
    } else {
      for (int r = 0; r < h; r++) {
        const float* s = src + (long)r * v.si;
        if (v.sp == 1) {
          for (int p = 0; p < kc; p++) dst[p * w + r] = s[p];
        } else {
          for (int p = 0; p < kc; p++) dst[p * w + r] = s[(long)p * v.sp];
        }
      }
      for (int r = h; r < w; r++)
        for (int p = 0; p < kc; p++) dst[p * w + r] = 0;
    }
    dst += (long)kc * w;
  }
}

// Per-thread scratch, 64-byte aligned, grown on demand and kept.
struct Scratch {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      cap = std::max(n, cap * 2);
      p = static_cast<float*>(std::aligned_alloc(64, roundUp((int)(cap * sizeof(float)), 64)));
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch t_packA, t_packB;

/** Depth-block size: k cut into equal blocks of at most KC_MAX. */
inline int depthBlock(int k) {
  const int blocks = (k + KC_MAX - 1) / KC_MAX;
  return (k + blocks - 1) / blocks;
}

// ---- the epilogue of a dense layer -------------------------------------------------------------
// A layer's forward for inference (denseForward) is its product with the bias and the activation
// applied to each tile of C right after the tile's last depth block, while it is still in L1: no
// pass of its own over the output, and the bits of the product followed by the activation's pass.

/** What is applied on the way out of a dense tile. */
enum Epilogue : int { kPlain = -1, kLinear = 0, kRelu = 1 };

// c[j] = relu(t[j] + b[j]) as reluForwardLoop computes it (NaN stays NaN, −∞ gives +0, a negative
// gives −0), compiled per instruction set so it runs branch-free on vectors: a branch per value
// mispredicts on about half of a layer's outputs.
__attribute__((target_clones("avx512f", "avx2", "default"))) void reluRow(int cols, const float* t,
                                                                          const float* b,
                                                                          float* c) {
  for (int j = 0; j < cols; j++) {
    const float x = t[j] + b[j];
    const float y = x > 0 ? x : x * 0.0f;
    c[j] = y == y ? y : (x == -INFINITY ? 0.0f : x);
  }
}

// c[i][j] = f(tile[i][j] + bias[j]) for i < rows, j < cols; kPlain copies the product as it is.
void storeTile(const float* tile, int ldt, int rows, int cols, const float* bias, int epilogue, float* c,
               long ldc) {
  for (int i = 0; i < rows; i++) {
    const float* t = tile + i * ldt;
    float* ci = c + i * ldc;
    if (epilogue == kPlain) {
      std::memmove(ci, t, sizeof(float) * cols);
    } else if (epilogue == kLinear) {
      for (int j = 0; j < cols; j++) ci[j] = t[j] + bias[j];
    } else {
      reluRow(cols, t, bias, ci);
    }
  }
}

// Rows [m0, m1) and columns [n0, n1) of C (ldc) (+)= op(A)·op(B). `bt` is op(B) seen as rows j and
// depth p (bt[j][p] = op(B)[p][j]), packed here; or `prepacked` holds op(B) packed for every depth
// block, block (p0, j0) at offset p0 * roundUp(n, NR) + j0 * kc (n0 must then be a multiple of NR).
// An epilogue other than kPlain is applied to each tile of C once its last depth block is in.
void gemmBlock(const Isa& isa, int m0, int m1, int n0, int n1, int n, int k, const View& a, const View* bt,
               const float* prepacked, float* c, long ldc, bool accumulate, const float* bias = nullptr,
               int epilogue = kPlain) {
  const int MR = isa.mr, NR = isa.nr;
  const int kcb = depthBlock(k);
  float* pa = t_packA.get((size_t)kcb * roundUp(MC, MR));
  float* pbBuf = prepacked ? nullptr : t_packB.get((size_t)kcb * roundUp(std::min(n1 - n0, NC), NR));
  alignas(64) float tile[MR_MAX * NR_MAX];
  for (int j0 = n0; j0 < n1; j0 += NC) {
    const int nc = std::min(NC, n1 - j0);
    for (int p0 = 0; p0 < k; p0 += kcb) {
      const int kc = std::min(kcb, k - p0);
      const bool beta = accumulate || p0 > 0;
      const bool last = epilogue != kPlain && p0 + kc >= k;
      const float* pb;
      if (prepacked) {
        pb = prepacked + (long)p0 * roundUp(n, NR) + (long)j0 * kc;
      } else {
        packPanels(*bt, j0, nc, p0, kc, NR, pbBuf);
        pb = pbBuf;
      }
      for (int i0 = m0; i0 < m1; i0 += MC) {
        const int mc = std::min(MC, m1 - i0);
        packPanels(a, i0, mc, p0, kc, MR, pa);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nw = std::min(NR, nc - jr);
          const float* pbp = pb + (long)jr * kc;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mh = std::min(MR, mc - ir);
            float* cp = c + (long)(i0 + ir) * ldc + j0 + jr;
            const float* pap = pa + (long)ir * kc;
            if (mh == MR && nw == NR) {
              isa.kernel(kc, pap, pbp, cp, ldc, beta);
            } else {
              isa.kernel(kc, pap, pbp, tile, NR, false);
              for (int i = 0; i < mh; i++)
                for (int j = 0; j < nw; j++)
                  cp[i * ldc + j] = beta ? cp[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
            }
            if (last) storeTile(cp, ldc, mh, nw, bias + j0 + jr, epilogue, cp, ldc);
          }
        }
      }
    }
  }
}

// ---- one row ------------------------------------------------------------------------------------

// c[0..n) (+)= a[0..k) · B for B packed as in gemmBlock (NR-wide panels per depth block): streams B
// once, which is all a single row needs. Each panel's sum runs in four interleaved chains, so the
// loop waits on loads, not on the latency of one chain of additions.
template <int NR>
void gemvGeneric(int n, int k, const float* a, const float* pb, float* c, bool accumulate) {
  const int kcb = depthBlock(k);
  const int np = roundUp(n, NR);
  for (int j0 = 0; j0 < np; j0 += NR) {
    float acc[NR] = {};
    for (int p0 = 0; p0 < k; p0 += kcb) {
      const int kc = std::min(kcb, k - p0);
      const float* panel = pb + (long)p0 * np + (long)j0 * kc;
      for (int p = 0; p < kc; p++)
        for (int j = 0; j < NR; j++) acc[j] += a[p0 + p] * panel[(long)p * NR + j];
    }
    const int w = std::min(NR, n - j0);
    for (int j = 0; j < w; j++) c[j0 + j] = accumulate ? c[j0 + j] + acc[j] : acc[j];
  }
}

#ifdef BP_X86
// The body of the SIMD one-row products, for a vector type V of W floats and its intrinsics.
#define BP_GEMV(V, W, LOAD, SET1, FMA, ADD, STORE, ZERO) \
  constexpr int NR = 2 * W; \
  const int kcb = depthBlock(k); \
  const int np = roundUp(n, NR); \
  for (int j0 = 0; j0 < np; j0 += NR) { \
    V x0 = ZERO(), x1 = x0, y0 = x0, y1 = x0, z0 = x0, z1 = x0, w0 = x0, w1 = x0; \
    for (int p0 = 0; p0 < k; p0 += kcb) { \
      const int kc = std::min(kcb, k - p0); \
      const float* r = pb + (long)p0 * np + (long)j0 * kc; \
      const float* av = a + p0; \
      int p = 0; \
      for (; p + 4 <= kc; p += 4, r += 4 * NR) { \
        V s = SET1(av[p]); \
        x0 = FMA(s, LOAD(r), x0); \
        x1 = FMA(s, LOAD(r + W), x1); \
        s = SET1(av[p + 1]); \
        y0 = FMA(s, LOAD(r + NR), y0); \
        y1 = FMA(s, LOAD(r + NR + W), y1); \
        s = SET1(av[p + 2]); \
        z0 = FMA(s, LOAD(r + 2 * NR), z0); \
        z1 = FMA(s, LOAD(r + 2 * NR + W), z1); \
        s = SET1(av[p + 3]); \
        w0 = FMA(s, LOAD(r + 3 * NR), w0); \
        w1 = FMA(s, LOAD(r + 3 * NR + W), w1); \
      } \
      for (; p < kc; p++, r += NR) { \
        const V s = SET1(av[p]); \
        x0 = FMA(s, LOAD(r), x0); \
        x1 = FMA(s, LOAD(r + W), x1); \
      } \
    } \
    alignas(64) float out[NR]; \
    STORE(out, ADD(ADD(x0, y0), ADD(z0, w0))); \
    STORE(out + W, ADD(ADD(x1, y1), ADD(z1, w1))); \
    const int w = std::min(NR, n - j0); \
    for (int j = 0; j < w; j++) c[j0 + j] = accumulate ? c[j0 + j] + out[j] : out[j]; \
  }

__attribute__((target("avx512f"))) void gemvAvx512(int n, int k, const float* a, const float* pb, float* c,
                                                   bool accumulate) {
  BP_GEMV(__m512, 16, _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps,
          _mm512_setzero_ps)
}
__attribute__((target("avx2,fma"))) void gemvAvx2(int n, int k, const float* a, const float* pb, float* c,
                                                  bool accumulate) {
  BP_GEMV(__m256, 8, _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps,
          _mm256_setzero_ps)
}
#endif

void gemv(int n, int k, const float* a, const float* pb, float* c, bool accumulate) {
#ifdef BP_X86
  if (g_isa == &ISA_AVX512) return gemvAvx512(n, k, a, pb, c, accumulate);
  if (g_isa == &ISA_AVX2) return gemvAvx2(n, k, a, pb, c, accumulate);
#endif
  gemvGeneric<8>(n, k, a, pb, c, accumulate);
}

// ---- helper thread ------------------------------------------------------------------------------
// One helper thread takes half of the rows (or columns) of large products. It spins for a short
// while after each product, then sleeps on an atomic wait, so an idle engine costs no CPU. The
// helper serves one caller at a time: a product that finds it busy (another JavaScript thread of the
// same process) runs on its caller's thread alone.

struct Task {
  const Isa* isa;
  int m0, m1, n0, n1, n, k;
  View a;
  View bt;
  bool hasB;
  const float* prepacked;
  float* c;
  long ldc;
  bool accumulate;
  // A dense layer's bias and the Epilogue applied to C (kPlain for a product alone).
  const float* bias;
  int epilogue;
};

std::atomic<uint32_t> g_seq{0};   // bumped by the caller for each task
std::atomic<uint32_t> g_done{0};  // set to the task's seq by the helper when finished
std::atomic<bool> g_busy{false};  // a caller owns the helper
Task g_task;
std::atomic<bool> g_helperStarted{false};
std::atomic<int> g_threads{1};
constexpr int SPIN = 2000;
// Below this many multiply-adds a product stays on one thread: the hand-off would cost more, and
// a helper that spins or waits for a core on a busy machine costs more than it brings.
constexpr double SPLIT_MIN_MACS = 2e6;

void runTask(const Task& t) {
  gemmBlock(*t.isa, t.m0, t.m1, t.n0, t.n1, t.n, t.k, t.a, t.hasB ? &t.bt : nullptr, t.prepacked, t.c, t.ldc,
            t.accumulate, t.bias, t.epilogue);
}

void helperLoop() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t s = g_seq.load(std::memory_order_acquire);
    for (int i = 0; s == seen && i < SPIN; i++) {
#ifdef BP_X86
      _mm_pause();
#endif
      s = g_seq.load(std::memory_order_acquire);
    }
    if (s == seen) {
      g_seq.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = s;
    runTask(g_task);
    g_done.store(s, std::memory_order_release);
    g_done.notify_one();
  }
}

// C (+)= op(A)·op(B) for the whole m×n, on one or two threads. The split duplicates the packing of
// the operand both halves need, so it cuts the dimension that leaves the smaller one shared.
void runSplit(const Task& whole) {
  const Isa& isa = *whole.isa;
  const int m = whole.m1, n = whole.n1;
  const double macs = (double)m * n * whole.k;
  const bool byCols = n > m;
  const bool splittable = byCols ? n >= 2 * isa.nr : m >= 2 * isa.mr;
  bool expected = false;
  if (g_threads.load(std::memory_order_relaxed) < 2 || macs < SPLIT_MIN_MACS || !splittable ||
      !g_busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    runTask(whole);
    return;
  }
  Task mine = whole;
  g_task = whole;
  if (byCols) {
    const int half = roundUp((n + 1) / 2, isa.nr);
    mine.n1 = half;
    g_task.n0 = half;
  } else {
    const int half = roundUp((m + 1) / 2, isa.mr);
    mine.m1 = half;
    g_task.m0 = half;
  }
  const uint32_t s = g_seq.load(std::memory_order_relaxed) + 1;
  g_seq.store(s, std::memory_order_release);
  g_seq.notify_one();
  runTask(mine);
  for (int i = 0; g_done.load(std::memory_order_acquire) != s; i++) {
    if (i < SPIN) {
#ifdef BP_X86
      _mm_pause();
#endif
    } else {
      const uint32_t d = g_done.load(std::memory_order_acquire);
      if (d != s) g_done.wait(d, std::memory_order_acquire);
    }
  }
  g_busy.store(false, std::memory_order_release);
}

void gemmSplit(int m, int n, int k, const View& a, const View* bt, const float* prepacked, float* c,
               bool accumulate) {
  runSplit({g_isa, 0, m, 0, n, n, k, a, bt ? *bt : View{}, bt != nullptr, prepacked, c, (long)n, accumulate,
            nullptr, kPlain});
}

// out (m×n) = f(op(A)·B + bias) for B packed by packB, on one or two threads.
void denseSplit(int m, int n, int k, const View& a, const float* packed, const float* bias, int epilogue,
                float* c) {
  runSplit({g_isa, 0, m, 0, n, n, k, a, View{}, false, packed, c, (long)n, false, bias, epilogue});
}

// C (+)= op(A)·op(B), m×n. Narrow products (fewer columns than half a tile) run as
// Cᵀ = op(B)ᵀ·op(A)ᵀ into scratch, then transposed into C.
void gemm(bool transA, bool transB, int m, int n, int k, const float* a, const float* b, float* c,
          bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + (long)m * n, 0.0f);
    return;
  }
  const View va = transA ? View{a, 1, m} : View{a, k, 1};  // op(A)[i][p]
  const View bt = transB ? View{b, k, 1} : View{b, 1, n};  // op(B)[p][j] as rows j, depth p
  if (n * 2 < g_isa->nr && m > n) {
    thread_local Scratch t_ct;
    float* ct = t_ct.get((size_t)m * n);
    gemmSplit(n, m, k, bt, &va, nullptr, ct, false);
    for (long i = 0; i < m; i++)
      for (long j = 0; j < n; j++) c[i * n + j] = accumulate ? c[i * n + j] + ct[j * m + i] : ct[j * m + i];
    return;
  }
  gemmSplit(m, n, k, va, &bt, nullptr, c, accumulate);
}

// ---- element-wise passes ------------------------------------------------------------------------
// Each does the arithmetic of its JavaScript reference (src/engine/optimizers.ts, activations.ts) in
// the same precision and order, so both give the same bits; the loops are compiled once per
// instruction set and the best one is picked at load. Built with -ffp-contract=off (no fused
// multiply-adds the reference does not do) and -fno-math-errno (a sqrt that vectorizes).

// Adam (Kingma & Ba 2015, Algorithm 1) in float64 like the reference: g = (grad + wd·w)·scale;
// m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; w ← w − step·m / (√(v·c2) + ε); grad ← 0.
__attribute__((target_clones("avx512f", "avx2", "default"))) void adamLoop(
    long n, float* __restrict w, float* __restrict gr, float* __restrict m, float* __restrict v, double beta1,
    double beta2, double step, double c2, double eps, double wd, double scale) {
  const double ob1 = 1 - beta1, ob2 = 1 - beta2;
  if (wd == 0 && scale == 1) {
    for (long i = 0; i < n; i++) {
      const double g = gr[i];
      const double mi = beta1 * m[i] + ob1 * g;
      const double vi = beta2 * v[i] + ob2 * g * g;
      m[i] = (float)mi;
      v[i] = (float)vi;
      w[i] = (float)((double)w[i] - (step * mi) / (std::sqrt(vi * c2) + eps));
      gr[i] = 0;
    }
    return;
  }
  for (long i = 0; i < n; i++) {
    const double g = ((double)gr[i] + wd * (double)w[i]) * scale;
    const double mi = beta1 * m[i] + ob1 * g;
    const double vi = beta2 * v[i] + ob2 * g * g;
    m[i] = (float)mi;
    v[i] = (float)vi;
    w[i] = (float)((double)w[i] - (step * mi) / (std::sqrt(vi * c2) + eps));
    gr[i] = 0;
  }
}

// ReLU forward with the bias add: z ← z + b (float32), a = max(z, 0) with the reference's
// signed zeros and non-finite values: NaN stays NaN, −∞ gives +0, a negative gives −0.
__attribute__((target_clones("avx512f", "avx2", "default"))) void reluForwardLoop(
    long rows, long cols, float* __restrict z, float* __restrict a, const float* __restrict b) {
  for (long r = 0; r < rows; r++) {
    float* zr = z + r * cols;
    float* ar = a + r * cols;
    for (long j = 0; j < cols; j++) {
      const float x = zr[j] + (b ? b[j] : 0.0f);
      zr[j] = x;
      const float y = x > 0 ? x : x * 0.0f;
      ar[j] = y == y ? y : (x == -INFINITY ? 0.0f : x);
    }
  }
}

// ReLU backward with the bias gradient: dz = da·[z > 0] and g[j] += dz[r][j] in row order.
__attribute__((target_clones("avx512f", "avx2", "default"))) void reluBackwardLoop(
    long rows, long cols, const float* __restrict z, const float* __restrict da, float* __restrict dz,
    float* __restrict g) {
  for (long r = 0; r < rows; r++) {
    const float* zr = z + r * cols;
    const float* dar = da + r * cols;
    float* dzr = dz + r * cols;
    for (long j = 0; j < cols; j++) {
      const float d = dar[j] * (zr[j] > 0 ? 1.0f : 0.0f);
      dzr[j] = d;
      if (g) g[j] += d;
    }
  }
}

// ---- N-API --------------------------------------------------------------------------------------

bool fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return false;
}

bool getF32(napi_env env, napi_value v, float** data, size_t* len, const char* name) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (!is || napi_get_typedarray_info(env, v, &type, len, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, name);
    return false;
  }
  *data = static_cast<float*>(ptr);
  return true;
}

bool getInt(napi_env env, napi_value v, int* out) {
  int32_t x = -1;
  if (napi_get_value_int32(env, v, &x) != napi_ok || x < 0) return fail(env, "sizes must be non-negative integers");
  *out = x;
  return true;
}

bool getBool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

// gemm(transA, transB, m, n, k, a, b, c, accumulate)
napi_value jsGemm(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 9) return fail(env, "gemm takes 9 arguments"), nullptr;
  int m, n, k;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!getInt(env, argv[2], &m) || !getInt(env, argv[3], &n) || !getInt(env, argv[4], &k) ||
      !getF32(env, argv[5], &a, &la, "A must be a Float32Array") ||
      !getF32(env, argv[6], &b, &lb, "B must be a Float32Array") ||
      !getF32(env, argv[7], &c, &lc, "C must be a Float32Array"))
    return nullptr;
  if (la < (size_t)m * k || lb < (size_t)k * n || lc < (size_t)m * n)
    return fail(env, "gemm: an operand is shorter than its shape"), nullptr;
  gemm(getBool(env, argv[0]), getBool(env, argv[1]), m, n, k, a, b, c, getBool(env, argv[8]));
  return nullptr;
}

// packB(transB, k, n, b) -> Float32Array holding op(B) packed for gemmPacked on this ISA.
napi_value jsPackB(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 4) return fail(env, "packB takes 4 arguments"), nullptr;
  int k, n;
  float* b;
  size_t lb;
  if (!getInt(env, argv[1], &k) || !getInt(env, argv[2], &n) ||
      !getF32(env, argv[3], &b, &lb, "B must be a Float32Array"))
    return nullptr;
  if (lb < (size_t)k * n) return fail(env, "packB: B is shorter than k x n"), nullptr;
  const int nr = g_isa->nr;
  const size_t len = (size_t)k * roundUp(n, nr);
  void* data = nullptr;
  napi_value buf, out;
  napi_create_arraybuffer(env, std::max<size_t>(len, 1) * sizeof(float), &data, &buf);
  napi_create_typedarray(env, napi_float32_array, std::max<size_t>(len, 1), buf, 0, &out);
  const bool transB = getBool(env, argv[0]);
  // Columns j of op(B) as packing rows: op(B)[p][j] = b[p*(transB ? 1 : n) + j*(transB ? k : 1)].
  const View bt = transB ? View{b, k, 1} : View{b, 1, n};
  const int kcb = std::max(1, depthBlock(k));
  float* dst = static_cast<float*>(data);
  for (int p0 = 0; p0 < k; p0 += kcb) {
    const int kc = std::min(kcb, k - p0);
    packPanels(bt, 0, n, p0, kc, nr, dst + (long)p0 * roundUp(n, nr));
  }
  return out;
}

// gemmPacked(transA, m, n, k, a, packedB, c, accumulate)
napi_value jsGemmPacked(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 8) return fail(env, "gemmPacked takes 8 arguments"), nullptr;
  int m, n, k;
  float *a, *pb, *c;
  size_t la, lb, lc;
  if (!getInt(env, argv[1], &m) || !getInt(env, argv[2], &n) || !getInt(env, argv[3], &k) ||
      !getF32(env, argv[4], &a, &la, "A must be a Float32Array") ||
      !getF32(env, argv[5], &pb, &lb, "the packed B must be a Float32Array") ||
      !getF32(env, argv[6], &c, &lc, "C must be a Float32Array"))
    return nullptr;
  if (la < (size_t)m * k || lb < (size_t)k * roundUp(n, g_isa->nr) || lc < (size_t)m * n)
    return fail(env, "gemmPacked: an operand is shorter than its shape"), nullptr;
  const bool transA = getBool(env, argv[0]);
  const bool accumulate = getBool(env, argv[7]);
  if (m == 0 || n == 0) return nullptr;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + (long)m * n, 0.0f);
    return nullptr;
  }
  if (m == 1) {
    gemv(n, k, a, pb, c, accumulate);
    return nullptr;
  }
  const View va = transA ? View{a, 1, m} : View{a, k, 1};
  gemmSplit(m, n, k, va, nullptr, pb, c, accumulate);
  return nullptr;
}

// denseForward(m, n, k, x, packedW, bias, epilogue, out): out (m×n) = f(x·W + bias) for x m×k
// row-major and W packed by packB; epilogue 0 is the identity (linear), 1 is ReLU.
napi_value jsDenseForward(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 8) return fail(env, "denseForward takes 8 arguments"), nullptr;
  int m, n, k, epilogue;
  float *x, *pw, *bias, *out;
  size_t lx, lw, lb, lo;
  if (!getInt(env, argv[0], &m) || !getInt(env, argv[1], &n) || !getInt(env, argv[2], &k) ||
      !getF32(env, argv[3], &x, &lx, "x must be a Float32Array") ||
      !getF32(env, argv[4], &pw, &lw, "the packed W must be a Float32Array") ||
      !getF32(env, argv[5], &bias, &lb, "bias must be a Float32Array") || !getInt(env, argv[6], &epilogue) ||
      !getF32(env, argv[7], &out, &lo, "out must be a Float32Array"))
    return nullptr;
  if (epilogue != kLinear && epilogue != kRelu) return fail(env, "denseForward: epilogue must be 0 or 1"), nullptr;
  if (lx < (size_t)m * k || lw < (size_t)k * roundUp(n, g_isa->nr) || lb < (size_t)n || lo < (size_t)m * n)
    return fail(env, "denseForward: an operand is shorter than its shape"), nullptr;
  if (m == 0 || n == 0) return nullptr;
  if (k == 0 || m == 1) {
    if (k == 0)
      std::fill(out, out + (long)m * n, 0.0f);
    else
      gemv(n, k, x, pw, out, false);
    for (int i = 0; i < m; i++) storeTile(out + (long)i * n, n, 1, n, bias, epilogue, out + (long)i * n, n);
    return nullptr;
  }
  denseSplit(m, n, k, View{x, k, 1}, pw, bias, epilogue, out);
  return nullptr;
}

bool getDouble(napi_env env, napi_value v, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return fail(env, "expected a number");
  return true;
}

// A Float32Array of at least `need` elements, or null/undefined when `optional`.
bool getF32Min(napi_env env, napi_value v, size_t need, float** out, const char* name, bool optional = false) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (optional && (t == napi_null || t == napi_undefined)) {
    *out = nullptr;
    return true;
  }
  size_t len = 0;
  if (!getF32(env, v, out, &len, name)) return false;
  if (len < need) return fail(env, name);
  return true;
}

// adam(w, grad, m, v, beta1, beta2, step, c2, eps, wd, scale)
napi_value jsAdam(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 11) return fail(env, "adam takes 11 arguments"), nullptr;
  float *w, *g, *m, *v;
  size_t n = 0;
  if (!getF32(env, argv[0], &w, &n, "w must be a Float32Array")) return nullptr;
  double x[7];
  if (!getF32Min(env, argv[1], n, &g, "grad must be a Float32Array as long as w") ||
      !getF32Min(env, argv[2], n, &m, "m must be a Float32Array as long as w") ||
      !getF32Min(env, argv[3], n, &v, "v must be a Float32Array as long as w"))
    return nullptr;
  for (int i = 0; i < 7; i++)
    if (!getDouble(env, argv[4 + i], &x[i])) return nullptr;
  adamLoop((long)n, w, g, m, v, x[0], x[1], x[2], x[3], x[4], x[5], x[6]);
  return nullptr;
}

// reluForward(z, a, rows, cols, bias | null)
napi_value jsReluForward(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 5) return fail(env, "reluForward takes 5 arguments"), nullptr;
  int rows, cols;
  float *z, *a, *b;
  if (!getInt(env, argv[2], &rows) || !getInt(env, argv[3], &cols)) return nullptr;
  const size_t n = (size_t)rows * cols;
  if (!getF32Min(env, argv[0], n, &z, "z must be a Float32Array of rows x cols") ||
      !getF32Min(env, argv[1], n, &a, "a must be a Float32Array of rows x cols") ||
      !getF32Min(env, argv[4], cols, &b, "bias must be a Float32Array of cols", true))
    return nullptr;
  reluForwardLoop(rows, cols, z, a, b);
  return nullptr;
}

// reluBackward(z, da, dz, rows, cols, biasGrad | null)
napi_value jsReluBackward(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 6) return fail(env, "reluBackward takes 6 arguments"), nullptr;
  int rows, cols;
  float *z, *da, *dz, *g;
  if (!getInt(env, argv[3], &rows) || !getInt(env, argv[4], &cols)) return nullptr;
  const size_t n = (size_t)rows * cols;
  if (!getF32Min(env, argv[0], n, &z, "z must be a Float32Array of rows x cols") ||
      !getF32Min(env, argv[1], n, &da, "da must be a Float32Array of rows x cols") ||
      !getF32Min(env, argv[2], n, &dz, "dz must be a Float32Array of rows x cols") ||
      !getF32Min(env, argv[5], cols, &g, "biasGrad must be a Float32Array of cols", true))
    return nullptr;
  reluBackwardLoop(rows, cols, z, da, dz, g);
  return nullptr;
}

napi_value str(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

// isa() -> "avx512" | "avx2" | "generic"
napi_value jsIsa(napi_env env, napi_callback_info) { return str(env, g_isa->name); }

// setIsa(name) -> the ISA now in use; a name this CPU cannot run is refused (for tests).
napi_value jsSetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[16] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return fail(env, "setIsa takes a name"), nullptr;
  const Isa* best = detectIsa();
  const Isa* pick = nullptr;
  if (std::strcmp(name, "generic") == 0) pick = &ISA_GENERIC;
#ifdef BP_X86
  if (std::strcmp(name, "avx2") == 0 && best != &ISA_GENERIC) pick = &ISA_AVX2;
  if (std::strcmp(name, "avx512") == 0 && best == &ISA_AVX512) pick = &ISA_AVX512;
#endif
  if (!pick) return fail(env, "setIsa: this CPU cannot run that instruction set"), nullptr;
  g_isa = pick;
  return str(env, g_isa->name);
}

// setThreads(1 | 2) -> threads now used by large products (the helper starts on first use of 2).
napi_value jsSetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int t = 1;
  if (argc < 1 || !getInt(env, argv[0], &t)) return nullptr;
  g_threads.store(t >= 2 ? 2 : 1);
  bool started = false;
  if (t >= 2 && g_helperStarted.compare_exchange_strong(started, true)) std::thread(helperLoop).detach();
  napi_value v;
  napi_create_int32(env, g_threads.load(), &v);
  return v;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, jsGemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"packB", nullptr, jsPackB, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmPacked", nullptr, jsGemmPacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseForward", nullptr, jsDenseForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isa", nullptr, jsIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setIsa", nullptr, jsSetIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, jsSetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, jsAdam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluForward", nullptr, jsReluForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluBackward", nullptr, jsReluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
