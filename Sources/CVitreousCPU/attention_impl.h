// One instruction-set level of the fused attention (vk_attention_fn in include/CVitreousCPU.h), instantiated
// per level by attention.c through levels.h, with VK_ROWS (query rows per register tile) and VK_VECTORS
// (vectors per tile row) defined.
//
// Per work item (batch item, head, block of query rows), flash style: for each block of 64 keys, and for each
// group of VK_ROWS query rows, the scores S = Q·Kᵀ come out of a register tile of VK_ROWS × 4 vectors, the
// online softmax turns them into 2^(s − running max) in L1, and P·V adds them into the rows' accumulators
// (rescaled by 2^(old max − new max) on the way). The head's K (transposed into 64-key tiles, so that a
// tile row is 64 consecutive keys: the score tile broadcasts one query float against 4 vectors of keys) and
// V (rows padded to whole vectors) are packed once per head per call into scratch, where they stay in L2
// for every query block of that head the call runs. Keys past the end are zero and carry a −∞ bias, so the
// tile loops have no tails; the key mask is the same bias.
//
// Scores are in base 2: Q is scaled by scale·log2 e when packed, so the softmax needs 2^x only (exp2_v).

#include "simd_impl.h"

#define KB VK_ATTENTION_KEYS
#define R VK_ROWS
/// Vectors per register-tile row, in both products.
#define NV VK_VECTORS
/// Vectors per key block.
#define VB (KB / L)
#define UNROLL _Pragma("GCC unroll 16")

/// Each lane rounded to the nearest bf16 (ties to even), for the finite, non-negative softmax numerators.
INL VF VK_NAME(bf16_round_v)(VF x) {
    VU bits = (VU)x;
    bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    return (VF)bits;
}

/// x in every lane (x − 0 is x for every float, −0 and NaN included, so this is one broadcast).
INL VF VK_NAME(broadcast)(float x) { return x - (VF){0}; }

/// scores[r][j] = Σ_d q[r·ldq + d] · kt[d·KB + j] for the R rows of one group and `vectors` (≤ NV, a
/// constant where inlined) vectors of keys of one block.
INL void VK_NAME(score_chunk)(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t dim, float *scores,
                              const int vectors) {
    VF acc[R][NV];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++) acc[r][x] = (VF){0};
    for (ptrdiff_t d = 0; d < dim; d++) {
        VF k[NV];
        UNROLL for (int x = 0; x < vectors; x++) k[x] = VK_NAME(load)(kt + d * KB + x * L);
        UNROLL for (int r = 0; r < R; r++) {
            const VF qr = VK_NAME(broadcast)(q[r * ldq + d]);
            UNROLL for (int x = 0; x < vectors; x++) acc[r][x] += qr * k[x];
        }
    }
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++)
        VK_NAME(store)(scores + r * KB + x * L, acc[r][x]);
}

/// The scores of one group against the first `vectors` vectors of keys of a block (all of them but in the
/// last block, where only the vectors holding its `span` keys are computed: at T = 257 the last block has one
/// key, and a whole tile would waste a fifth of the work).
INL void VK_NAME(score_tile)(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t dim, float *scores,
                             ptrdiff_t vectors) {
    for (ptrdiff_t c = 0; c < vectors; c += NV) {
        const float *keys = kt + c * L;
        float *target = scores + c * L;
        switch (vectors - c < NV ? vectors - c : NV) {
        case 1: VK_NAME(score_chunk)(q, ldq, keys, dim, target, 1); break;
#if NV > 2
        case 2: VK_NAME(score_chunk)(q, ldq, keys, dim, target, 2); break;
        case 3: VK_NAME(score_chunk)(q, ldq, keys, dim, target, 3); break;
#endif
        default: VK_NAME(score_chunk)(q, ldq, keys, dim, target, NV); break;
        }
    }
}

/// The online-softmax step of one group on one key block of `vectors` (≤ VB, a constant where inlined)
/// vectors of keys: adds the bias (0, or −∞ for masked and padding keys), copies a row's biased scores to
/// raw[r] when that row's probabilities are asked for, then replaces each score by 2^(s − m) with m the
/// running maximum, and updates the maxima, the sums and each row's correction 2^(old m − new m) for the
/// accumulators. A row's scores stay in registers between its maximum and its exponentials.
INL void VK_NAME(softmax_rows)(float *scores, const float *bias, ptrdiff_t span, const int vectors, float *maxima,
                               float *sums, float *corrections, float *const *raw, int bf16) {
    for (int r = 0; r < R; r++) {
        float *line = scores + r * KB;
        VF row[VB] = {0};  // all written first where `vectors` is VB; this silences GCC where it is not
        VF best = VK_NAME(broadcast)(-INFINITY);
        UNROLL for (int x = 0; x < vectors; x++) {
            row[x] = VK_NAME(load)(line + x * L) + VK_NAME(load)(bias + x * L);
            best = VK_NAME(vmax)(row[x], best);
        }
        if (raw[r]) {
            UNROLL for (int x = 0; x < vectors; x++) VK_NAME(store)(line + x * L, row[x]);
            memcpy(raw[r], line, (size_t)span * sizeof(float));
        }
        const float tile_max = VK_NAME(hmax)(best), old = maxima[r];
        const float maximum = tile_max > old ? tile_max : old;
        // All keys so far masked: subtract 0, not −∞, so that 2^(−∞ − (−∞)) makes no NaN.
        const float shift = maximum == -INFINITY ? 0 : maximum;
        // 2^x with the vector polynomial, not libm's exp2f: a call here made the compiler spill the tile's
        // registers around it. Exactly 1 when the maximum stays (x = 0).
        corrections[r] = VK_NAME(exp2_v)(VK_NAME(splat)(old - shift))[0];
        VF total = (VF){0};
        UNROLL for (int x = 0; x < vectors; x++) {
            const VF e = VK_NAME(exp2_v)(row[x] - shift);
            VK_NAME(store)(line + x * L, bf16 ? VK_NAME(bf16_round_v)(e) : e);
            total += e;
        }
        sums[r] = sums[r] * corrections[r] + VK_NAME(hsum)(total);
        maxima[r] = maximum;
    }
}

/// softmax_rows for a block's `vectors` vectors of keys: unrolled for a whole block, a loop for the last.
INL void VK_NAME(softmax_step)(float *scores, const float *bias, ptrdiff_t span, ptrdiff_t vectors, float *maxima,
                               float *sums, float *corrections, float *const *raw, int bf16) {
    if (vectors == VB) VK_NAME(softmax_rows)(scores, bias, span, VB, maxima, sums, corrections, raw, bf16);
    else VK_NAME(softmax_rows)(scores, bias, span, (int)vectors, maxima, sums, corrections, raw, bf16);
}

/// acc[r][0..vectors·L) = acc · corrections[r] + Σ_j p[r][j] · v[j·ldv ..] over the `span` keys of a block,
/// for `vectors` (≤ NV, a constant where inlined) vectors of head dimensions.
INL void VK_NAME(value_tile)(const float *p, const float *v, ptrdiff_t ldv, ptrdiff_t span, float *acc_rows,
                             ptrdiff_t ldacc, const float *corrections, const int vectors) {
    VF acc[R][NV];
    UNROLL for (int r = 0; r < R; r++) {
        const VF c = VK_NAME(broadcast)(corrections[r]);
        UNROLL for (int x = 0; x < vectors; x++) acc[r][x] = VK_NAME(load)(acc_rows + r * ldacc + x * L) * c;
    }
    for (ptrdiff_t j = 0; j < span; j++) {
        VF values[NV];
        UNROLL for (int x = 0; x < vectors; x++) values[x] = VK_NAME(load)(v + j * ldv + x * L);
        UNROLL for (int r = 0; r < R; r++) {
            const VF pr = VK_NAME(broadcast)(p[r * KB + j]);
            UNROLL for (int x = 0; x < vectors; x++) acc[r][x] += pr * values[x];
        }
    }
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int x = 0; x < vectors; x++)
        VK_NAME(store)(acc_rows + r * ldacc + x * L, acc[r][x]);
}

/// Packs head h of batch item b: Kᵀ in 64-key tiles, V rows padded to `dim` floats, and the key bias.
INL void VK_NAME(pack_head)(const vk_attention_problem *p, const vk_attention_layout *layout, ptrdiff_t b,
                            ptrdiff_t h, float *kt, float *vp, float *bias) {
    const ptrdiff_t tokens = p->tokens, head_dim = p->head_dim, dim = layout->dim;
    const ptrdiff_t padded = layout->key_blocks * KB;
    const float *k = p->k + b * tokens * p->k_ld + h * head_dim, *v = p->v + b * tokens * p->v_ld + h * head_dim;
    // Kᵀ a tile row at a time, so that the stores are contiguous: key by key, the strided stores became
    // AVX-512 scatters under Clang, a tenth of the attention's time.
    for (ptrdiff_t kb = 0; kb < layout->key_blocks; kb++) {
        const ptrdiff_t first = kb * KB, span = tokens - first < KB ? tokens - first : KB;
        float *tile = kt + kb * head_dim * KB;
        for (ptrdiff_t d = 0; d < head_dim; d++) {
            const float *column = k + first * p->k_ld + d;
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
            for (ptrdiff_t j = 0; j < span; j++)
                tile[d * KB + j] = p->bf16 ? vk_bf16_round(column[j * p->k_ld]) : column[j * p->k_ld];
            for (ptrdiff_t j = span; j < KB; j++) tile[d * KB + j] = 0;
        }
    }
    for (ptrdiff_t j = 0; j < padded; j++) {
        float *row = vp + j * dim;
        if (j < tokens) {
            if (p->bf16)
                for (ptrdiff_t d = 0; d < head_dim; d++) row[d] = vk_bf16_round(v[j * p->v_ld + d]);
            else memcpy(row, v + j * p->v_ld, (size_t)head_dim * sizeof(float));
            memset(row + head_dim, 0, (size_t)(dim - head_dim) * sizeof(float));
            bias[j] = p->key_mask && p->key_mask[b * tokens + j] == 0 ? -INFINITY : 0;
        } else {
            memset(row, 0, (size_t)dim * sizeof(float));
            bias[j] = -INFINITY;
        }
    }
}

/// line[j] = 2^(line[j] − shift) / sum over one probability row of biased base-2 scores (zeros when every
/// key is masked: sum 0).
INL void VK_NAME(finish_probabilities)(float *line, ptrdiff_t count, float maximum, float sum) {
    const float shift = maximum == -INFINITY ? 0 : maximum, inverse = sum == 0 ? 0 : 1 / sum;
    ptrdiff_t j = 0;
    for (; j + L <= count; j += L)
        VK_NAME(store)(line + j, VK_NAME(exp2_v)(VK_NAME(load)(line + j) - shift) * inverse);
    if (j < count)
        VK_NAME(store_part)(line + j, VK_NAME(exp2_v)(VK_NAME(load_part)(line + j, count - j, -INFINITY) - shift)
                                          * inverse, count - j);
}

#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
#include "attention_bf16_impl.h"
#define VK_BF16_NATIVE(p) ((p)->bf16 == 2 && vk_bf16_native_supported())
#endif

FN void VK_NAME(attention)(const vk_attention_problem *p, ptrdiff_t first, ptrdiff_t last, void *scratch) {
    const vk_attention_layout layout = vk_attention_layout_of(p);
    char *base = scratch;
    float *kt = (float *)(base + layout.keys), *vp = (float *)(base + layout.values);
    float *bias = (float *)(base + layout.bias), *queries = (float *)(base + layout.queries);
    float *acc = (float *)(base + layout.accumulators), *maxima = (float *)(base + layout.maxima);
    float *sums = (float *)(base + layout.sums), *scores = (float *)(base + layout.scores);
    float *corrections = (float *)(base + layout.corrections);
    ptrdiff_t *requests = (ptrdiff_t *)(base + layout.requests);
    const ptrdiff_t tokens = p->tokens, head_dim = p->head_dim, dim = layout.dim, rows = layout.rows;
#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
    // VDPBF16PS on bf16 pairs (attention_bf16_impl.h) where asked for and present; the same data otherwise.
    uint32_t *pairs = (uint32_t *)(base + layout.pairs);
    const int native = VK_BF16_NATIVE(p);
    const ptrdiff_t head_pairs = (head_dim + 1) / 2;
#endif
    const ptrdiff_t blocks = (tokens + rows - 1) / rows, asked = p->probabilities ? p->probability_row_count : 0;
    const float query_scale = p->scale * 1.44269504088896341f;  // log2 e: scores in base 2
    ptrdiff_t packed = -1;
    for (ptrdiff_t item = first; item < last; item++) {
        const ptrdiff_t head = item / blocks, b = head / p->heads, h = head % p->heads;
        const ptrdiff_t start = (item % blocks) * rows, count = rows < tokens - start ? rows : tokens - start;
        const ptrdiff_t used = (count + R - 1) / R * R;  // rows the groups compute; those past count are zero
        if (head != packed) {
#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
            if (native) bf16n_pack_head(p, &layout, b, h, (uint32_t *)kt, (uint32_t *)vp, bias);
            else
#endif
            VK_NAME(pack_head)(p, &layout, b, h, kt, vp, bias);
            packed = head;
        }
#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
        if (native)
            bf16n_pack_queries(p->q + (b * tokens + start) * p->q_ld + h * head_dim, p->q_ld, head_dim, count, used,
                               (uint32_t *)queries);
        else
#endif
        for (ptrdiff_t i = 0; i < used; i++) {
            float *row = queries + i * dim;
            const float *q = p->q + (b * tokens + start + i) * p->q_ld + h * head_dim;
            for (ptrdiff_t d = 0; d < head_dim; d++)
                row[d] = i < count ? (p->bf16 ? vk_bf16_round(q[d]) : q[d]) * query_scale : 0;
        }
        memset(acc, 0, (size_t)(used * dim) * sizeof(float));
        for (ptrdiff_t i = 0; i < used; i++) {
            maxima[i] = -INFINITY;
            sums[i] = 0;
            requests[i] = -1;
        }
        // The first request of each row of this block asked for: its probability row collects the raw scores.
        float *probabilities = asked ? p->probabilities + head * asked * tokens : NULL;
        for (ptrdiff_t n = asked - 1; n >= 0; n--) {
            const ptrdiff_t t = p->probability_rows[n] - start;
            if (t >= 0 && t < count) requests[t] = n;
        }
        for (ptrdiff_t kb = 0; kb < layout.key_blocks; kb++) {
            const ptrdiff_t span = tokens - kb * KB < KB ? tokens - kb * KB : KB, vectors = (span + L - 1) / L;
            const float *tile = kt + kb * head_dim * KB, *values = vp + kb * KB * dim;
            for (ptrdiff_t g = 0; g < used; g += R) {
#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
                if (native)
                    bf16n_score_tile((const uint32_t *)queries + g * head_pairs, head_pairs,
                                     (const uint32_t *)kt + kb * head_pairs * KB, scores, query_scale, vectors);
                else
#endif
                VK_NAME(score_tile)(queries + g * dim, dim, tile, head_dim, scores, vectors);
                float *raw[R];
                for (int r = 0; r < R; r++)
                    raw[r] = requests[g + r] >= 0 ? probabilities + requests[g + r] * tokens + kb * KB : NULL;
                VK_NAME(softmax_step)(scores, bias + kb * KB, span, vectors, maxima + g, sums + g, corrections, raw,
                                      p->bf16);
#if VK_LEVEL_INDEX == 2 && defined(__x86_64__)
                if (native) {
                    bf16n_pair_rows(scores, pairs);
                    bf16n_value_rows(pairs, (const uint32_t *)vp + kb * (KB / 2) * dim, dim, (span + 1) / 2,
                                     acc + g * dim, corrections);
                    continue;
                }
#endif
                for (ptrdiff_t c = 0; c < dim; c += NV * L) {
                    float *target = acc + g * dim + c;
                    switch ((dim - c) / L < NV ? (dim - c) / L : NV) {
                    case 1: VK_NAME(value_tile)(scores, values + c, dim, span, target, dim, corrections, 1); break;
#if NV > 2
                    case 2: VK_NAME(value_tile)(scores, values + c, dim, span, target, dim, corrections, 2); break;
                    case 3: VK_NAME(value_tile)(scores, values + c, dim, span, target, dim, corrections, 3); break;
#endif
                    default: VK_NAME(value_tile)(scores, values + c, dim, span, target, dim, corrections, NV); break;
                    }
                }
            }
        }
        for (ptrdiff_t i = 0; i < count; i++) {
            float *out = p->out + (b * tokens + start + i) * p->out_ld + h * head_dim;
            const float *row = acc + i * dim;
            const float inverse = sums[i] == 0 ? 0 : 1 / sums[i];  // 0: every key masked
            ptrdiff_t d = 0;
            for (; d + L <= head_dim; d += L) VK_NAME(store)(out + d, VK_NAME(load)(row + d) * inverse);
            if (d < head_dim) VK_NAME(store_part)(out + d, VK_NAME(load)(row + d) * inverse, head_dim - d);
            if (requests[i] >= 0)
                VK_NAME(finish_probabilities)(probabilities + requests[i] * tokens, tokens, maxima[i], sums[i]);
        }
        for (ptrdiff_t n = 0; n < asked; n++) {  // repeated rows: copies of the first
            const ptrdiff_t t = p->probability_rows[n] - start;
            if (t >= 0 && t < count && requests[t] != n)
                memcpy(probabilities + n * tokens, probabilities + requests[t] * tokens, (size_t)tokens * sizeof(float));
        }
    }
}

#undef VK_BF16_NATIVE
#undef KB
#undef R
#undef NV
#undef VB
#undef UNROLL
#include "simd_impl_end.h"
