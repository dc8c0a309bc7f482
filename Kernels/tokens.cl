// tokens.cl — moving pixels and tokens into the shapes a ViT works on.
//
//   patchify:        images [B, C, H, W] → patches [B, gh·gw, C·P·P], each row ordered (c, ky, kx) as a
//                    stride-P convolution weight [D, C, P, P] flattens, patches row-major (row = y).
//                    Launch: one work-item per output element; global = B·gh·gw·C·P·P.
//   assemble_tokens: out [B, T, D] with T = 1 + R + N + E: row 0 = cls + pos[0]; rows 1…R = registers
//                    (no position embedding); rows 1+R… = patches[b] + pos[1…N]; the last E rows = 0
//                    (test-time registers). Launch: one work-item per output element; global = B·T·D.
//   swiglu:          out [rows, H] = silu(x[:, :H]) * x[:, H:] for x [rows, 2H] (gate first, then up).
//                    Launch: one work-item per output element; global = rows·H.
//
// Tunables (override with -D):
//   TOK_WG  work-group size the host rounds global sizes to

#ifndef TOK_WG
#define TOK_WG 256
#endif

__kernel void patchify(__global const float* images, __global float* patches, const int total,
                       const int channels, const int height, const int width, const int patch) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int rowLength = channels * patch * patch;
    const int gw = width / patch, gh = height / patch;
    const int k = i % rowLength, p = (i / rowLength) % (gh * gw), b = i / (rowLength * gh * gw);
    const int c = k / (patch * patch), ky = (k / patch) % patch, kx = k % patch;
    const int y = (p / gw) * patch + ky, x = (p % gw) * patch + kx;
    patches[i] = images[(((size_t)b * channels + c) * height + y) * width + x];
}

__kernel void assemble_tokens(__global const float* patches, __global const float* cls,
                              __global const float* registers, __global const float* positions,
                              __global float* out, const int total, const int registerCount,
                              const int patchCount, const int extraCount, const int dim) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int tokens = 1 + registerCount + patchCount + extraCount;
    const int d = i % dim, t = (i / dim) % tokens, b = i / (dim * tokens);
    float v;
    if (t == 0) {
        v = cls[d] + positions[d];
    } else if (t <= registerCount) {
        v = registers[(t - 1) * dim + d];
    } else if (t <= registerCount + patchCount) {
        const int p = t - 1 - registerCount;
        v = patches[((size_t)b * patchCount + p) * dim + d] + positions[(size_t)(1 + p) * dim + d];
    } else {
        v = 0.0f;
    }
    out[i] = v;
}

__kernel void swiglu(__global const float* x, __global float* out, const int total, const int hidden) {
    const int i = get_global_id(0);
    if (i >= total) return;
    const int row = i / hidden, j = i % hidden;
    const float gate = x[(size_t)row * 2 * hidden + j];
    const float up = x[(size_t)row * 2 * hidden + hidden + j];
    out[i] = gate / (1.0f + exp(-gate)) * up;
}
