// Thread-CPU-time microbenchmark of the CVitreousCPU kernels at every level this CPU has. Thread CPU time,
// not wall time: it stays meaningful on a loaded machine. Build and run from the repository root:
//   cc -O2 -std=gnu11 -ISources/CVitreousCPU/include Benchmarks/kernels/cpu_kernels_bench.c \
//      Sources/CVitreousCPU/kernels.c -lm -o /tmp/cpu_kernels_bench && /tmp/cpu_kernels_bench
#include "CVitreousCPU.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define BEST(expr) ({ double best = 1e9; for (int rep = 0; rep < 15; rep++) { double t0 = now(); expr; double t = now() - t0; if (t < best) best = t; } best; })
int main(void) {
    const ptrdiff_t rows = 257, hidden = 1536, dim = 384, T = 1370;
    float *x = malloc(rows * hidden * 4), *y = malloc(rows * hidden * 4), *r = malloc(rows * hidden * 4), *s = malloc(rows * hidden * 4);
    float *w = malloc(hidden * 4), *b = malloc(hidden * 4), *line = malloc(32 * T * 4);
    for (ptrdiff_t i = 0; i < rows * hidden; i++) { x[i] = (float)((i * 7919) % 2000) / 500.0f - 2.0f; r[i] = x[i] * 0.5f; }
    for (ptrdiff_t i = 0; i < hidden; i++) { w[i] = 1.0f; b[i] = 0.0f; }
    printf("%-9s %12s %12s %14s %12s %12s\n", "level", "gelu ms", "bias+gelu ms", "LS+res+LN ms", "LN ms", "exp2sum ms");
    printf("%-9s %12s %12s %14s %12s %12s\n", "", "257x1536", "257x1536", "257x384", "257x384", "32x1370");
    for (int level = 0; level <= 2; level++) {
        if (!vk_supported((vk_level)level)) continue;
        const vk_kernels *k = vk_kernels_for((vk_level)level);
        double g = BEST(k->gelu(x, y, rows * hidden));
        double bg = BEST((k->bias_activation_rows(y, hidden, b, rows, hidden, 1)));
        double lsn = BEST(k->layer_scale_norm_rows(x, w, r, s, w, b, rows, dim, 1e-6f, y));
        double ln = BEST(k->layer_norm_rows(x, NULL, NULL, w, b, rows, dim, 1e-6f, y));
        double e = BEST(for (int q = 0; q < 32; q++) { for (ptrdiff_t i = 0; i < T; i++) line[q * T + i] = -(float)(i % 50) * 0.1f; k->exp2_sum(line + q * T, T, 0); });
        printf("%-9s %12.3f %12.3f %14.3f %12.3f %12.3f\n", k->name, g * 1e3, bg * 1e3, lsn * 1e3, ln * 1e3, e * 1e3);
    }
    return 0;
}
