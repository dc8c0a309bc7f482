// elementwise.cl — the small element-wise ops around the GEMMs of a transformer block.
//
// Layout: flat float arrays of n elements; "columns" is the length of the last axis for ops that
// broadcast a per-channel vector (bias, LayerScale gamma) over rows.
// Launch: 1-D, one work-item per group of 4 elements: global = round_up(ceil(n / 4), EW_WG).
// Groups that are whole and aligned use float4 loads; the last partial group and rows whose length is
// not a multiple of 4 take the scalar path.
//
// Tunables (override with -D):
//   EW_WG  work-group size used by the host to round the global size

#ifndef EW_WG
#define EW_WG 256
#endif

#define M_SQRT1_2_F 0.70710678118654752440f

inline float gelu_exact(float x) { return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F)); }
inline float4 gelu_exact4(float4 x) { return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F)); }

// y = act(y + bias[column]) in place; act 0 = identity, 1 = exact GELU. has_bias 0 skips the bias.
__kernel void bias_activation(__global float* y, __global const float* bias, const int n,
                              const int columns, const int has_bias, const int act) {
    const int i = get_global_id(0) * 4;
    if (i >= n) return;
    if (i + 4 <= n && (columns & 3) == 0) {
        float4 v = vload4(0, y + i);
        if (has_bias) v += vload4(0, bias + (i % columns));
        if (act == 1) v = gelu_exact4(v);
        vstore4(v, 0, y + i);
    } else {
        for (int j = i; j < min(i + 4, n); ++j) {
            float v = y[j];
            if (has_bias) v += bias[j % columns];
            if (act == 1) v = gelu_exact(v);
            y[j] = v;
        }
    }
}

__kernel void gelu(__global const float* x, __global float* y, const int n) {
    const int i = get_global_id(0) * 4;
    if (i >= n) return;
    if (i + 4 <= n) {
        vstore4(gelu_exact4(vload4(0, x + i)), 0, y + i);
    } else {
        for (int j = i; j < n; ++j) y[j] = gelu_exact(x[j]);
    }
}

__kernel void add(__global const float* a, __global const float* b, __global float* y, const int n) {
    const int i = get_global_id(0) * 4;
    if (i >= n) return;
    if (i + 4 <= n) {
        vstore4(vload4(0, a + i) + vload4(0, b + i), 0, y + i);
    } else {
        for (int j = i; j < n; ++j) y[j] = a[j] + b[j];
    }
}

// y = residual + gamma[column] * x  (LayerScale followed by the residual connection)
__kernel void layer_scale(__global const float* x, __global const float* gamma,
                          __global const float* residual, __global float* y,
                          const int n, const int columns) {
    const int i = get_global_id(0) * 4;
    if (i >= n) return;
    if (i + 4 <= n && (columns & 3) == 0) {
        vstore4(vload4(0, residual + i) + vload4(0, gamma + (i % columns)) * vload4(0, x + i), 0, y + i);
    } else {
        for (int j = i; j < min(i + 4, n); ++j) y[j] = residual[j] + gamma[j % columns] * x[j];
    }
}
