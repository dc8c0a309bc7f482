// One instruction-set level of the bf16 GEMM declared in include/CVitreousCPU.h (vk_gemm_bf16_kernels), included
// at the end of gemm_impl.h so that it shares that level's loads, stores and epilogue (gemm_finish), with
// VK_GEMM_BF16_MR (register rows of the emulated micro-kernel) defined by gemm.c.
//
// The weight is packed once, rounded to bf16: panels of NR columns, each [⌈k/2⌉][NR] 32-bit words holding the
// pair (depth 2q in the low half, 2q + 1 in the high half, zero past k) — the operand layout of VDPBF16PS, which
// multiplies the two bf16 halves of each 32-bit lane and adds both products to that lane's float. A is rounded to
// bf16 (to nearest, ties to even) while it is packed. Every sum is float32.
//
// Two micro-kernels read the same packed weight:
//   native    VDPBF16PS (AVX512-BF16), A packed as pairs [⌈kc/2⌉][MR]; 14 × 32 tile as the float32 GEMM's.
//   emulated  each pair split into its two floats (a bf16 is the high half of a float: a shift or a mask) and two
//             fused multiply-adds, odd depth first as VDPBF16PS adds them, A packed as rounded floats [kc][MR].
// A product of two bf16 values is exact in float32, so each fused multiply-add rounds as VDPBF16PS's addition
// does; the two differ only where VDPBF16PS flushes denormals.

#define BMR VK_GEMM_BF16_MR
#define BMC (BMR * ((144 + BMR - 1) / BMR))

/// Zero-padded, bf16-rounded micro-panels of A for the emulated kernel: [kc rounded up to even][BMR] floats.
INL void VK_NAME(bf16_pack_a)(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, float *packed) {
    const ptrdiff_t depth = kc + (kc & 1);
    for (ptrdiff_t p = 0; p < rows; p += BMR) {
        float *panel = packed + p * depth;
        const float *first = a + p * lda;
        const ptrdiff_t height = rows - p < BMR ? rows - p : BMR;
        for (ptrdiff_t kk = 0; kk < depth; kk++)
            for (ptrdiff_t i = 0; i < BMR; i++)
                panel[kk * BMR + i] = i < height && kk < kc ? vk_bf16_round(first[i * lda + kk]) : 0;
    }
}

FN void VK_NAME(bf16_pack_b)(const float *b, ptrdiff_t n, ptrdiff_t k, uint32_t *packed) {
    const ptrdiff_t pairs = (k + 1) / 2;
    for (ptrdiff_t p = 0; p < n; p += NR) {
        uint32_t *panel = packed + p * pairs;
        const ptrdiff_t width = n - p < NR ? n - p : NR;
        for (ptrdiff_t j = 0; j < width; j++) {
            const float *row = b + (p + j) * k;
            for (ptrdiff_t q = 0; q < pairs; q++) {
                const uint32_t high = 2 * q + 1 < k ? vk_bf16_bits(row[2 * q + 1]) : 0;
                panel[q * NR + j] = vk_bf16_bits(row[2 * q]) | high << 16;
            }
        }
        for (ptrdiff_t q = 0; q < pairs; q++)
            for (ptrdiff_t j = width; j < NR; j++) panel[q * NR + j] = 0;
    }
}

/// Stores the H × NR accumulator tile `acc` (VF [BMR or more][NV]) through gemm_finish: straight from registers
/// for a whole tile, through memory at the matrix's edges. A macro, so that both micro-kernels keep `acc` in
/// registers (only constant indices touch it).
#define VK_BF16_STORE_TILE(H, acc)                                                                             \
    do {                                                                                                       \
        if (rows == (H) && columns == NR) {                                                                    \
            _Pragma("GCC unroll 16") for (int i = 0; i < (H); i++) _Pragma("GCC unroll 4") for (int v = 0;     \
                                                                                          v < NV; v++)         \
                VK_NAME(store)(c + i * ldc + v * L,                                                            \
                               VK_NAME(gemm_finish)(acc[i][v], c + i * ldc + v * L, L, accumulate, finish,     \
                                                    bias ? bias + v * L : NULL, gelu));                        \
            break;                                                                                             \
        }                                                                                                      \
        float tile[16 * NR] __attribute__((aligned(64)));                                                      \
        _Pragma("GCC unroll 16") for (int i = 0; i < (H); i++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; \
                                                                                           v++)                \
            VK_NAME(store)(tile + i * NR + v * L, acc[i][v]);                                                  \
        for (ptrdiff_t i = 0; i < rows; i++)                                                                   \
            for (int v = 0; v < NV && columns - v * L > 0; v++) {                                              \
                float *target = c + i * ldc + v * L;                                                           \
                const ptrdiff_t count = columns - v * L;                                                       \
                const VF x = VK_NAME(gemm_finish)(VK_NAME(load)(tile + i * NR + v * L), target, count,         \
                                                  accumulate, finish, bias ? bias + v * L : NULL, gelu);       \
                if (count >= L) VK_NAME(store)(target, x);                                                     \
                else VK_NAME(store_part)(target, x, count);                                                    \
            }                                                                                                  \
    } while (0)

/// The emulated micro-kernel on H (≤ BMR, constant where inlined) rows: `a` from bf16_pack_a, `b` a panel's
/// pairs from depth pair 0 of this block, `pairs` of them.
INL void VK_NAME(bf16_tile_rows)(const int H, ptrdiff_t pairs, const float *restrict a, const uint32_t *restrict b,
                                 float *restrict c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate,
                                 int finish, const float *bias, int gelu) {
    VF acc[BMR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < H; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = (VF){0};
    for (ptrdiff_t q = 0; q < pairs; q++) {
        VF even[NV], odd[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            VK_NAME(vu) bits;
            memcpy(&bits, b + q * NR + v * L, sizeof bits);
            even[v] = (VF)(bits << 16);
            odd[v] = (VF)(bits & 0xFFFF0000u);
        }
#pragma GCC unroll 16
        for (int i = 0; i < H; i++) {
            const VF ao = VK_NAME(gemm_broadcast)(a[(2 * q + 1) * BMR + i]);
            const VF ae = VK_NAME(gemm_broadcast)(a[2 * q * BMR + i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = (acc[i][v] + ao * odd[v]) + ae * even[v];
        }
    }
    VK_BF16_STORE_TILE(H, acc);
}

FN void VK_NAME(bf16_tile)(ptrdiff_t pairs, const void *a, const uint32_t *restrict b, float *restrict c,
                           ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate, int finish,
                           const float *bias, int gelu) {
    const float *pa = a;
#if BMR > 8
    if (rows > 8) VK_NAME(bf16_tile_rows)(BMR, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else if (rows > 4) VK_NAME(bf16_tile_rows)(8, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else
#endif
    if (rows > 2) VK_NAME(bf16_tile_rows)(4, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else VK_NAME(bf16_tile_rows)(2, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
}

#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
// VDPBF16PS. Its functions carry AVX512-BF16 on top of the level's target; they run only after
// vk_bf16_native_supported said the CPU has it. They inline this level's AVX-512F helpers (a subset).
#define NATIVE_MR 14
#define NATIVE_MC (NATIVE_MR * ((144 + NATIVE_MR - 1) / NATIVE_MR))
#define NATIVE_TARGET __attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl,avx2,fma")))

/// Zero-padded micro-panels of A as bf16 pairs: [⌈kc/2⌉][NATIVE_MR] words. Each row is rounded with vector code
/// into `rows16` (a row of bf16 values read as 32-bit words is exactly its pairs), then the panel is a transpose
/// of those words: rounding in the transposing loop itself ran 2 loads and the rounding per word and left the
/// n = 384 layers at 79 % of the bf16 peak.
static inline NATIVE_TARGET __attribute__((always_inline)) void
bf16_native_pack_a(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, uint32_t *packed) {
    const ptrdiff_t pairs = (kc + 1) / 2;
    uint32_t rows16[NATIVE_MR * (VK_GEMM_MAX_DEPTH / 2 + 1)] __attribute__((aligned(64)));
    for (ptrdiff_t p = 0; p < rows; p += NATIVE_MR) {
        uint32_t *panel = packed + p * pairs;
        const ptrdiff_t height = rows - p < NATIVE_MR ? rows - p : NATIVE_MR;
        for (ptrdiff_t i = 0; i < NATIVE_MR; i++) {
            uint16_t *line = (uint16_t *)(rows16 + i * pairs);
            const float *source = a + (p + i) * lda;
            ptrdiff_t kk = 0;
            if (i < height) {
                for (; kk + 16 <= kc; kk += 16) {
                    VK_NAME(vu) bits;
                    memcpy(&bits, source + kk, sizeof bits);
                    // NaN stays NaN (quiet), as vk_bf16_bits does; the rest rounds to nearest, ties to even.
                    const VK_NAME(vu) nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
                    bits = ((bits + 0x7FFFu + ((bits >> 16) & 1u)) & ~nan) | ((bits | 0x400000u) & nan);
                    const __m256i half = _mm512_cvtepi32_epi16((__m512i)(bits >> 16));
                    memcpy(line + kk, &half, sizeof half);
                }
                for (; kk < kc; kk++) line[kk] = (uint16_t)vk_bf16_bits(source[kk]);
            }
            for (; kk < 2 * pairs; kk++) line[kk] = 0;  // rows past the edge, and the odd depth's partner
        }
        for (ptrdiff_t q = 0; q < pairs; q++)
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
            for (ptrdiff_t i = 0; i < NATIVE_MR; i++) panel[q * NATIVE_MR + i] = rows16[i * pairs + q];
    }
}

static inline NATIVE_TARGET __attribute__((always_inline)) void
bf16_native_tile_rows(const int H, ptrdiff_t pairs, const uint32_t *restrict a, const uint32_t *restrict b,
                      float *restrict c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns, int accumulate, int finish,
                      const float *bias, int gelu) {
    VF acc[NATIVE_MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < H; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = (VF){0};
    for (ptrdiff_t q = 0; q < pairs; q++) {
        __m512i bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_si512((const void *)(b + q * NR + v * L));
#pragma GCC unroll 16
        for (int i = 0; i < H; i++) {
            const __m512i av = _mm512_set1_epi32((int)a[q * NATIVE_MR + i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[i][v] = (VF)_mm512_dpbf16_ps((__m512)acc[i][v], (__m512bh)av, (__m512bh)bv[v]);
        }
    }
    VK_BF16_STORE_TILE(H, acc);
}

static NATIVE_TARGET void bf16_native_tile(ptrdiff_t pairs, const void *a, const uint32_t *restrict b,
                                           float *restrict c, ptrdiff_t ldc, ptrdiff_t rows, ptrdiff_t columns,
                                           int accumulate, int finish, const float *bias, int gelu) {
    const uint32_t *pa = a;
    if (rows > 8) bf16_native_tile_rows(NATIVE_MR, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else if (rows > 4) bf16_native_tile_rows(8, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else if (rows > 2) bf16_native_tile_rows(4, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
    else bf16_native_tile_rows(2, pairs, pa, b, c, ldc, rows, columns, accumulate, finish, bias, gelu);
}

static NATIVE_TARGET void bf16_native_pack_a_block(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc,
                                                   void *packed) {
    bf16_native_pack_a(a, lda, rows, kc, packed);
}
#endif

/// Packs one row block of A for the emulated kernel (the driver's packing hook).
FN void VK_NAME(bf16_pack_a_block)(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t kc, void *packed) {
    VK_NAME(bf16_pack_a)(a, lda, rows, kc, packed);
}

/// The shared loop nest: row blocks of `mc`, depth blocks of whole pairs, column panels, register tiles of `mr`
/// rows; `pack` and `tile` are one micro-kernel's (words of packed A per depth pair and row: `a_words`).
INL void VK_NAME(bf16_drive)(const float *a, ptrdiff_t lda, const uint32_t *packed_b, ptrdiff_t m, ptrdiff_t n,
                             ptrdiff_t k, ptrdiff_t first_column, ptrdiff_t last_column, const float *bias, int gelu,
                             float *c, ptrdiff_t ldc, void *scratch, ptrdiff_t mr, ptrdiff_t mc, ptrdiff_t a_words,
                             vk_bf16_pack_fn pack, vk_bf16_tile_fn tile) {
    if (last_column > n) last_column = n;
    const ptrdiff_t pairs = (k + 1) / 2, blocks = vk_gemm_bf16_depth_blocks(pairs);
    for (ptrdiff_t row = 0; row < m; row += mc) {
        const ptrdiff_t height = m - row < mc ? m - row : mc;
        for (ptrdiff_t block = 0; block < blocks; block++) {
            const ptrdiff_t q0 = pairs * block / blocks, q1 = pairs * (block + 1) / blocks;
            const ptrdiff_t k0 = 2 * q0, kc = (2 * q1 < k ? 2 * q1 : k) - k0;
            pack(a + row * lda + k0, lda, height, kc, scratch);
            for (ptrdiff_t column = first_column; column < last_column; column += NR) {
                const uint32_t *panel = packed_b + column * pairs + q0 * NR;
                const ptrdiff_t width = last_column - column < NR ? last_column - column : NR;
                const float *bias_part = bias ? bias + column : NULL;
                for (ptrdiff_t i = 0; i < height; i += mr)
                    tile(q1 - q0, (const uint32_t *)scratch + i * (q1 - q0) * a_words, panel,
                         c + (row + i) * ldc + column, ldc, height - i < mr ? height - i : mr, width, block > 0,
                         block == blocks - 1, bias_part, gelu);
            }
        }
    }
}

FN void VK_NAME(bf16_gemm)(const float *a, ptrdiff_t lda, const uint32_t *packed_b, ptrdiff_t m, ptrdiff_t n,
                           ptrdiff_t k, ptrdiff_t first_column, ptrdiff_t last_column, const float *bias, int gelu,
                           float *c, ptrdiff_t ldc, void *scratch) {
    // Emulated packed A holds 2 floats per pair and row.
    VK_NAME(bf16_drive)(a, lda, packed_b, m, n, k, first_column, last_column, bias, gelu, c, ldc, scratch, BMR, BMC, 2,
                        VK_NAME(bf16_pack_a_block), VK_NAME(bf16_tile));
}

static const vk_gemm_bf16_kernels VK_NAME(gemm_bf16_kernels) = {
    .name = VK_LEVEL_NAME,
    .native = 0,
    .mr = BMR,
    .nr = NR,
    .scratch_bytes = BMC * (VK_GEMM_MAX_DEPTH + 2) * 4,
    .pack_b = VK_NAME(bf16_pack_b),
    .gemm = VK_NAME(bf16_gemm),
};

#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
static NATIVE_TARGET void bf16_native_gemm(const float *a, ptrdiff_t lda, const uint32_t *packed_b, ptrdiff_t m,
                                           ptrdiff_t n, ptrdiff_t k, ptrdiff_t first_column, ptrdiff_t last_column,
                                           const float *bias, int gelu, float *c, ptrdiff_t ldc, void *scratch) {
    VK_NAME(bf16_drive)(a, lda, packed_b, m, n, k, first_column, last_column, bias, gelu, c, ldc, scratch, NATIVE_MR,
                        NATIVE_MC, 1, bf16_native_pack_a_block, bf16_native_tile);
}

static const vk_gemm_bf16_kernels gemm_bf16_kernels_native = {
    .name = "avx512bf16",
    .native = 1,
    .mr = NATIVE_MR,
    .nr = NR,
    .scratch_bytes = NATIVE_MC * (VK_GEMM_MAX_DEPTH + 2) * 2,
    .pack_b = VK_NAME(bf16_pack_b),
    .gemm = bf16_native_gemm,
};
#undef NATIVE_MR
#undef NATIVE_MC
#undef NATIVE_TARGET
#endif

#undef BMR
#undef BMC
#undef VK_BF16_STORE_TILE
