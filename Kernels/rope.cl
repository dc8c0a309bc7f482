// rope.cl — DINOv3's rotary position embedding on the queries and keys of a fused QKV projection.
//
// Layout: qkv and out are [B, T, 6·H·width] row-major: per token all of Q (H heads of 2·width floats), then K,
// then V. cos and sin are [rotatedEnd − rotatedBegin, width] row-major. For a token t in
// [rotatedBegin, rotatedEnd) and a Q or K head with halves x1 = x[0, width), x2 = x[width, 2·width) (width = headDim/2), with
// c = cos[t − rotatedBegin], s = sin[t − rotatedBegin]:
//     out1 = x1·c − x2·s,   out2 = x2·c + x1·s        (x·[c, c] + rotate_half(x)·[s, s])
// Every other element (V, tokens outside the range) is copied.
// Launch: one work-item per output element; global = B·T·6·H·width rounded up to ROPE_WG.
//
// Tunables (override with -D):
//   ROPE_WG  work-group size the host rounds the global size to

#ifndef ROPE_WG
#define ROPE_WG 256
#endif

__kernel void rotary_embedding(__global const float* qkv, __global const float* cos_table,
                               __global const float* sin_table, __global float* out, const int total,
                               const int tokens, const int heads, const int width, const int rotatedBegin,
                               const int rotatedEnd) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int stride = 6 * heads * width;
    const int channel = i % stride, t = (i / stride) % tokens;
    const float x = qkv[i];
    if (channel >= 4 * heads * width || t < rotatedBegin || t >= rotatedEnd) {
        out[i] = x;
        return;
    }
    const int k = channel % (2 * width), j = k % width;
    const int cell = (t - rotatedBegin) * width + j;
    const float c = cos_table[cell], s = sin_table[cell];
    out[i] = k < width ? x * c - qkv[i + width] * s : x * c + qkv[i - width] * s;
}
