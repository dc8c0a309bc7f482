// The fused attention's VDPBF16PS products (AVX512-BF16) for bf16 problems (vk_attention_problem.bf16 == 2),
// included by the AVX-512 instance of attention_impl.h. The loop nest is attention_impl.h's; these functions
// replace its packing and its two tile products, on bf16 pairs:
//   Kᵀ per key block as [⌈head_dim/2⌉][64] words, each the pair (k[j][2d], k[j][2d + 1]);
//   V as [padded keys / 2][dim] words, each the pair (v[2j][c], v[2j + 1][c]);
//   Q per row as ⌈head_dim/2⌉ pairs, unscaled (the scale multiplies the float32 scores);
//   the softmax numerators of a row as 32 pairs (they are already rounded to bf16 by softmax_rows).
// Each runs only after vk_bf16_native_supported() said the CPU has the instruction; none is inlined into code
// compiled without it (each call does a whole tile).

#define BF16_TARGET __attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl,avx2,fma")))
#define BF16_FN static BF16_TARGET __attribute__((noinline))

/// The pair (x[0], x[1]) rounded to bf16, x[1] as 0 when `second` is 0.
static inline uint32_t bf16n_pair(const float *x, int second) {
    return vk_bf16_bits(x[0]) | (second ? vk_bf16_bits(x[1]) << 16 : 0);
}

BF16_FN void bf16n_pack_head(const vk_attention_problem *p, const vk_attention_layout *layout, ptrdiff_t b,
                             ptrdiff_t h, uint32_t *kt, uint32_t *vp, float *bias) {
    const ptrdiff_t tokens = p->tokens, head_dim = p->head_dim, dim = layout->dim, pairs = (head_dim + 1) / 2;
    const ptrdiff_t padded = layout->key_blocks * KB;
    const float *k = p->k + b * tokens * p->k_ld + h * head_dim, *v = p->v + b * tokens * p->v_ld + h * head_dim;
    for (ptrdiff_t kb = 0; kb < layout->key_blocks; kb++) {
        const ptrdiff_t first = kb * KB, span = tokens - first < KB ? tokens - first : KB;
        uint32_t *tile = kt + kb * pairs * KB;
        for (ptrdiff_t d = 0; d < pairs; d++) {
            for (ptrdiff_t j = 0; j < span; j++) {
                const float *row = k + (first + j) * p->k_ld + 2 * d;
                tile[d * KB + j] = bf16n_pair(row, 2 * d + 1 < head_dim);
            }
            for (ptrdiff_t j = span; j < KB; j++) tile[d * KB + j] = 0;
        }
    }
    for (ptrdiff_t j = 0; j < padded; j += 2) {
        uint32_t *row = vp + j / 2 * dim;
        for (ptrdiff_t c = 0; c < dim; c++) {
            const uint32_t low = j < tokens && c < head_dim ? vk_bf16_bits(v[j * p->v_ld + c]) : 0;
            const uint32_t high = j + 1 < tokens && c < head_dim ? vk_bf16_bits(v[(j + 1) * p->v_ld + c]) : 0;
            row[c] = low | high << 16;
        }
    }
    for (ptrdiff_t j = 0; j < padded; j++)
        bias[j] = j >= tokens ? -INFINITY : p->key_mask && p->key_mask[b * tokens + j] == 0 ? -INFINITY : 0;
}

/// Rows [0, used) of a query block as bf16 pairs, zero past `count`.
BF16_FN void bf16n_pack_queries(const float *q, ptrdiff_t q_ld, ptrdiff_t head_dim, ptrdiff_t count, ptrdiff_t used,
                                uint32_t *rows) {
    const ptrdiff_t pairs = (head_dim + 1) / 2;
    for (ptrdiff_t i = 0; i < used; i++)
        for (ptrdiff_t d = 0; d < pairs; d++)
            rows[i * pairs + d] = i < count ? bf16n_pair(q + i * q_ld + 2 * d, 2 * d + 1 < head_dim) : 0;
}

static inline BF16_TARGET __attribute__((always_inline)) void
bf16n_score_chunk(const uint32_t *q, ptrdiff_t pairs, const uint32_t *kt, float *scores, float scale, const int vectors) {
    VF acc[R][NV];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++) acc[r][x] = (VF){0};
    for (ptrdiff_t d = 0; d < pairs; d++) {
        __m512i k[NV];
        UNROLL for (int x = 0; x < vectors; x++) k[x] = _mm512_loadu_si512((const void *)(kt + d * KB + x * L));
        UNROLL for (int r = 0; r < R; r++) {
            const __m512i qr = _mm512_set1_epi32((int)q[r * pairs + d]);
            UNROLL for (int x = 0; x < vectors; x++)
                acc[r][x] = (VF)_mm512_dpbf16_ps((__m512)acc[r][x], (__m512bh)qr, (__m512bh)k[x]);
        }
    }
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++)
        VK_NAME(store)(scores + r * KB + x * L, acc[r][x] * scale);
}

/// score_tile on bf16 pairs: the R rows' base-2 scores against the first `vectors` vectors of a key block.
BF16_FN void bf16n_score_tile(const uint32_t *q, ptrdiff_t pairs, const uint32_t *kt, float *scores, float scale,
                              ptrdiff_t vectors) {
    switch (vectors) {
    case 1: bf16n_score_chunk(q, pairs, kt, scores, scale, 1); break;
    case 2: bf16n_score_chunk(q, pairs, kt, scores, scale, 2); break;
    case 3: bf16n_score_chunk(q, pairs, kt, scores, scale, 3); break;
    default: bf16n_score_chunk(q, pairs, kt, scores, scale, NV); break;
    }
}

/// The R rows of bf16-rounded numerators (KB floats each) as pairs: a row of bf16 values read as words.
BF16_FN void bf16n_pair_rows(const float *scores, uint32_t *pairs) {
    for (int r = 0; r < R; r++) {
        uint16_t *line = (uint16_t *)(pairs + r * (KB / 2));
        for (int j = 0; j < KB; j += L) {
            VK_NAME(vu) bits;
            memcpy(&bits, scores + r * KB + j, sizeof bits);
            const __m256i half = _mm512_cvtepi32_epi16((__m512i)(bits >> 16));
            memcpy(line + j, &half, sizeof half);
        }
    }
}

static inline BF16_TARGET __attribute__((always_inline)) void
bf16n_value_chunk(const uint32_t *p, const uint32_t *v, ptrdiff_t ldv, ptrdiff_t pairs, float *acc_rows,
                  ptrdiff_t ldacc, const float *corrections, const int vectors) {
    VF acc[R][NV];
    UNROLL for (int r = 0; r < R; r++) {
        const VF c = VK_NAME(broadcast)(corrections[r]);
        UNROLL for (int x = 0; x < vectors; x++) acc[r][x] = VK_NAME(load)(acc_rows + r * ldacc + x * L) * c;
    }
    for (ptrdiff_t j = 0; j < pairs; j++) {
        __m512i values[NV];
        UNROLL for (int x = 0; x < vectors; x++) values[x] = _mm512_loadu_si512((const void *)(v + j * ldv + x * L));
        UNROLL for (int r = 0; r < R; r++) {
            const __m512i pr = _mm512_set1_epi32((int)p[r * (KB / 2) + j]);
            UNROLL for (int x = 0; x < vectors; x++)
                acc[r][x] = (VF)_mm512_dpbf16_ps((__m512)acc[r][x], (__m512bh)pr, (__m512bh)values[x]);
        }
    }
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++)
        VK_NAME(store)(acc_rows + r * ldacc + x * L, acc[r][x]);
}

/// value_tile on bf16 pairs over all `dim` head dimensions: `p` from bf16n_pair_rows, `v` a key block's pairs.
BF16_FN void bf16n_value_rows(const uint32_t *p, const uint32_t *v, ptrdiff_t dim, ptrdiff_t pairs, float *acc_rows,
                              const float *corrections) {
    for (ptrdiff_t c = 0; c < dim; c += NV * L) {
        switch ((dim - c) / L < NV ? (dim - c) / L : NV) {
        case 1: bf16n_value_chunk(p, v + c, dim, pairs, acc_rows + c, dim, corrections, 1); break;
        case 2: bf16n_value_chunk(p, v + c, dim, pairs, acc_rows + c, dim, corrections, 2); break;
        case 3: bf16n_value_chunk(p, v + c, dim, pairs, acc_rows + c, dim, corrections, 3); break;
        default: bf16n_value_chunk(p, v + c, dim, pairs, acc_rows + c, dim, corrections, NV); break;
        }
    }
}

#undef BF16_TARGET
#undef BF16_FN
