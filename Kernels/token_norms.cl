// token_norms.cl — per-token L2 norm over channels, and per-image statistics of those norms.
//
// Layout: x is row-major [batch, tokens, dim]; norms is [batch, tokens]; stats is [batch, 3] holding
// (max, argmax, mean) over tokens [begin, end) of each image; argmax is stored as a float (exact for
// token counts below 2^24). A NaN norm counts as larger than any number, so it surfaces as the max.
// Launch:
//   token_norms:      one work-group of NORM_WG items per token row; global = batch * tokens * NORM_WG
//   token_norm_stats: one work-group of STATS_WG items per image;    global = batch * STATS_WG
//
// Rows whose length is a multiple of 4 are read as float4 with a partial sum per lane (strict IEEE
// reductions do not auto-vectorise).
//
// Tunables (override with -D):
//   NORM_WG   work-group size for the norms, a power of two (1 on CPU devices)
//   STATS_WG  work-group size for the statistics, a power of two

#ifndef NORM_WG
#define NORM_WG 64
#endif
#ifndef STATS_WG
#define STATS_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void token_norms(__global const float* x, __global float* norms, const int dim) {
    const int lid = get_local_id(0);
    __global const float* row = x + (size_t)get_group_id(0) * dim;
    float partial = 0.0f;
    if ((dim & 3) == 0) {
        float4 acc = 0.0f;
        for (int i = lid; i < dim / 4; i += NORM_WG) {
            const float4 v = vload4(i, row);
            acc += v * v;
        }
        partial = (acc.s0 + acc.s1) + (acc.s2 + acc.s3);
    } else {
        for (int i = lid; i < dim; i += NORM_WG) partial += row[i] * row[i];
    }
#if NORM_WG > 1
    __local float scratch[NORM_WG];
    scratch[lid] = partial;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = NORM_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    partial = scratch[0];
#endif
    if (lid == 0) norms[get_group_id(0)] = sqrt(partial);
}

// True when (value, index) should replace (best, bestIndex) as the maximum: larger, NaN over numbers,
// and the lower index on ties so that argmax is the first maximum.
inline bool stats_better(float value, int index, float best, int bestIndex) {
    if (isnan(value)) return !isnan(best) || index < bestIndex;
    if (isnan(best)) return false;
    return value > best || (value == best && index < bestIndex);
}

__kernel __attribute__((reqd_work_group_size(STATS_WG, 1, 1)))
void token_norm_stats(__global const float* norms, __global float* stats,
                      const int tokens, const int begin, const int end) {
    const int lid = get_local_id(0);
    const int image = get_group_id(0);
    __global const float* line = norms + (size_t)image * tokens;
    float best = -INFINITY, total = 0.0f;
    int bestIndex = end;
    for (int t = begin + lid; t < end; t += STATS_WG) {
        const float v = line[t];
        if (stats_better(v, t, best, bestIndex)) { best = v; bestIndex = t; }
        total += v;
    }
    __local float maxima[STATS_WG];
    __local int indices[STATS_WG];
    __local float sums[STATS_WG];
    maxima[lid] = best;
    indices[lid] = bestIndex;
    sums[lid] = total;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = STATS_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            if (stats_better(maxima[lid + stride], indices[lid + stride], maxima[lid], indices[lid])) {
                maxima[lid] = maxima[lid + stride];
                indices[lid] = indices[lid + stride];
            }
            sums[lid] += sums[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        stats[image * 3] = maxima[0];
        stats[image * 3 + 1] = (float)indices[0];
        stats[image * 3 + 2] = sums[0] / (float)(end - begin);
    }
}
