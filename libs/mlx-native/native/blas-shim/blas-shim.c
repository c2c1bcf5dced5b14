/*
 * Preloaded over the system BLAS in the engine's workers on Linux (see README.md here): MLX's CPU
 * backend calls cblas_sgemm for every product, and OpenBLAS packs the whole weight matrix on every
 * call, which is most of a decode step when the other side has one or a few rows. Products with up
 * to SMALL_ROWS_MAX rows (the rows of a decoding batch) go to a kernel that streams each weight row
 * from memory once for all rows, split over the BLAS's threads; other products with one row or
 * column go to sgemv; everything else goes on to the real cblas_sgemm.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The CBLAS ABI (Debian ships no cblas.h with the runtime library). */
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, int, int, int, float, const float *, int,
                      const float *, int, float, float *, int);
typedef void sgemv_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, int, int, float, const float *, int, const float *, int, float,
                      float *, int);

/*
 * Up to this many rows a product reads its weights once for all rows in the kernel below, on every
 * BLAS thread; past it OpenBLAS's packed kernel, whose packing is then paid for by enough
 * arithmetic per weight byte, takes over (prefill chunks).
 */
#define SMALL_ROWS_MAX 16
/* Output columns per block of the kernel for a [K,N] weight: the block of C stays in L1. */
#define COLUMN_BLOCK 256
/*
 * Below this many multiply-adds a product runs on the calling thread: waking a helper costs more.
 * Attention's products over a few hundred keys are above it: split over two threads, the 384 weighted
 * sums of one decode step of 8 rows over 300 and 1,000 keys took 2.1 and 7.3 ms instead of 2.4 and 9.0.
 */
#define PARALLEL_MIN_WORK (1 << 16)
#define MAX_THREADS 64

/*
 * Vector width and register count of the machine it is built on (-march=native): a tile of rows ×
 * weight rows keeps one accumulator per pair, plus the weight rows and one input row, in registers.
 */
#if defined(__AVX512F__)
#define VECTOR_BYTES 64
#define VECTOR_REGISTERS 32
#elif defined(__AVX__)
#define VECTOR_BYTES 32
#define VECTOR_REGISTERS 16
#elif defined(__aarch64__)
#define VECTOR_BYTES 16
#define VECTOR_REGISTERS 32
#else
#define VECTOR_BYTES 16
#define VECTOR_REGISTERS 16
#endif
#define LANES (VECTOR_BYTES / 4)
/*
 * Four rows per tile on every machine: with 32 registers, 4 rows × 6 weight rows streamed 1.4x the
 * bytes per second of 8 × 3 (more weight rows in flight), which matters more than loads per multiply-add.
 */
#define TILE_ROWS 4
#if VECTOR_REGISTERS >= 32
#define TILE_WEIGHT_ROWS_MAX 8
#else
#define TILE_WEIGHT_ROWS_MAX 6
#endif

typedef float vfloat __attribute__((vector_size(VECTOR_BYTES)));
typedef float vfloat_unaligned __attribute__((vector_size(VECTOR_BYTES), aligned(4)));

static sgemm_fn *real_sgemm;
static sgemv_fn *real_sgemv;
/* Threads the kernel splits a product over: the BLAS's own thread count, so OPENBLAS_NUM_THREADS rules both. */
static int kernel_threads = 1;
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void start_helpers(void);

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
  kernel_threads = threads == NULL ? 1 : threads();
  kernel_threads = kernel_threads < 1 ? 1 : kernel_threads > MAX_THREADS ? MAX_THREADS : kernel_threads;
  start_helpers();
}

static int is_transposed(enum CBLAS_TRANSPOSE trans) { return trans != CblasNoTrans; }

/* BLAS semantics: beta == 0 overwrites C without reading it (it may hold NaN). */
static inline float scaled(float alpha, float sum, float beta, float old) {
  return beta == 0.0f ? alpha * sum : alpha * sum + beta * old;
}

static inline vfloat load(const float *p) { return *(const vfloat_unaligned *)p; }

/* Lane i meets lane i ^ step at each halving, so lane 0 ends with the sum of all. */
static inline float horizontal_sum(vfloat v) {
#if LANES == 16
  v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
#elif LANES == 8
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6);
#else
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2);
#endif
  return v[0];
}

/*
 * Dot products of `rows` input rows with `weight_rows` weight rows, all of length K, into
 * sums[row][weight row]. Each weight vector is loaded once for all rows and each input vector once
 * for all weight rows, so the loop is bound by multiply-adds rather than loads. Always inlined
 * with constant counts: the accumulators then live in registers.
 */
static inline __attribute__((always_inline)) void dot_tile(const int rows, const int weight_rows, int lead, int K, const float *a,
                                                           int lda, const float *const w[TILE_WEIGHT_ROWS_MAX], size_t ldw,
                                                           float sums[TILE_ROWS][TILE_WEIGHT_ROWS_MAX]) {
  vfloat acc[TILE_ROWS][TILE_WEIGHT_ROWS_MAX];
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < weight_rows; j++) acc[i][j] = (vfloat){0};
  int k = lead;
  for (; k + LANES <= K; k += LANES) {
    vfloat wv[TILE_WEIGHT_ROWS_MAX];
    for (int j = 0; j < weight_rows; j++) {
      /*
       * The next tile's rows, a whole tile ahead: without it the loads of each new tile wait on
       * memory while the arithmetic idles (measured 1.3-2x slower per GB from DRAM).
       */
      __builtin_prefetch(w[j] + weight_rows * ldw + k);
      wv[j] = load(w[j] + k);
    }
    for (int i = 0; i < rows; i++) {
      const vfloat av = load(a + (size_t)i * lda + k);
      for (int j = 0; j < weight_rows; j++) acc[i][j] += av * wv[j];
    }
  }
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < weight_rows; j++) {
      float sum = horizontal_sum(acc[i][j]);
      for (int kk = 0; kk < lead; kk++) sum += a[(size_t)i * lda + kk] * w[j][kk];
      for (int kk = k; kk < K; kk++) sum += a[(size_t)i * lda + kk] * w[j][kk];
      sums[i][j] = sum;
    }
}

/* Weight rows per tile for a tile of `rows` rows: as many as the registers hold next to their accumulators. */
static int weight_rows_for(int rows) {
  const int fit = (VECTOR_REGISTERS - 1) / (rows + 1);
  return fit < 1 ? 1 : fit > TILE_WEIGHT_ROWS_MAX ? TILE_WEIGHT_ROWS_MAX : fit;
}

#define TILE_CASE(R, W) \
  case (R) * 16 + (W): dot_tile((R), (W), lead, K, a, lda, w, ldw, sums); break;
#define TILE_CASES_FOR_ROWS(R) \
  TILE_CASE(R, 1) TILE_CASE(R, 2) TILE_CASE(R, 3) TILE_CASE(R, 4) TILE_CASE(R, 5) TILE_CASE(R, 6)

/* dot_tile with its counts made constant: one specialised loop per (rows, weight rows) pair. */
static void dot_tile_of(int rows, int weight_rows, int lead, int K, const float *a, int lda, const float *const w[TILE_WEIGHT_ROWS_MAX],
                        size_t ldw, float sums[TILE_ROWS][TILE_WEIGHT_ROWS_MAX]) {
  switch (rows * 16 + weight_rows) {
    TILE_CASES_FOR_ROWS(1) TILE_CASES_FOR_ROWS(2) TILE_CASES_FOR_ROWS(3) TILE_CASES_FOR_ROWS(4)
#if TILE_WEIGHT_ROWS_MAX > 6
    TILE_CASE(1, 7) TILE_CASE(1, 8) TILE_CASE(2, 7) TILE_CASE(2, 8) TILE_CASE(3, 7) TILE_CASE(3, 8)
#endif
    default: abort();
  }
}

/*
 * C[M,N] = alpha * A[M,K] * W[N,K]^T + beta * C for output columns [n_begin, n_end), all row-major:
 * the layout of x * W^T for an nn.Linear. Per tile of weight rows, every group of input rows meets
 * them while they are in L1, so W is read from memory once whatever M is.
 */
static void rows_times_weight_rows(int M, int n_begin, int n_end, int lead, int K, float alpha, const float *A, int lda,
                                   const float *W, int ldw, float beta, float *C, int ldc) {
  const int tile_rows = M < TILE_ROWS ? M : TILE_ROWS;
  const int step = weight_rows_for(tile_rows);
  float sums[TILE_ROWS][TILE_WEIGHT_ROWS_MAX];
  for (int n = n_begin; n < n_end; n += step) {
    const int weight_rows = n_end - n < step ? n_end - n : step;
    const float *w[TILE_WEIGHT_ROWS_MAX];
    for (int j = 0; j < weight_rows; j++) w[j] = W + (size_t)(n + j) * ldw;
    for (int m = 0; m < M; m += tile_rows) {
      const int rows = M - m < tile_rows ? M - m : tile_rows;
      dot_tile_of(rows, weight_rows, lead, K, A + (size_t)m * lda, lda, w, ldw, sums);
      for (int i = 0; i < rows; i++) {
        float *c = C + (size_t)(m + i) * ldc + n;
        for (int j = 0; j < weight_rows; j++) c[j] = scaled(alpha, sums[i][j], beta, c[j]);
      }
    }
  }
}

/*
 * Columns per register tile of an input-major weight, and rows per pass over it: 2 rows × 4 vectors of
 * accumulators, the weight's 4 vectors of the current input and one broadcast input element take 13
 * registers, so each multiply-add waits on no load or store. Attention's weighted sums of values
 * (probabilities [group, keys] · values [keys, headDim], per row and KV head) are such products.
 */
#define COLUMN_VECTORS 4
#define COLUMN_TILE (COLUMN_VECTORS * LANES)
#define COLUMN_TILE_ROWS 2

/* C's `rows` rows × COLUMN_TILE columns from A's rows and W's columns, over all K. */
static inline __attribute__((always_inline)) void column_tile(const int rows, int K, float alpha, const float *A, int lda, const float *W,
                                                              int ldw, float beta, float *C, int ldc) {
  vfloat acc[COLUMN_TILE_ROWS][COLUMN_VECTORS];
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < COLUMN_VECTORS; v++) acc[i][v] = (vfloat){0};
  for (int k = 0; k < K; k++) {
    vfloat wv[COLUMN_VECTORS];
    for (int v = 0; v < COLUMN_VECTORS; v++) wv[v] = load(W + (size_t)k * ldw + v * LANES);
    for (int i = 0; i < rows; i++) {
      const vfloat a = (vfloat){0} + A[(size_t)i * lda + k];
      for (int v = 0; v < COLUMN_VECTORS; v++) acc[i][v] += a * wv[v];
    }
  }
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < COLUMN_VECTORS; v++)
      for (int l = 0; l < LANES; l++) {
        float *c = C + (size_t)i * ldc + v * LANES + l;
        *c = scaled(alpha, acc[i][v][l], beta, *c);
      }
}

/*
 * C[M,N] = alpha * A[M,K] * W[K,N] + beta * C for output columns [n_begin, n_end), all row-major: a
 * weight stored input-major. Whole tiles of columns keep their sums in registers (column_tile); the
 * columns after the last whole tile, per block, add each weight row into all M output rows while it
 * is in cache.
 */
static void rows_times_weight_columns(int M, int n_begin, int n_end, int K, float alpha, const float *A, int lda, const float *W,
                                      int ldw, float beta, float *C, int ldc) {
  for (; n_begin + COLUMN_TILE <= n_end; n_begin += COLUMN_TILE) {
    for (int m = 0; m < M; m += COLUMN_TILE_ROWS) {
      const float *a = A + (size_t)m * lda;
      float *c = C + (size_t)m * ldc + n_begin;
      if (M - m >= COLUMN_TILE_ROWS) {
        column_tile(COLUMN_TILE_ROWS, K, alpha, a, lda, W + n_begin, ldw, beta, c, ldc);
      } else {
        column_tile(1, K, alpha, a, lda, W + n_begin, ldw, beta, c, ldc);
      }
    }
  }
  float acc[SMALL_ROWS_MAX][COLUMN_BLOCK];
  for (int n0 = n_begin; n0 < n_end; n0 += COLUMN_BLOCK) {
    const int width = n_end - n0 < COLUMN_BLOCK ? n_end - n0 : COLUMN_BLOCK;
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

/* One small-rows product, split by output columns into chunks that the kernel's threads claim. */
struct product {
  /* lead: elements of each row summed one at a time before the weights' vector loads are aligned. */
  int weights_transposed, M, N, K, lda, ldw, ldc, chunks, granule, lead;
  float alpha, beta;
  const float *A, *W;
  float *C;
};

/*
 * Chunks per thread of a product split over threads. Handed out one at a time, so a thread that
 * starts late or loses its core for a while (another process on a shared machine) takes fewer
 * instead of making the others wait for its fixed share: with one fixed half each, the calling
 * thread spent 4% of an 8-row decode step waiting for the helper. Over six alternating runs of the
 * ~256M decode products (2 threads, a noisy VM), 8 rows averaged 57.0 ms/GB instead of 61.5 with the
 * same best run (53). 2 and 8 chunks per thread averaged 58.2 and 57.4, and 35.2 and 37.2 for one row
 * (4: 33.4, fixed halves: 36.8).
 */
#define CHUNKS_PER_THREAD 4

/* Chunks are whole tiles of weight rows (or column tiles), so every thread runs full tiles. */
static int granules_of(const struct product *p) { return (p->N + p->granule - 1) / p->granule; }

static void run_chunk(const struct product *p, int chunk) {
  const int granules = granules_of(p);
  const int begin = (int)((long)granules * chunk / p->chunks) * p->granule;
  int end = (int)((long)granules * (chunk + 1) / p->chunks) * p->granule;
  end = end > p->N ? p->N : end;
  if (begin >= end) return;
  if (p->weights_transposed) {
    rows_times_weight_rows(p->M, begin, end, p->lead, p->K, p->alpha, p->A, p->lda, p->W, p->ldw, p->beta, p->C, p->ldc);
  } else {
    rows_times_weight_columns(p->M, begin, end, p->K, p->alpha, p->A, p->lda, p->W, p->ldw, p->beta, p->C, p->ldc);
  }
}

/*
 * Helpers that wait for products to help with, so a product costs a wake-up rather than a thread
 * start. A decode step runs a few hundred products with other small operations in between: a
 * helper spins that long before it sleeps, since a futex wake-up per product (two system calls,
 * costly in a VM) took a large share of a step. MLX issues products one at a time; a product
 * arriving from another thread while one is running (pool_busy taken) runs on its caller alone.
 */
#define SPIN_BEFORE_SLEEP 50000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static const struct product *pool_product;
static unsigned long pool_generation;
static int pool_sleepers;
/*
 * The running product's chunks: its generation (low 32 bits) in the high half, the next unclaimed
 * chunk and the chunk count in the low half. A helper that wakes after the product's chunks are
 * all claimed, or after its caller moved on, fails its claim and never touches the product, which
 * lives on its caller's stack; one whose claim succeeds holds the caller until that chunk is done.
 */
static uint64_t pool_claims;
static int pool_chunks_done;

static uint64_t claims_word(unsigned long generation, int next, int chunks) {
  return (uint64_t)(uint32_t)generation << 32 | (uint64_t)(uint16_t)next << 16 | (uint16_t)chunks;
}

/* Claims and runs chunks of the product of `generation` until none is left. */
static void run_claimed_chunks(unsigned long generation) {
  uint64_t claims = __atomic_load_n(&pool_claims, __ATOMIC_ACQUIRE);
  for (;;) {
    const int next = (int)(claims >> 16 & 0xffff), chunks = (int)(claims & 0xffff);
    if (claims >> 32 != (uint32_t)generation || next >= chunks) return;
    if (!__atomic_compare_exchange_n(&pool_claims, &claims, claims_word(generation, next + 1, chunks), 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      continue;
    }
    run_chunk(__atomic_load_n(&pool_product, __ATOMIC_ACQUIRE), next);
    __atomic_add_fetch(&pool_chunks_done, 1, __ATOMIC_RELEASE);
    claims = __atomic_load_n(&pool_claims, __ATOMIC_ACQUIRE);
  }
}

static unsigned long next_generation(unsigned long seen) {
  for (int spin = 0; spin < SPIN_BEFORE_SLEEP; spin++) {
    const unsigned long generation = __atomic_load_n(&pool_generation, __ATOMIC_ACQUIRE);
    if (generation != seen) return generation;
    cpu_relax();
  }
  pthread_mutex_lock(&pool_lock);
  pool_sleepers++;
  while (__atomic_load_n(&pool_generation, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
  pool_sleepers--;
  pthread_mutex_unlock(&pool_lock);
  return __atomic_load_n(&pool_generation, __ATOMIC_ACQUIRE);
}

static void *helper_main(void *arg) {
  (void)arg;
  unsigned long seen = 0;
  for (;;) {
    seen = next_generation(seen);
    run_claimed_chunks(seen);
  }
  return NULL;
}

static void start_helpers(void) {
  for (int t = 1; t < kernel_threads; t++) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, helper_main, NULL) != 0) {
      kernel_threads = t;
      break;
    }
  }
}

static void small_rows_product(struct product *p) {
  const long work = (long)p->M * p->N * p->K;
  if (kernel_threads == 1 || work < PARALLEL_MIN_WORK || pthread_mutex_trylock(&pool_busy) != 0) {
    p->chunks = 1;
    run_chunk(p, 0);
    return;
  }
  const int granules = granules_of(p);
  const int most = kernel_threads * CHUNKS_PER_THREAD;
  p->chunks = granules < most ? granules : most;
  const unsigned long generation = __atomic_load_n(&pool_generation, __ATOMIC_RELAXED) + 1;
  __atomic_store_n(&pool_product, p, __ATOMIC_RELAXED);
  __atomic_store_n(&pool_chunks_done, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&pool_claims, claims_word(generation, 0, p->chunks), __ATOMIC_RELEASE);
  /* Taking the lock orders the publication against a helper that is about to sleep. */
  pthread_mutex_lock(&pool_lock);
  __atomic_store_n(&pool_generation, generation, __ATOMIC_RELEASE);
  if (pool_sleepers > 0) pthread_cond_broadcast(&pool_wake);
  pthread_mutex_unlock(&pool_lock);
  run_claimed_chunks(generation);
  for (int spin = 0; __atomic_load_n(&pool_chunks_done, __ATOMIC_ACQUIRE) < p->chunks; spin++) {
    /* A helper the scheduler put aside mid-chunk (a loaded machine) gets the core back instead of a spinning caller. */
    if (spin < SPIN_BEFORE_SLEEP) {
      cpu_relax();
    } else {
      sched_yield();
    }
  }
  pthread_mutex_unlock(&pool_busy);
}

/* Elements before `p` reaches a vector boundary; 0 when no step of whole floats gets there. */
static int misaligned_lead(const float *p) {
  const uintptr_t address = (uintptr_t)p;
  return address % sizeof(float) != 0 ? 0 : (int)((VECTOR_BYTES - address % VECTOR_BYTES) % VECTOR_BYTES / sizeof(float));
}

/* The calling thread's copy of the input rows, grown as needed and kept between products. */
static __thread float *aligned_rows;
static __thread size_t aligned_rows_capacity;

static void small_rows(int weights_transposed, int M, int N, int K, float alpha, const float *A, int lda, const float *W, int ldw,
                       float beta, float *C, int ldc) {
  struct product p = {
      .weights_transposed = weights_transposed, .M = M, .N = N, .K = K, .lda = lda, .ldw = ldw, .ldc = ldc,
      .granule = weights_transposed ? weight_rows_for(M < TILE_ROWS ? M : TILE_ROWS) : COLUMN_TILE,
      .alpha = alpha, .beta = beta, .A = A, .W = W, .C = C,
  };
  /*
   * Vector loads that straddle cache lines ran the kernel 1.7-2.5x slower per GB (MLX's buffers are
   * not 64-byte aligned). When every weight row starts at the same offset from a vector boundary,
   * the first `lead` elements are summed one at a time so the weights' loads are aligned, and the
   * input rows are copied so that their element `lead` is aligned too.
   */
  if (weights_transposed && (size_t)ldw * sizeof(float) % VECTOR_BYTES == 0) {
    p.lead = misaligned_lead(W);
    const int shift = (LANES - p.lead) % LANES;
    const int stride = (shift + K + LANES - 1) / LANES * LANES;
    const size_t needed = (size_t)M * stride * sizeof(float);
    if (needed > aligned_rows_capacity) {
      free(aligned_rows);
      aligned_rows = aligned_alloc(VECTOR_BYTES, needed);
      aligned_rows_capacity = aligned_rows == NULL ? 0 : needed;
    }
    if (aligned_rows != NULL) {
      for (int i = 0; i < M; i++) memcpy(aligned_rows + (size_t)i * stride + shift, A + (size_t)i * lda, (size_t)K * sizeof(float));
      p.A = aligned_rows + shift;
      p.lda = stride;
    }
  }
  small_rows_product(&p);
}

/* Row-major only; a column-major call is first restated as its row-major transpose. */
static void row_major_sgemm(enum CBLAS_TRANSPOSE transA, enum CBLAS_TRANSPOSE transB, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  /*
   * Every product of a decode step, a Linear layer's x * W^T and attention's products alike, stays
   * here: one call into OpenBLAS's threaded sgemv or sgemm wakes its thread pool, whose threads then
   * spin (sched_yield) for a while on the cores this kernel's threads need.
   */
  if (M <= SMALL_ROWS_MAX && !is_transposed(transA) && K > 0) {
    small_rows(is_transposed(transB), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
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
