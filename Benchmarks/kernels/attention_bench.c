// Thread-CPU-time microbenchmark of the fused CPU attention (Sources/CVitreousCPU/attention.c) at every level
// this CPU has, one thread, against two ceilings measured in the same run on the same thread: a single-threaded
// cblas_sgemm (OpenBLAS, under whatever OPENBLAS_CORETYPE says) and the FMA peak of the level (independent
// fused multiply-add chains). Also checks a few output rows against a float64 softmax, so a fast wrong
// kernel shows. Thread CPU time, not wall time: it stays meaningful on a loaded machine. From the repository root:
//   clang -O2 -std=gnu11 -ISources/CVitreousCPU/include Benchmarks/kernels/attention_bench.c \
//      Sources/CVitreousCPU/attention.c Sources/CVitreousCPU/kernels.c -lopenblas -lm -o /tmp/attention_bench \
//      && /tmp/attention_bench
#include "CVitreousCPU.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define BEST(reps, expr) ({ double best = 1e9; for (int rep = 0; rep < (reps); rep++) { double t0 = now(); expr; \
    double t = now() - t0; if (t < best) best = t; } best; })

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

/// GFLOP/s of 12 independent FMA chains (2 flops per lane per FMA) of `type` (16 or 8 lanes).
#define FMA_PEAK(name, type, lanes, isa)                                                           \
    __attribute__((target(isa), noinline)) static double name(void) {                            \
        type acc[12], a = (type){0} + 0.999999f, b = (type){0} + 1e-7f;                           \
        for (int i = 0; i < 12; i++) acc[i] = (type){0} + (float)i;                               \
        const long n = 20000000;                                                                  \
        double t0 = now();                                                                        \
        for (long k = 0; k < n; k++)                                                              \
            for (int i = 0; i < 12; i++) acc[i] = __builtin_elementwise_fma(acc[i], a, b);        \
        double t = now() - t0;                                                                    \
        float sink = 0;                                                                           \
        for (int i = 0; i < 12; i++) sink += acc[i][0];                                           \
        if (sink == 12345) puts("");                                                              \
        return 2.0 * lanes * 12 * n / t / 1e9;                                                    \
    }
FMA_PEAK(fma_peak_avx512, v16, 16, "avx512f")
FMA_PEAK(fma_peak_avx2, v8, 8, "avx2,fma")

/// Largest relative error of 8 output rows (spread over the sequence, all heads) against float64.
static double check(const vk_attention_problem *p, const float *qkv) {
    const ptrdiff_t T = p->tokens, H = p->heads, D = p->head_dim, W = H * D;
    double worst = 0;
    for (int s = 0; s < 8; s++) {
        const ptrdiff_t t = s * (T - 1) / 7;
        for (ptrdiff_t h = 0; h < H; h++) {
            double *w = malloc(T * sizeof(double)), m = -INFINITY, sum = 0, num = 0, den = 0;
            for (ptrdiff_t j = 0; j < T; j++) {
                double dot = 0;
                for (ptrdiff_t d = 0; d < D; d++) dot += (double)qkv[t * 3 * W + h * D + d] * qkv[j * 3 * W + W + h * D + d];
                w[j] = dot * p->scale;
                m = w[j] > m ? w[j] : m;
            }
            for (ptrdiff_t j = 0; j < T; j++) sum += (w[j] = exp(w[j] - m));
            for (ptrdiff_t d = 0; d < D; d++) {
                double o = 0;
                for (ptrdiff_t j = 0; j < T; j++) o += w[j] / sum * qkv[j * 3 * W + 2 * W + h * D + d];
                double e = p->out[t * W + h * D + d] - o;
                num += e * e;
                den += o * o;
            }
            free(w);
            worst = fmax(worst, sqrt(num / den));
        }
    }
    return worst;
}

int main(void) {
    const ptrdiff_t heads = 6, head_dim = 64, width = heads * head_dim;
    openblas_set_num_threads(1);
    printf("FMA peak, one thread: AVX-512 %.1f GFLOP/s, AVX2 %.1f GFLOP/s\n", fma_peak_avx512(), fma_peak_avx2());
    // The sgemm ceiling on one thread: a 1024³ product, OpenBLAS's kernels for OPENBLAS_CORETYPE.
    {
        const int n = 1024;
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
        for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)(i % 17) * 0.01f;
        double t = BEST(5, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n));
        const char *core = getenv("OPENBLAS_CORETYPE");
        printf("cblas_sgemm 1024³, one thread (OPENBLAS_CORETYPE=%s): %.1f GFLOP/s\n", core ? core : "unset",
               2.0 * n * n * n / t / 1e9);
        free(a), free(b), free(c);
    }
    printf("%-9s %6s %5s %6s %10s %10s %10s\n", "level", "T", "batch", "block", "ms", "GFLOP/s", "max rel err");
    const ptrdiff_t token_counts[] = {257, 1370}, batches[] = {1, 8}, blocks[] = {24, 48, 96};
    for (int ti = 0; ti < 2; ti++)
        for (int bi = 0; bi < 2; bi++) {
            const ptrdiff_t T = token_counts[ti], B = batches[bi];
            float *qkv = malloc(sizeof(float) * B * T * 3 * width), *out = malloc(sizeof(float) * B * T * width);
            srand(1);
            for (ptrdiff_t i = 0; i < B * T * 3 * width; i++) qkv[i] = (float)((double)rand() / RAND_MAX * 4 - 2);
            for (int level = 0; level <= 2; level++) {
                if (!vk_supported((vk_level)level)) continue;
                for (int ki = 0; ki < 3; ki++) {
                    vk_attention_problem p = {
                        .q = qkv, .k = qkv + width, .v = qkv + 2 * width, .q_ld = 3 * width, .k_ld = 3 * width,
                        .v_ld = 3 * width, .out = out, .out_ld = width, .batch = B, .tokens = T, .heads = heads,
                        .head_dim = head_dim, .scale = 0.125f, .query_block = blocks[ki]};
                    void *scratch = aligned_alloc(64, (vk_attention_scratch_bytes(&p) + 63) / 64 * 64);
                    vk_attention_fn run = vk_attention_for((vk_level)level);
                    const ptrdiff_t items = vk_attention_work_items(&p);
                    double t = BEST(T > 1000 || B > 1 ? 3 : 10, run(&p, 0, items, scratch));
                    double flops = 4.0 * T * T * head_dim * heads * B;
                    printf("%-9s %6td %5td %6td %10.3f %10.1f %10.2e\n", vk_kernels_for((vk_level)level)->name, T, B,
                           blocks[ki], t * 1e3, flops / t / 1e9, check(&p, qkv));
                    free(scratch);
                }
            }
            free(qkv), free(out);
        }
    return 0;
}
