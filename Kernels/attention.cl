// attention.cl — fused multi-head attention, flash style, and the softmax rows of chosen queries.
//
// For batch item b, head h, query token i:
//   out[b, i, h*HEAD_DIM + :] = sum_j softmax_j(scale * q(b,i,h) . k(b,j,h)) * v(b,j,h)
// over the keys j that are not masked.
//
// Layouts (row-major float32). q, k and v are [batch, tokens, *] with `stride` floats per token; head h of
// token t of batch item b starts at (b*tokens + t)*stride + offset + h*HEAD_DIM, with offset q_offset,
// k_offset or v_offset. A fused QKV projection [B, T, 3, H, Dh] is read in place: the three pointers are
// the same buffer, stride = 3*H*Dh, offsets 0, H*Dh, 2*H*Dh. Separate tensors: stride = H*Dh, offsets 0.
// out is [batch, tokens, heads*HEAD_DIM]. mask (when use_mask) is [batch, tokens]: a key whose mask value
// is exactly 0 is excluded and gets probability exactly 0. A query whose keys are all excluded gets zeros.
//
// attention_flash — launch: batch*heads*ceil(tokens / (ATT_WG*ATT_ROWS*ATT_VEC)) work-groups of ATT_WG
// items, 1-D (global = groups*ATT_WG). Each work-item owns ATT_ROWS*ATT_VEC consecutive query rows, held
// as ATT_ROWS vectors whose ATT_VEC lanes are different rows (ATT_VEC = 1: one row per item, the GPU
// way; 16: sixteen rows in an AVX-512 register, the CPU way). Lanes never talk to each other: no
// shuffles, no horizontal reductions. The group walks the keys in tiles of ATT_KT, staging the tile's K
// and V rows and a mask bias (0, or -inf for a masked key or one past the end) in local memory; every
// row then updates its running max m, running sum l and accumulator acc with the online-softmax
// (FlashAttention) recurrence, in base 2 (scale_log2 = scale*log2(e), so exp becomes exp2):
//   s_j = scale_log2 * q.k_j + bias_j;   m' = max(m, max_j s_j)
//   acc = acc * 2^(m - m') + sum_j 2^(s_j - m') v_j;   l = l * 2^(m - m') + sum_j 2^(s_j - m')
//   out = acc / l   (0 when l = 0: every key masked)
// Global memory holds nothing but the inputs and the output: no tokens x tokens matrix.
//
// attention_probs — softmax probabilities of chosen query rows, a cheap second pass (rows x tokens per
// head): rows is a float array of query indices. Launch: batch*heads*row_count work-groups of ATT_PROB_WG
// items, global = that * ATT_PROB_WG; group g writes probs[g*tokens .. (g+1)*tokens), ordered
// [batch, heads, row_count, tokens]. Each group computes its row's scores into its output row, then does
// a softmax there in place.
//
// Tunables (override with -D):
//   HEAD_DIM     head dimension; the host builds one variant per head dim in use (64 is the DINOv2 case)
//   ATT_WG       work-items per group of attention_flash (they share the staging of each K/V tile)
//   ATT_VEC      query rows per vector: 1, 2, 4, 8 or 16
//   ATT_ROWS     vectors of query rows per work-item (each K/V value loaded serves ATT_ROWS*ATT_VEC rows)
//   ATT_KT       keys per tile; local memory is 2*ATT_KT*HEAD_DIM + ATT_KT floats, and the tile's scores
//                take ATT_ROWS*ATT_KT vector registers
//   ATT_UNROLL   1: unroll the loops over the head dim fully, so that a GPU keeps the per-row arrays in
//                registers; 0: leave them rolled (CPU drivers: smaller code, measured faster on PoCL)
//   ATT_PROB_WG  work-group size of attention_probs, a power of two

#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
#ifndef ATT_WG
#define ATT_WG 64
#endif
#ifndef ATT_VEC
#define ATT_VEC 1
#endif
#ifndef ATT_ROWS
#define ATT_ROWS 1
#endif
#ifndef ATT_KT
#define ATT_KT 32
#endif
#ifndef ATT_UNROLL
#define ATT_UNROLL 1
#endif
#ifndef ATT_PROB_WG
#define ATT_PROB_WG 128
#endif

#if ATT_UNROLL
#define ATT_UNROLL_HEAD _Pragma("unroll")
#else
#define ATT_UNROLL_HEAD
#endif

#define ATT_ITEM_ROWS (ATT_ROWS * ATT_VEC)
#define ATT_GROUP_ROWS (ATT_WG * ATT_ITEM_ROWS)

#if ATT_VEC == 1
typedef float floatv;
#define ATT_LOAD(i, p) ((p)[i])
#define ATT_STORE(x, i, p) ((p)[i] = (x))
#else
#define ATT_CAT2(a, b) a##b
#define ATT_CAT(a, b) ATT_CAT2(a, b)
typedef ATT_CAT(float, ATT_VEC) floatv;
#define ATT_LOAD(i, p) ATT_CAT(vload, ATT_VEC)(i, p)
#define ATT_STORE(x, i, p) ATT_CAT(vstore, ATT_VEC)(x, i, p)
#endif

// The unit of the K/V staging copy: a floatv when HEAD_DIM is a whole number of them, else one float.
#if HEAD_DIM % ATT_VEC == 0
#define ATT_CHUNKS (HEAD_DIM / ATT_VEC)
#define ATT_CHUNK_T floatv
#define ATT_CHUNK_LOAD ATT_LOAD
#define ATT_CHUNK_STORE ATT_STORE
#else
#define ATT_CHUNKS HEAD_DIM
#define ATT_CHUNK_T float
#define ATT_CHUNK_LOAD(i, p) ((p)[i])
#define ATT_CHUNK_STORE(x, i, p) ((p)[i] = (x))
#endif

__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_flash(__global const float* q, __global const float* k, __global const float* v,
                     __global const float* mask, __global float* out,
                     const int tokens, const int heads, const int stride,
                     const int q_offset, const int k_offset, const int v_offset,
                     const int use_mask, const float scale_log2) {
    __local float kl[ATT_KT * HEAD_DIM];   // K rows of the tile: kl[j*HEAD_DIM + d]
    __local float vl[ATT_KT * HEAD_DIM];   // V rows of the tile
    __local float bias[ATT_KT];            // 0 for a usable key, -inf for a masked one or one past the end

    const int lid = get_local_id(0);
    const int row_groups = (tokens + ATT_GROUP_ROWS - 1) / ATT_GROUP_ROWS;
    const int group = get_group_id(0);
    const int bh = group / row_groups;
    const int b = bh / heads;
    const int head_offset = (bh % heads) * HEAD_DIM;
    const int row0 = (group % row_groups) * ATT_GROUP_ROWS + lid * ATT_ITEM_ROWS;
    const size_t batch_base = (size_t)b * tokens * stride;

    // This item's query rows, scaled, transposed so that lane e of qt[r][d] is row row0 + r*ATT_VEC + e.
    // Rows past the end repeat the last row and are never stored.
    floatv qt[ATT_ROWS][HEAD_DIM];
    floatv acc[ATT_ROWS][HEAD_DIM];
    floatv m[ATT_ROWS], l[ATT_ROWS];
    for (int r = 0; r < ATT_ROWS; r++) {
        ATT_UNROLL_HEAD
        for (int d = 0; d < HEAD_DIM; d++) {
            float lanes[ATT_VEC];
            for (int e = 0; e < ATT_VEC; e++) {
                const int row = min(row0 + r * ATT_VEC + e, tokens - 1);
                lanes[e] = q[batch_base + (size_t)row * stride + q_offset + head_offset + d] * scale_log2;
            }
            qt[r][d] = ATT_LOAD(0, lanes);
            acc[r][d] = (floatv)(0.0f);
        }
        m[r] = (floatv)(-INFINITY);
        l[r] = (floatv)(0.0f);
    }

    for (int k0 = 0; k0 < tokens; k0 += ATT_KT) {
        barrier(CLK_LOCAL_MEM_FENCE);  // every item is done with the previous tile
        // Copy whole vectors where the head dim allows (a CPU driver's one item per group copies 16 floats
        // per step instead of 1); keys past the end read as zeros: finite, so their p = 0 times them stays 0.
        for (int i = lid; i < ATT_KT * ATT_CHUNKS; i += ATT_WG) {
            const int j = i / ATT_CHUNKS, key = k0 + j;
            const size_t at = batch_base + (size_t)key * stride + head_offset;
            const int chunk = i - j * ATT_CHUNKS;
            ATT_CHUNK_T kc = (ATT_CHUNK_T)(0.0f), vc = (ATT_CHUNK_T)(0.0f);
            if (key < tokens) {
                kc = ATT_CHUNK_LOAD(chunk, k + at + k_offset);
                vc = ATT_CHUNK_LOAD(chunk, v + at + v_offset);
            }
            ATT_CHUNK_STORE(kc, i, kl);
            ATT_CHUNK_STORE(vc, i, vl);
        }
        for (int j = lid; j < ATT_KT; j += ATT_WG) {
            const int key = k0 + j;
            const bool usable = key < tokens && !(use_mask && mask[(size_t)b * tokens + key] == 0.0f);
            bias[j] = usable ? 0.0f : -INFINITY;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        for (int r = 0; r < ATT_ROWS; r++) {
            // Scores of the tile, starting from the bias so that masked keys stay -inf.
            floatv s[ATT_KT];
            #pragma unroll
            for (int j = 0; j < ATT_KT; j++) s[j] = (floatv)(bias[j]);
            ATT_UNROLL_HEAD
            for (int d = 0; d < HEAD_DIM; d++) {
                const floatv qd = qt[r][d];
                #pragma unroll
                for (int j = 0; j < ATT_KT; j++) s[j] = fma(qd, (floatv)(kl[j * HEAD_DIM + d]), s[j]);
            }
            // Online softmax step, every lane (row) on its own.
            floatv tile_max = s[0];
            #pragma unroll
            for (int j = 1; j < ATT_KT; j++) tile_max = fmax(tile_max, s[j]);
            const floatv new_max = fmax(m[r], tile_max);
            // While every key so far is masked, subtract 0 rather than -inf: -inf - -inf would be NaN.
            const floatv shift = select(new_max, (floatv)(0.0f), new_max == (floatv)(-INFINITY));
            const floatv correction = exp2(m[r] - shift);
            floatv tile_sum = (floatv)(0.0f);
            #pragma unroll
            for (int j = 0; j < ATT_KT; j++) {
                s[j] = exp2(s[j] - shift);
                tile_sum += s[j];
            }
            l[r] = l[r] * correction + tile_sum;
            m[r] = new_max;
            ATT_UNROLL_HEAD
            for (int d = 0; d < HEAD_DIM; d++) {
                floatv a = acc[r][d] * correction;
                #pragma unroll
                for (int j = 0; j < ATT_KT; j++) a = fma(s[j], (floatv)(vl[j * HEAD_DIM + d]), a);
                acc[r][d] = a;
            }
        }
    }

    for (int r = 0; r < ATT_ROWS; r++) {
        // l = 0: every key masked, zeros. A NaN l stays NaN (1/NaN), so bad inputs show.
        const floatv inverse = select((floatv)(1.0f) / l[r], (floatv)(0.0f), l[r] == (floatv)(0.0f));
        ATT_UNROLL_HEAD
        for (int d = 0; d < HEAD_DIM; d++) {
            float lanes[ATT_VEC];
            ATT_STORE(acc[r][d] * inverse, 0, lanes);
            for (int e = 0; e < ATT_VEC; e++) {
                const int row = row0 + r * ATT_VEC + e;
                if (row < tokens) out[((size_t)b * tokens + row) * (heads * HEAD_DIM) + head_offset + d] = lanes[e];
            }
        }
    }
}

// Reduces `value` over the work-group with `op`; every item gets the result.
#define ATT_GROUP_REDUCE(value, scratch, op) do {                                       \
        scratch[lid] = value;                                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                                    \
        for (int step = ATT_PROB_WG / 2; step > 0; step >>= 1) {                          \
            if (lid < step) scratch[lid] = op(scratch[lid], scratch[lid + step]);         \
            barrier(CLK_LOCAL_MEM_FENCE);                                                \
        }                                                                                \
        value = scratch[0];                                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                                                    \
    } while (0)

inline float att_add(float a, float b) { return a + b; }

__kernel __attribute__((reqd_work_group_size(ATT_PROB_WG, 1, 1)))
void attention_probs(__global const float* q, __global const float* k, __global const float* mask,
                     __global const float* rows, __global float* probs,
                     const int tokens, const int heads, const int stride, const int q_offset, const int k_offset,
                     const int use_mask, const int row_count, const float scale_log2) {
    __local float query[HEAD_DIM];
    __local float scratch[ATT_PROB_WG];
    const int lid = get_local_id(0);
    const int group = get_group_id(0);
    const int bh = group / row_count;
    const int b = bh / heads;
    const int head_offset = (bh % heads) * HEAD_DIM;
    const int row = (int)rows[group % row_count];
    const size_t batch_base = (size_t)b * tokens * stride;
    __global float* dst = probs + (size_t)group * tokens;

    for (int d = lid; d < HEAD_DIM; d += ATT_PROB_WG) {
        query[d] = q[batch_base + (size_t)row * stride + q_offset + head_offset + d] * scale_log2;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float partial = -INFINITY;
    for (int j = lid; j < tokens; j += ATT_PROB_WG) {
        float score = -INFINITY;
        if (!(use_mask && mask[(size_t)b * tokens + j] == 0.0f)) {
            __global const float* key = k + batch_base + (size_t)j * stride + k_offset + head_offset;
            score = 0.0f;
            for (int d = 0; d < HEAD_DIM; d++) score = fma(query[d], key[d], score);
        }
        dst[j] = score;
        partial = fmax(partial, score);
    }
    ATT_GROUP_REDUCE(partial, scratch, fmax);
    const float shift = partial == -INFINITY ? 0.0f : partial;
    partial = 0.0f;
    for (int j = lid; j < tokens; j += ATT_PROB_WG) {
        const float e = exp2(dst[j] - shift);
        dst[j] = e;
        partial += e;
    }
    ATT_GROUP_REDUCE(partial, scratch, att_add);
    const float inverse = partial == 0.0f ? 0.0f : 1.0f / partial;
    for (int j = lid; j < tokens; j += ATT_PROB_WG) dst[j] *= inverse;
}
