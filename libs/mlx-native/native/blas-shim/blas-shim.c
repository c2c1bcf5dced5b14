/*
 * Preloaded over the system BLAS in the engine's workers on Linux (see README.md here): MLX's CPU
 * backend calls cblas_sgemm for every product, and OpenBLAS packs the whole weight matrix on every
 * call, which is most of a decode step when the other side has one or a few rows. Products with one
 * row or column go to sgemv; those with 2..SMALL_ROWS_MAX rows go to a kernel that streams each
 * weight row from memory once for all rows; everything else goes on to the real cblas_sgemm.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The CBLAS ABI (Debian ships no cblas.h with the runtime library). */
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, float, const float *, int,
                      const float *, int, float, float *, int);
typedef void sgemv_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, float, const float *, int, const float *, int, float,
                      float *, int);

/*
 * Above this many rows a product does enough arithmetic per weight byte that OpenBLAS's packed
 * kernel, packing included, beats this one (measured single-threaded on the 256M fixture's shapes:
 * the kernel wins up to 6 rows, ties at 8, loses 10-35% at 16; README.md here has the figures).
 */
#define SMALL_ROWS_MAX 8
/* Output columns per block of the kernel for a [K,N] weight: the block of C stays in L1. */
#define COLUMN_BLOCK 256

static sgemm_fn *real_sgemm;
static sgemv_fn *real_sgemv;
/*
 * The kernel runs on the calling thread, so it only beats sgemm against a single-threaded BLAS.
 * With OpenBLAS's thread pool (its default: every core), its packed sgemm on all cores was faster
 * for 2-16 rows (2 cores: 0.7-0.9x for the kernel), so those products go on to it.
 */
static int small_rows_kernel;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

/*
 * On the first product, not at load: the shim is preloaded into node, and the BLAS arrives later
 * with mlx.node. Node opens addons RTLD_LOCAL, so RTLD_NEXT may not see the BLAS; the library
 * mlx.node links is then asked by name (already loaded, so dlopen only returns its handle).
 */
static void resolve_real_blas(void) {
  void *blas = RTLD_NEXT;
  real_sgemm = (sgemm_fn *)dlsym(blas, "cblas_sgemm");
  real_sgemv = (sgemv_fn *)dlsym(blas, "cblas_sgemv");
  if (real_sgemm == NULL || real_sgemv == NULL) {
    blas = dlopen("libblas.so.3", RTLD_LAZY | RTLD_LOCAL);
    if (blas != NULL) {
      real_sgemm = (sgemm_fn *)dlsym(blas, "cblas_sgemm");
      real_sgemv = (sgemv_fn *)dlsym(blas, "cblas_sgemv");
    }
  }
  if (real_sgemm == NULL || real_sgemv == NULL) {
    fprintf(stderr, "blas-shim: no cblas_sgemm/cblas_sgemv in the process or in libblas.so.3 (%s)\n", dlerror());
    abort();
  }
  /* A BLAS without OpenBLAS's thread query (the reference BLAS) runs on one thread. */
  int (*threads)(void) = (int (*)(void))dlsym(blas, "openblas_get_num_threads");
  small_rows_kernel = threads == NULL || threads() == 1;
}

static int is_transposed(enum CBLAS_TRANSPOSE trans) { return trans != CblasNoTrans; }

/* BLAS semantics: beta == 0 overwrites C without reading it (it may hold NaN). */
static inline float scaled(float alpha, float sum, float beta, float old) {
  return beta == 0.0f ? alpha * sum : alpha * sum + beta * old;
}

/*
 * Dot products of `rows` (1..4) input rows with four weight rows: each load of A or W feeds up to
 * four FMAs. Always inlined with a constant `rows`, so the untaken rows fold away.
 */
static inline __attribute__((always_inline)) void dot_tile(const int rows, int K, const float *a0, int lda, const float *const w[4],
                                                           float s[4][4]) {
  const float *a1 = rows > 1 ? a0 + lda : a0, *a2 = rows > 2 ? a1 + lda : a0, *a3 = rows > 3 ? a2 + lda : a0;
  const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  float s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)
  for (int k = 0; k < K; k++) {
    s00 += a0[k] * w0[k], s01 += a0[k] * w1[k], s02 += a0[k] * w2[k], s03 += a0[k] * w3[k];
    if (rows > 1) s10 += a1[k] * w0[k], s11 += a1[k] * w1[k], s12 += a1[k] * w2[k], s13 += a1[k] * w3[k];
    if (rows > 2) s20 += a2[k] * w0[k], s21 += a2[k] * w1[k], s22 += a2[k] * w2[k], s23 += a2[k] * w3[k];
    if (rows > 3) s30 += a3[k] * w0[k], s31 += a3[k] * w1[k], s32 += a3[k] * w2[k], s33 += a3[k] * w3[k];
  }
  s[0][0] = s00, s[0][1] = s01, s[0][2] = s02, s[0][3] = s03, s[1][0] = s10, s[1][1] = s11, s[1][2] = s12, s[1][3] = s13;
  s[2][0] = s20, s[2][1] = s21, s[2][2] = s22, s[2][3] = s23, s[3][0] = s30, s[3][1] = s31, s[3][2] = s32, s[3][3] = s33;
}

/*
 * C[M,N] = alpha * A[M,K] * W[N,K]^T + beta * C, all row-major: the layout of x * W^T for an
 * nn.Linear. Tiles of four weight rows: while they are in cache every input row meets them, so W
 * is read from memory once per call whatever M is.
 */
static void rows_times_weight_rows(int M, int N, int K, float alpha, const float *A, int lda, const float *W, int ldw, float beta,
                                   float *C, int ldc) {
  float s[4][4];
  for (int n = 0; n < N; n += 4) {
    const int cols = N - n < 4 ? N - n : 4;
    /* The last tile repeats its first weight row where W has no more; those sums are not stored. */
    const float *w[4];
    for (int j = 0; j < 4; j++) w[j] = W + (size_t)(j < cols ? n + j : n) * ldw;
    for (int m = 0; m < M;) {
      const int rows = M - m < 4 ? M - m : 4;
      const float *a = A + (size_t)m * lda;
      switch (rows) {
        case 4: dot_tile(4, K, a, lda, w, s); break;
        case 3: dot_tile(3, K, a, lda, w, s); break;
        case 2: dot_tile(2, K, a, lda, w, s); break;
        default: dot_tile(1, K, a, lda, w, s); break;
      }
      for (int i = 0; i < rows; i++) {
        float *c = C + (size_t)(m + i) * ldc + n;
        for (int j = 0; j < cols; j++) c[j] = scaled(alpha, s[i][j], beta, c[j]);
      }
      m += rows;
    }
  }
}

/*
 * C[M,N] = alpha * A[M,K] * W[K,N] + beta * C, all row-major: a weight stored input-major. Per block
 * of columns, each weight row is added into all M output rows while it is in cache.
 */
static void rows_times_weight_columns(int M, int N, int K, float alpha, const float *A, int lda, const float *W, int ldw, float beta,
                                      float *C, int ldc) {
  float acc[SMALL_ROWS_MAX][COLUMN_BLOCK];
  for (int n0 = 0; n0 < N; n0 += COLUMN_BLOCK) {
    const int width = N - n0 < COLUMN_BLOCK ? N - n0 : COLUMN_BLOCK;
    for (int m = 0; m < M; m++)
      for (int j = 0; j < width; j++) acc[m][j] = 0;
    for (int k = 0; k < K; k++) {
      const float *w = W + (size_t)k * ldw + n0;
      for (int m = 0; m < M; m++) {
        const float a = A[(size_t)m * lda + k];
        float *row = acc[m];
#pragma omp simd
        for (int j = 0; j < width; j++) row[j] += a * w[j];
      }
    }
    for (int m = 0; m < M; m++) {
      float *c = C + (size_t)m * ldc + n0;
      for (int j = 0; j < width; j++) c[j] = scaled(alpha, acc[m][j], beta, c[j]);
    }
  }
}

/* Row-major only; a column-major call is first restated as its row-major transpose. */
static void row_major_sgemm(enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  if (M == 1 && N > 1) {
    /* The one row of op(A) is the vector; C's row is op(B)^T times it. */
    const int incx = is_transposed(transA) ? lda : 1;
    if (is_transposed(transB)) {
      real_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, incx, beta, C, 1);
    } else {
      real_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, A, incx, beta, C, 1);
    }
    return;
  }
  if (N == 1 && M > 1) {
    /* The one column of op(B) is the vector; C's column (stride ldc) is op(A) times it. */
    const int incx = is_transposed(transB) ? 1 : ldb;
    if (is_transposed(transA)) {
      real_sgemv(CblasRowMajor, CblasTrans, K, M, alpha, A, lda, B, incx, beta, C, ldc);
    } else {
      real_sgemv(CblasRowMajor, CblasNoTrans, M, K, alpha, A, lda, B, incx, beta, C, ldc);
    }
    return;
  }
  if (small_rows_kernel && M >= 2 && M <= SMALL_ROWS_MAX && !is_transposed(transA) && K > 0) {
    if (is_transposed(transB)) {
      rows_times_weight_rows(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
      rows_times_weight_columns(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    return;
  }
  real_sgemm(CblasRowMajor, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  pthread_once(&resolved, resolve_real_blas);
  if (order == CblasColMajor) {
    /* C = op(A) op(B) column-major is C^T = op(B)^T op(A)^T row-major, with the same buffers. */
    row_major_sgemm(transB, transA, N, M, K, alpha, B, ldb, A, lda, beta, C, ldc);
  } else {
    row_major_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}
