// The CPU backend's own single-precision GEMM, one copy per instruction-set level (gemm_impl.h), chosen at
// run time like the kernels of kernels.c.
//
// Why not OpenBLAS for the layers: Debian's OpenBLAS picks its kernels from OPENBLAS_CORETYPE when that is set
// (CI machines set it to Haswell), which on an AVX-512 CPU halves its speed, and it repacks the constant
// weight matrix on every call and needs a second pass over C for bias and GELU. This GEMM dispatches by
// itself, takes the weight packed once (vk_gemm_kernels.pack_b) and applies bias + GELU to each tile of C
// while the tile is still in registers. `matmul` with a B that changes per call stays with OpenBLAS.
#include "CVitreousCPU.h"

#include <math.h>
#include <string.h>

/// K splits into the fewest blocks of at most VK_GEMM_MAX_DEPTH, of near-equal size, the same at every level.
static ptrdiff_t vk_gemm_depth_blocks(ptrdiff_t k) { return k <= 0 ? 1 : (k + VK_GEMM_MAX_DEPTH - 1) / VK_GEMM_MAX_DEPTH; }

static ptrdiff_t vk_gemm_depth_start(ptrdiff_t k, ptrdiff_t blocks, ptrdiff_t block) { return k * block / blocks; }

#define VK_CAT2(a, b) a##_##b
#define VK_CAT(a, b) VK_CAT2(a, b)

#define VK_LANES 4
#define VK_TARGET
#define VK_NAME(x) VK_CAT(x, baseline)
#define VK_LEVEL_NAME "baseline"
#define VK_GEMM_MR 6
#define VK_GEMM_NV 2
#include "kernels_impl.h"
#include "gemm_impl.h"

#if defined(__x86_64__)
#define VK_HAS_X86 1

// AVX2: 16 ymm registers hold a 6 × 16 tile (12 accumulators), two vectors of B and one of A.
#define VK_LANES 8
#define VK_TARGET __attribute__((target("avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx2)
#define VK_LEVEL_NAME "avx2"
#define VK_GEMM_MR 6
#define VK_GEMM_NV 2
#include "kernels_impl.h"
#include "gemm_impl.h"

// AVX-512: 32 zmm registers hold a 14 × 32 tile (28 accumulators), two vectors of B and A's broadcasts.
#define VK_LANES 16
#define VK_TARGET __attribute__((target("avx512f,avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx512)
#define VK_LEVEL_NAME "avx512"
#define VK_GEMM_MR 14
#define VK_GEMM_NV 2
#include "kernels_impl.h"
#include "gemm_impl.h"
#endif

const vk_gemm_kernels *vk_gemm_kernels_for(vk_level level) {
    if (!vk_supported(level)) return &gemm_kernels_baseline;
    switch (level) {
#ifdef VK_HAS_X86
    case VK_LEVEL_AVX2: return &gemm_kernels_avx2;
    case VK_LEVEL_AVX512: return &gemm_kernels_avx512;
#endif
    default: return &gemm_kernels_baseline;
    }
}
