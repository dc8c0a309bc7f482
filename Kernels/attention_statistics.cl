// attention_statistics.cl — per attention row, the sums behind attention entropy and attention distance.
//
// Layout: p is row-major [maps, tokens, tokens] (maps = batch · heads; row r is query r % tokens of map
// r / tokens); distances is [patches, patches]; entropy is [maps · tokens]; distance is [maps, patches]. Patch
// tokens are first .. first + patches − 1.
//   entropy[r]  = −Σₖ p log p over the keys with p > 0 (0 and NaN add nothing)
//   distance[m·patches + i] = Σⱼ p[first + i][first + j] · distances[i·patches + j]   (patch queries only)
// Launch: one work-group of ASTAT_WG items per row; global = maps · tokens · ASTAT_WG.
//
// Tunables (override with -D):
//   ASTAT_WG  work-group size, a power of two (1 on CPU devices)

#ifndef ASTAT_WG
#define ASTAT_WG 64
#endif

__kernel __attribute__((reqd_work_group_size(ASTAT_WG, 1, 1)))
void attention_row_statistics(__global const float* p, __global const float* distances,
                              __global float* entropy, __global float* distance,
                              const int tokens, const int first, const int patches) {
    const int lid = get_local_id(0);
    const int row = get_group_id(0);
    const int map = row / tokens, patch = row % tokens - first;
    const bool patchQuery = patch >= 0 && patch < patches;
    __global const float* line = p + (size_t)row * tokens;
    float h = 0.0f, d = 0.0f;
    for (int k = lid; k < tokens; k += ASTAT_WG) {
        const float v = line[k];
        if (v > 0.0f) h -= v * log(v);
    }
    if (patchQuery) {
        __global const float* table = distances + (size_t)patch * patches;
        for (int j = lid; j < patches; j += ASTAT_WG) d += line[first + j] * table[j];
    }
#if ASTAT_WG > 1
    __local float hs[ASTAT_WG], ds[ASTAT_WG];
    hs[lid] = h;
    ds[lid] = d;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = ASTAT_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            hs[lid] += hs[lid + stride];
            ds[lid] += ds[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    h = hs[0];
    d = ds[0];
#endif
    if (lid == 0) {
        entropy[row] = h;
        if (patchQuery) distance[(size_t)map * patches + patch] = d;
    }
}
