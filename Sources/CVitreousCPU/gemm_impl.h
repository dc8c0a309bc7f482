// One instruction-set level of the single-precision GEMM declared in include/CVitreousCPU.h. gemm.c includes
// this file once per level after kernels_impl.h (whose load/store/splat and GELU it uses), with VK_GEMM_MR
// (rows of a register tile) and VK_GEMM_NV (vectors per tile row; NR = NV·lanes columns) defined; it
// undefines them and the level's macros at its end, ready for the next level.
//
// The structure is BLIS's: B (the layer's weight, constant) is packed once into panels of NR columns, each
// panel [K][NR] contiguous, so the micro-kernel streams it with aligned vector loads; A is packed per block of
// MC rows × KC depth into micro-panels [KC][MR] that sit in L2 while every panel of B passes over them; the
// micro-kernel keeps an MR × NR tile of C in registers (28 zmm on AVX-512) and applies the epilogue (bias,
// GELU) before the tile is stored. Every level sums each element of C in the same order (k ascending inside
// a KC block, the blocks added in order, the same KC at every level), so the levels differ only by fused
// multiply-adds.

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
/// as [kc][MR].
INL void VK_NAME(gemm_pack_a)(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, float *packed) {
    for (ptrdiff_t p = 0; p < rows; p += MR) {
        float *panel = packed + p * kc;
        const ptrdiff_t height = rows - p < MR ? rows - p : MR;
        for (ptrdiff_t i = 0; i < height; i++) {
            const float *line = a + (p + i) * lda;
            for (ptrdiff_t kk = 0; kk < kc; kk++) panel[kk * MR + i] = line[kk];
        }
        for (ptrdiff_t i = height; i < MR; i++)
            for (ptrdiff_t kk = 0; kk < kc; kk++) panel[kk * MR + i] = 0;
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

/// One MR × NR tile: C = A·B over kc (plus C's previous value when `accumulate`), then the epilogue when
/// `finish`, stored for `rows` × `columns` (the tile's valid part at the matrix's edges).
FN void VK_NAME(gemm_tile)(ptrdiff_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                           ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate, int finish,
                           const float *bias, int gelu) {
    VF acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = VK_NAME(splat)(0);
    for (ptrdiff_t kk = 0; kk < kc; kk++) {
        VF bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = VK_NAME(load)(b + kk * NR + v * L);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            const VF av = VK_NAME(gemm_broadcast)(a[kk * MR + i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = acc[i][v] + av * bv[v];
        }
    }
    if (rows == MR && columns == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                VF x = acc[i][v];
                if (accumulate) x = VK_NAME(load)(c + i * ldc + v * L) + x;
                if (finish) {
                    if (bias) x = x + VK_NAME(load)(bias + v * L);
                    if (gelu) x = VK_NAME(gelu_v)(x);
                }
                VK_NAME(store)(c + i * ldc + v * L, x);
            }
        return;
    }
    for (ptrdiff_t i = 0; i < rows; i++)
        for (int v = 0; v < NV; v++) {
            const ptrdiff_t count = columns - v * L;
            if (count <= 0) break;
            float *target = c + i * ldc + v * L;
            VF x = acc[i][v];
            if (count >= L) {
                if (accumulate) x = VK_NAME(load)(target) + x;
                if (finish) {
                    if (bias) x = x + VK_NAME(load)(bias + v * L);
                    if (gelu) x = VK_NAME(gelu_v)(x);
                }
                VK_NAME(store)(target, x);
            } else {
                if (accumulate) x = VK_NAME(load_part)(target, count, 0) + x;
                if (finish) {
                    if (bias) x = x + VK_NAME(load_part)(bias + v * L, count, 0);
                    if (gelu) x = VK_NAME(gelu_v)(x);
                }
                VK_NAME(store_part)(target, x, count);
            }
        }
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

#undef VF
#undef L
#undef INL
#undef FN
#undef MR
#undef NV
#undef NR
#undef MC
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME
#undef VK_GEMM_MR
#undef VK_GEMM_NV
