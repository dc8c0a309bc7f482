// Thread-CPU-time microbenchmark of the CVitreousCPU GEMM (packed B, bias epilogue) at every level this CPU
// has against OpenBLAS's cblas_sgemm (one thread; the GEMM's B repacked per call, as the backend called it),
// for the ViT-S and ViT-B layer shapes. One thread and thread CPU time: meaningful on a loaded machine.
// Build and run from the repository root (OPENBLAS_CORETYPE, when set, chooses OpenBLAS's kernels):
//   cc -O2 -std=gnu11 -ISources/CVitreousCPU/include Benchmarks/kernels/gemm_bench.c \
//      Sources/CVitreousCPU/gemm.c Sources/CVitreousCPU/kernels.c -lopenblas -lm -o /tmp/gemm_bench \
//      && /tmp/gemm_bench
#include "CVitreousCPU.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define BEST(reps, expr) ({ double best = 1e9; for (int rep = 0; rep < (reps); rep++) { double t0 = now(); expr; double t = now() - t0; if (t < best) best = t; } best; })
void openblas_set_num_threads(int);
int main(void) {
    openblas_set_num_threads(1);
    // m, n, k: qkv, fc1, fc2 / proj of ViT-S and ViT-B at 224 px, batch 1 (257 tokens) and 8 (2056).
    const ptrdiff_t shapes[][3] = {{257, 1152, 384}, {257, 1536, 384}, {257, 384, 1536}, {257, 384, 384},
                                   {257, 2304, 768}, {257, 3072, 768}, {257, 768, 3072}, {2056, 1152, 384},
                                   {2056, 384, 1536}};
    printf("%-16s %10s", "m x n x k", "openblas");
    for (int level = 0; level <= 2; level++)
        if (vk_supported((vk_level)level)) printf(" %10s", vk_gemm_kernels_for((vk_level)level)->name);
    printf("   (GFLOP/s, one thread; max |diff| vs openblas)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const ptrdiff_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(m * k * 4), *w = malloc(n * k * 4), *bias = malloc(n * 4), *c = malloc(m * n * 4),
              *ref = malloc(m * n * 4), *packed = malloc((n + 32) * k * 4), *scratch = malloc(256 * VK_GEMM_MAX_DEPTH * 4);
        srand(1);
        for (ptrdiff_t i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
        for (ptrdiff_t i = 0; i < n * k; i++) w[i] = rand() / (float)RAND_MAX - 0.5f;
        for (ptrdiff_t i = 0; i < n; i++) bias[i] = 0;
        const double flops = 2.0 * m * n * k, reps = m > 1000 ? 3 : 8;
        double t = BEST(reps, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, w, k, 0, ref, n));
        printf("%4td x%5td x%5td %10.1f", m, n, k, flops / t * 1e-9);
        double worst = 0;
        for (int level = 0; level <= 2; level++) {
            if (!vk_supported((vk_level)level)) continue;
            const vk_gemm_kernels *g = vk_gemm_kernels_for((vk_level)level);
            g->pack_b(w, 1, n, k, packed);
            t = BEST(reps, g->gemm(a, k, packed, m, n, k, 0, n, bias, 0, c, n, scratch));
            for (ptrdiff_t i = 0; i < m * n; i++) worst = fmax(worst, fabs(c[i] - ref[i]));
            printf(" %10.1f", flops / t * 1e-9);
        }
        printf("   %.1e\n", worst);
        free(a); free(w); free(bias); free(c); free(ref); free(packed); free(scratch);
    }
    return 0;
}
