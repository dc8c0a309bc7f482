// The CPU backend's own single-precision GEMM, one copy per instruction-set level (gemm_impl.h), chosen at
// run time like the kernels of kernels.c.
//
// Why not OpenBLAS for the layers: Debian's OpenBLAS picks its kernels from OPENBLAS_CORETYPE when that is set
// (CI machines set it to Haswell), which on an AVX-512 CPU halves its speed, and it repacks the constant
// weight matrix on every call and needs a second pass over C for bias and GELU. This GEMM dispatches by
// itself, takes the weight packed once (vk_gemm_kernels.pack_b) and applies bias + GELU to each tile of C
// while the tile is still in registers. `matmul` with a B that changes per call stays with OpenBLAS.
//
// The bf16 GEMM (gemm_bf16_impl.h, included by each level's gemm_impl.h) is the same loop nest on a weight packed
// once in bf16: VDPBF16PS where the CPU has AVX512-BF16, an exact emulation of it on every level otherwise.
#include "CVitreousCPU.h"
#include "bf16.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

float vk_bf16_round_float(float x) { return vk_bf16_round(x); }

/// The bf16 GEMM's depth blocks, in pairs: the fewest of at most VK_GEMM_MAX_DEPTH / 2 pairs.
static ptrdiff_t vk_gemm_bf16_depth_blocks(ptrdiff_t pairs) {
    const ptrdiff_t most = VK_GEMM_MAX_DEPTH / 2;
    return pairs <= 0 ? 1 : (pairs + most - 1) / most;
}

/// The bf16 micro-kernels' hooks in the shared loop nest (gemm_bf16_impl.h).
typedef void (*vk_bf16_pack_fn)(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, void *packed);
typedef void (*vk_bf16_tile_fn)(ptrdiff_t pairs, const void *a, const uint32_t *b, float *c, ptrdiff_t ldc,
                                ptrdiff_t rows, ptrdiff_t columns, int accumulate, int finish, const float *bias,
                                int gelu);

/// K splits into the fewest blocks of at most VK_GEMM_MAX_DEPTH, of near-equal size, the same at every level.
static ptrdiff_t vk_gemm_depth_blocks(ptrdiff_t k) { return k <= 0 ? 1 : (k + VK_GEMM_MAX_DEPTH - 1) / VK_GEMM_MAX_DEPTH; }

static ptrdiff_t vk_gemm_depth_start(ptrdiff_t k, ptrdiff_t blocks, ptrdiff_t block) { return k * block / blocks; }

// Register tiles: a 6 × 16 tile (12 accumulators) fills AVX2's 16 ymm registers with two vectors of B and one
// of A; AVX-512's 32 zmm registers hold 14 × 32 (28 accumulators); the baseline takes 6 × 8.
#define VK_GEMM_MR (VK_LEVEL_INDEX == 2 ? 14 : 6)
#define VK_GEMM_NV 2
// The emulated bf16 kernel holds two B vectors per pair and column vector: 12 × 32 on AVX-512 (24 accumulators +
// 4 + 2 broadcasts of 32 registers), 4 rows below it (16 registers).
#define VK_GEMM_BF16_MR (VK_LEVEL_INDEX == 2 ? 12 : 4)
#define VK_LEVEL_IMPL "gemm_impl.h"
#include "levels.h"

const vk_gemm_kernels *vk_gemm_kernels_for(vk_level level) { return VK_LEVEL_ADDRESS(level, gemm_kernels); }

int vk_bf16_native_supported(void) {
#ifdef VK_HAS_X86
    __builtin_cpu_init();
    return vk_supported(VK_LEVEL_AVX512) && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

const vk_gemm_bf16_kernels *vk_gemm_bf16_kernels_for(vk_level level, int native) {
#ifdef VK_HAS_X86
    if (native && level == VK_LEVEL_AVX512 && vk_bf16_native_supported()) return &gemm_bf16_kernels_native;
#endif
    return VK_LEVEL_ADDRESS(level, gemm_bf16_kernels);
}

void vk_gemm_bf16_unpack_b(const uint32_t *packed, ptrdiff_t nr, ptrdiff_t n, ptrdiff_t k, float *b) {
    const ptrdiff_t pairs = (k + 1) / 2;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint32_t *panel = packed + j / nr * nr * pairs;
        for (ptrdiff_t kk = 0; kk < k; kk++) {
            const uint32_t word = panel[kk / 2 * nr + j % nr];
            const uint32_t bits = kk % 2 ? word & 0xFFFF0000u : word << 16;
            memcpy(b + j * k + kk, &bits, sizeof(float));
        }
    }
}
