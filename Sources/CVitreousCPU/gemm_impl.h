// One instruction-set level of the single-precision GEMM declared in include/CVitreousCPU.h, instantiated per
// level by gemm.c through levels.h, with VK_GEMM_MR (rows of a register tile) and VK_GEMM_NV (vectors per
// tile row; NR = NV·lanes columns) defined. It includes kernels_impl.h for the level's load/store/splat and
// GELU.
//
// The structure is BLIS's: B (the layer's weight, constant) is packed once into panels of NR columns, each
// panel [K][NR] contiguous, so the micro-kernel streams it with aligned vector loads; A is packed per block of
// MC rows × KC depth into micro-panels [KC][MR] that sit in L2 while every panel of B passes over them; the
// micro-kernel keeps an MR × NR tile of C in registers (28 zmm on AVX-512) and applies the epilogue (bias,
// GELU) before the tile is stored. Every level sums each element of C in the same order (k ascending inside
// a KC block, the blocks added in order, the same KC at every level), so the levels differ only by fused
// multiply-adds.

#include "kernels_impl.h"

// kernels_impl.h's names for this level (it undefines them at its end; its typedefs remain).
#define VF VK_NAME(vf)
#define L VK_LANES
#define INL static inline VK_TARGET __attribute__((always_inline))
#define FN static VK_TARGET
#define MR VK_GEMM_MR
#define NV VK_GEMM_NV
#define NR (VK_GEMM_NV * VK_LANES)
/// Rows of A packed per block: a multiple of MR near 144 (MC·KC floats stay well inside a 1 MiB L2).
#define MC (MR * ((144 + MR - 1) / MR))

/// x in every lane. kernels_impl.h's splat adds +0, which the compiler must keep (it turns −0 into +0);
/// subtracting +0 changes no value, so this is one broadcast (folded into the FMA on AVX-512).
INL VF VK_NAME(gemm_broadcast)(float x) { return x - (VF){0}; }

/// Zero-padded micro-panels of rows [0, rows) × depth [0, kc) of A: panel p holds rows p·MR … p·MR + MR − 1
/// as [kc][MR]. Depth outermost, so that the stores are contiguous: written the other way round, Clang turns the
/// strided stores into AVX-512 scatters, which cost 8 % of the GEMM's time.
INL void VK_NAME(gemm_pack_a)(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, float *packed) {
    for (ptrdiff_t p = 0; p < rows; p += MR) {
        float *panel = packed + p * kc;
        const float *first = a + p * lda;
        if (rows - p >= MR) {
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
            for (ptrdiff_t kk = 0; kk < kc; kk++)
#pragma GCC unroll 16
                for (int i = 0; i < MR; i++) panel[kk * MR + i] = first[i * lda + kk];
            continue;
        }
        const ptrdiff_t height = rows - p;
        for (ptrdiff_t kk = 0; kk < kc; kk++)
            for (ptrdiff_t i = 0; i < MR; i++) panel[kk * MR + i] = i < height ? first[i * lda + kk] : 0;
    }
}

FN void VK_NAME(gemm_pack_b)(const float *b, int b_is_n_by_k, ptrdiff_t n, ptrdiff_t k, float *packed) {
    for (ptrdiff_t p = 0; p < n; p += NR) {
        float *panel = packed + p * k;
        const ptrdiff_t width = n - p < NR ? n - p : NR;
        if (b_is_n_by_k) {
            for (ptrdiff_t j = 0; j < width; j++)
                for (ptrdiff_t kk = 0; kk < k; kk++) panel[kk * NR + j] = b[(p + j) * k + kk];
        } else {
            for (ptrdiff_t kk = 0; kk < k; kk++)
                for (ptrdiff_t j = 0; j < width; j++) panel[kk * NR + j] = b[kk * n + p + j];
        }
        for (ptrdiff_t kk = 0; kk < k; kk++)
            for (ptrdiff_t j = width; j < NR; j++) panel[kk * NR + j] = 0;
    }
}

/// The epilogue of one vector of C: previous value when `accumulate`, then bias and GELU when `finish`.
INL VF VK_NAME(gemm_finish)(VF x, const float *target, ptrdiff_t count, int accumulate, int finish,
                            const float *bias, int gelu) {
    if (count >= L) {
        if (accumulate) x = VK_NAME(load)(target) + x;
        if (finish && bias) x = x + VK_NAME(load)(bias);
    } else {
        if (accumulate) x = VK_NAME(load_part)(target, count, 0) + x;
        if (finish && bias) x = x + VK_NAME(load_part)(bias, count, 0);
    }
    if (finish && gelu) x = VK_NAME(gelu_v)(x);
    return x;
}

/// One H × NR tile (H ≤ MR, a constant at every call, so the accumulators stay in registers): C = A·B over
/// kc (plus C's previous value when `accumulate`), then the epilogue when `finish`, stored for `rows` ×
/// `columns` (the tile's valid part at the matrix's edges). `a` is a packed panel (row stride MR).
INL void VK_NAME(gemm_tile_rows)(const int H, ptrdiff_t kc, const float *restrict a, const float *restrict b,
                                 float *restrict c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns,
                                 int accumulate, int finish, const float *bias, int gelu) {
    VF acc[MR][NV];
    {
        // The first depth step sets the accumulators: 0 + a·b is a·b exactly, and no zeroed array is
        // stored and reloaded (Clang did that with a memset, 4 % of a pass, when acc was indexed at run time).
        VF bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = VK_NAME(load)(b + v * L);
#pragma GCC unroll 16
        for (int i = 0; i < H; i++) {
            const VF av = VK_NAME(gemm_broadcast)(a[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = av * bv[v];
        }
    }
    for (ptrdiff_t kk = 1; kk < kc; kk++) {
        VF bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = VK_NAME(load)(b + kk * NR + v * L);
#pragma GCC unroll 16
        for (int i = 0; i < H; i++) {
            const VF av = VK_NAME(gemm_broadcast)(a[kk * MR + i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = acc[i][v] + av * bv[v];
        }
    }
    if (rows == H && columns == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < H; i++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                VK_NAME(store)(c + i * ldc + v * L,
                               VK_NAME(gemm_finish)(acc[i][v], c + i * ldc + v * L, L, accumulate, finish,
                                                    bias ? bias + v * L : NULL, gelu));
        return;
    }
    // The edge: the accumulators go through memory, so that only constant indices ever touch `acc`.
    float tile[MR * NR] __attribute__((aligned(64)));
#pragma GCC unroll 16
    for (int i = 0; i < H; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) VK_NAME(store)(tile + i * NR + v * L, acc[i][v]);
    for (ptrdiff_t i = 0; i < rows; i++)
        for (int v = 0; v < NV && columns - v * L > 0; v++) {
            float *target = c + i * ldc + v * L;
            const ptrdiff_t count = columns - v * L;
            const VF x = VK_NAME(gemm_finish)(VK_NAME(load)(tile + i * NR + v * L), target, count, accumulate,
                                              finish, bias ? bias + v * L : NULL, gelu);
            if (count >= L) VK_NAME(store)(target, x);
            else VK_NAME(store_part)(target, x, count);
        }
}

/// One tile of `rows` ≤ MR rows, with the fewest register rows that cover them: a 5-row edge costs 8 rows'
/// work rather than 14 on AVX-512, which evens out the row chunks of a 257-token GEMM.
FN void VK_NAME(gemm_tile)(ptrdiff_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                           ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate, int finish,
                           const float *bias, int gelu) {
#if MR > 8
    if (rows > 8) VK_NAME(gemm_tile_rows)(MR, kc, a, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else if (rows > 4) VK_NAME(gemm_tile_rows)(8, kc, a, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
#else
    if (rows > 4) VK_NAME(gemm_tile_rows)(MR, kc, a, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
#endif
    else if (rows > 2) VK_NAME(gemm_tile_rows)(4, kc, a, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else VK_NAME(gemm_tile_rows)(2, kc, a, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
}

FN void VK_NAME(gemm)(const float *a, ptrdiff_t lda, const float *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                      ptrdiff_t first_column, ptrdiff_t last_column, const float *bias, int gelu, float *c,
                      ptrdiff_t ldc, float *scratch) {
    if (last_column > n) last_column = n;
    const ptrdiff_t blocks = vk_gemm_depth_blocks(k);
    for (ptrdiff_t row = 0; row < m; row += MC) {
        const ptrdiff_t height = m - row < MC ? m - row : MC;
        for (ptrdiff_t block = 0; block < blocks; block++) {
            const ptrdiff_t k0 = vk_gemm_depth_start(k, blocks, block);
            const ptrdiff_t kc = vk_gemm_depth_start(k, blocks, block + 1) - k0;
            VK_NAME(gemm_pack_a)(a + row * lda + k0, lda, height, kc, scratch);
            for (ptrdiff_t column = first_column; column < last_column; column += NR) {
                const float *panel = packed_b + column * k + k0 * NR;
                const ptrdiff_t width = last_column - column < NR ? last_column - column : NR;
                const float *bias_part = bias ? bias + column : NULL;
                for (ptrdiff_t i = 0; i < height; i += MR)
                    VK_NAME(gemm_tile)(kc, scratch + i * kc, panel, c + (row + i) * ldc + column, ldc,
                                       height - i < MR ? height - i : MR, width, block > 0, block == blocks - 1,
                                       bias_part, gelu);
            }
        }
    }
}

static const vk_gemm_kernels VK_NAME(gemm_kernels) = {
    .name = VK_LEVEL_NAME,
    .mr = MR,
    .nr = NR,
    .scratch_floats = MC * VK_GEMM_MAX_DEPTH,
    .pack_b = VK_NAME(gemm_pack_b),
    .gemm = VK_NAME(gemm),
};

#include "gemm_bf16_impl.h"

#undef VF
#undef L
#undef INL
#undef FN
#undef MR
#undef NV
#undef NR
#undef MC
