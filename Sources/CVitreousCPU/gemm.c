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

// Register tiles: a 6 × 16 tile (12 accumulators) fills AVX2's 16 ymm registers with two vectors of B and one
// of A; AVX-512's 32 zmm registers hold 14 × 32 (28 accumulators); the baseline takes 6 × 8.
#define VK_GEMM_MR (VK_LEVEL_INDEX == 2 ? 14 : 6)
#define VK_GEMM_NV 2
#define VK_LEVEL_IMPL "gemm_impl.h"
#include "levels.h"

const vk_gemm_kernels *vk_gemm_kernels_for(vk_level level) { return VK_LEVEL_ADDRESS(level, gemm_kernels); }
