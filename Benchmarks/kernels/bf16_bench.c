// Thread-CPU-time microbenchmark of the bf16 GEMM (gemm_bf16_impl.h) against the float32 GEMM and against the
// core's peaks, on the ViT-S and ViT-B layer shapes, one thread. The peaks are measured, not taken from a data
// sheet: independent accumulator chains of VFMADD231PS (float32: 32 flops per zmm instruction) and of
// VDPBF16PS (bf16: 64 flops per instruction, two products and two sums per lane); 12 independent chains hide
// their latency, so the loop runs at the issue rate of the FMA pipes. Thread CPU time: meaningful on a loaded machine.
// Build and run from the repository root:
//   cc -O2 -std=gnu11 -ffp-contract=fast -ISources/CVitreousCPU/include Benchmarks/kernels/bf16_bench.c \
//      Sources/CVitreousCPU/gemm.c Sources/CVitreousCPU/kernels.c -lm -o /tmp/bf16_bench && /tmp/bf16_bench
#include "CVitreousCPU.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define BEST(reps, expr) ({ double best = 1e9; for (int rep = 0; rep < (reps); rep++) { double t0 = now(); expr; double t = now() - t0; if (t < best) best = t; } best; })
#define CHAINS 12
#define ITERATIONS 20000000L
#define VK_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define VK_DECLARE(i) __m512 acc##i = _mm512_set1_ps((float)i);
#define VK_SUM(i) sum += _mm512_reduce_add_ps(acc##i);
// Twelve named chains (not an array, which the barrier would force into memory), each kept in its register by
// an empty asm per iteration so that nothing folds across iterations.
#define VK_KEEP __asm__ volatile("" : "+v"(acc0), "+v"(acc1), "+v"(acc2), "+v"(acc3), "+v"(acc4), "+v"(acc5), \
                                      "+v"(acc6), "+v"(acc7), "+v"(acc8), "+v"(acc9), "+v"(acc10), "+v"(acc11))

__attribute__((target("avx512f"), noinline)) static float fma_peak(float seed) {
    const __m512 x = _mm512_set1_ps(seed), y = _mm512_set1_ps(0.999f);
    VK_CHAINS(VK_DECLARE)
#define VK_STEP(i) acc##i = _mm512_fmadd_ps(acc##i, y, x);
    for (long n = 0; n < ITERATIONS; n++) {
        VK_CHAINS(VK_STEP)
        VK_KEEP;
    }
#undef VK_STEP
    float sum = 0;
    VK_CHAINS(VK_SUM)
    return sum;
}

__attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl"), noinline)) static float bf16_peak(float seed) {
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3F80), b = (__m512bh)_mm512_set1_epi32((int)seed);
    VK_CHAINS(VK_DECLARE)
#define VK_STEP(i) acc##i = _mm512_dpbf16_ps(acc##i, a, b);
    for (long n = 0; n < ITERATIONS; n++) {
        VK_CHAINS(VK_STEP)
        VK_KEEP;
    }
#undef VK_STEP
    float sum = 0;
    VK_CHAINS(VK_SUM)
    return sum;
}

int main(void) {
    if (!vk_supported(VK_LEVEL_AVX512)) { printf("no AVX-512: nothing to measure\n"); return 0; }
    const double work = (double)ITERATIONS * CHAINS;
    double t = BEST(3, fma_peak(1e-3f));
    const double fp32_peak = work * 32 / t * 1e-9;
    printf("float32 FMA peak (VFMADD231PS zmm): %.1f GFLOP/s\n", fp32_peak);
    double bf16_peak_rate = 0;
    if (vk_bf16_native_supported()) {
        t = BEST(3, bf16_peak(1e-3f));
        bf16_peak_rate = work * 64 / t * 1e-9;
        printf("bf16 peak (VDPBF16PS zmm):          %.1f GFLOP/s (%.2f x float32)\n", bf16_peak_rate,
               bf16_peak_rate / fp32_peak);
    } else {
        printf("no AVX512-BF16: the bf16 GEMM runs emulated\n");
    }
    const ptrdiff_t shapes[][3] = {{257, 1152, 384}, {257, 1536, 384}, {257, 384, 1536}, {257, 384, 384},
                                   {257, 2304, 768}, {257, 3072, 768}, {257, 768, 3072}, {2056, 1152, 384},
                                   {2056, 384, 1536}};
    const vk_gemm_kernels *f32 = vk_gemm_kernels_for(VK_LEVEL_AVX512);
    const vk_gemm_bf16_kernels *bf16 = vk_gemm_bf16_kernels_for(VK_LEVEL_AVX512, 1);
    printf("%-18s %12s %12s %12s   (one thread; %s)\n", "m x n x k", "fp32 GFLOP/s", "bf16 GFLOP/s", "bf16/fp32",
           bf16->name);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const ptrdiff_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = aligned_alloc(64, m * k * 4), *w = aligned_alloc(64, n * k * 4), *c = aligned_alloc(64, m * n * 4);
        float *packed = aligned_alloc(64, (n + 32) * k * 4), *scratch = aligned_alloc(64, 256 * VK_GEMM_MAX_DEPTH * 4);
        uint32_t *packed16 = aligned_alloc(64, (n + 32) * (k + 1) / 2 * 4);
        void *scratch16 = aligned_alloc(64, (bf16->scratch_bytes + 63) / 64 * 64);
        srand(1);
        for (ptrdiff_t i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
        for (ptrdiff_t i = 0; i < n * k; i++) w[i] = rand() / (float)RAND_MAX - 0.5f;
        f32->pack_b(w, 1, n, k, packed);
        bf16->pack_b(w, n, k, packed16);
        const double flops = 2.0 * m * n * k, reps = m > 1000 ? 3 : 8;
        const double t32 = BEST(reps, f32->gemm(a, k, packed, m, n, k, 0, n, NULL, 0, c, n, scratch));
        const double t16 = BEST(reps, bf16->gemm(a, k, packed16, m, n, k, 0, n, NULL, 0, c, n, scratch16));
        printf("%4td x%5td x%5td %12.1f %12.1f %12.2f", m, n, k, flops / t32 * 1e-9, flops / t16 * 1e-9, t32 / t16);
        if (bf16_peak_rate > 0) printf("   bf16 at %.0f %% of its peak, fp32 at %.0f %%", 100 * flops / t16 * 1e-9 / bf16_peak_rate,
                                       100 * flops / t32 * 1e-9 / fp32_peak);
        printf("\n");
        free(a); free(w); free(c); free(packed); free(scratch); free(packed16); free(scratch16);
    }
    return 0;
}
