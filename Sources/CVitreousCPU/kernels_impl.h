// One instruction-set level of the kernels declared in include/CVitreousCPU.h, instantiated per level by
// kernels.c through levels.h (which defines VK_LANES, VK_TARGET, VK_NAME(x) and the rest). Everything is
// written in clang/GCC vector extensions, so every level runs the same formulas in the same order and differs
// only in vector width and in fused multiply-adds; that keeps the levels within 1e-6 of each other.
//
// Tails (counts that are not a multiple of the width) go through one padded vector with the same formula,
// so no element is computed by different code than its neighbours.

#include "simd_impl.h"

/// erf by the rational approximation Eigen and XLA use (≈ 2 ulp on [−4, 4], ±1 beyond); NaN stays NaN.
INL VF VK_NAME(erf)(VF x) {
    VF v = VK_NAME(vmin)(VK_NAME(vmax)(x, VK_NAME(splat)(-4.0f)), VK_NAME(splat)(4.0f));
    VF x2 = v * v;
    VF p = VK_NAME(splat)(-2.72614225801306e-10f);
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    VF q = VK_NAME(splat)(-1.45660718464996e-05f);
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return VK_NAME(select)(x != x, x, v * p / q);
}

INL VF VK_NAME(gelu_v)(VF x) { return 0.5f * x * (1.0f + VK_NAME(erf)(x * 0.70710678118654752f)); }

/// Round to nearest (even) for |x| < 2²²: adding 1.5·2²³ leaves the integer in the mantissa.
INL VF VK_NAME(round)(VF x) {
    const float magic = 12582912.0f;
    return (x + magic) - magic;
}

/// e^x (Cephes expf: ln 2 split in two, degree-6 polynomial; ≈ 2 ulp). 0 below −87.3, +∞ above 88.7;
/// NaN stays NaN.
INL VF VK_NAME(exp_v)(VF x) {
    VF v = VK_NAME(vmin)(VK_NAME(vmax)(x, VK_NAME(splat)(-87.3f)), VK_NAME(splat)(88.7f));
    VF n = VK_NAME(round)(v * 1.44269504088896341f);
    VF r = v - n * 0.693359375f + n * 2.12194440e-4f;
    VF p = VK_NAME(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    VF mantissa = p * r * r + r + 1.0f;
    VU bits = ((VU)__builtin_convertvector(n, VI) + 127u) << 23;
    VF result = VK_NAME(select)(x < -87.3f, VK_NAME(splat)(0.0f), mantissa * (VF)bits);
    return VK_NAME(select)(x != x, x, result);
}

FN void VK_NAME(gelu)(const float *x, float *y, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + L <= count; i += L) VK_NAME(store)(y + i, VK_NAME(gelu_v)(VK_NAME(load)(x + i)));
    if (i < count)
        VK_NAME(store_part)(y + i, VK_NAME(gelu_v)(VK_NAME(load_part)(x + i, count - i, 0)), count - i);
}

INL VF VK_NAME(silu_mul)(VF g, VF u) { return g / (1.0f + VK_NAME(exp_v)(-g)) * u; }

FN void VK_NAME(swiglu_rows)(const float *x, float *y, ptrdiff_t rows, ptrdiff_t hidden) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *gate = x + r * 2 * hidden, *up = gate + hidden;
        float *out = y + r * hidden;
        ptrdiff_t i = 0;
        for (; i + L <= hidden; i += L)
            VK_NAME(store)(out + i, VK_NAME(silu_mul)(VK_NAME(load)(gate + i), VK_NAME(load)(up + i)));
        if (i < hidden)
            VK_NAME(store_part)(out + i, VK_NAME(silu_mul)(VK_NAME(load_part)(gate + i, hidden - i, 0),
                                                           VK_NAME(load_part)(up + i, hidden - i, 0)), hidden - i);
    }
}

FN void VK_NAME(add)(const float *a, const float *b, float *y, ptrdiff_t count) {
    ptrdiff_t i = 0;
    for (; i + L <= count; i += L) VK_NAME(store)(y + i, VK_NAME(load)(a + i) + VK_NAME(load)(b + i));
    for (; i < count; i++) y[i] = a[i] + b[i];
}

FN void VK_NAME(bias_activation_rows)(float *y, ptrdiff_t ld, const float *bias, ptrdiff_t rows,
                                      ptrdiff_t columns, int gelu) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *line = y + r * ld;
        ptrdiff_t i = 0;
        for (; i + L <= columns; i += L) {
            VF v = VK_NAME(load)(line + i);
            if (bias) v += VK_NAME(load)(bias + i);
            VK_NAME(store)(line + i, gelu ? VK_NAME(gelu_v)(v) : v);
        }
        if (i < columns) {
            VF v = VK_NAME(load_part)(line + i, columns - i, 0);
            if (bias) v += VK_NAME(load_part)(bias + i, columns - i, 0);
            VK_NAME(store_part)(line + i, gelu ? VK_NAME(gelu_v)(v) : v, columns - i);
        }
    }
}

/// y = (s − mean) / √(var + eps) · weight + bias over one row (two passes over s for the moments).
INL void VK_NAME(norm_row)(const float *s, const float *weight, const float *bias, ptrdiff_t dim, float eps,
                           float *y) {
    VF acc = VK_NAME(splat)(0);
    float tail = 0;
    ptrdiff_t i = 0;
    for (; i + L <= dim; i += L) acc += VK_NAME(load)(s + i);
    for (; i < dim; i++) tail += s[i];
    const float mean = (VK_NAME(hsum)(acc) + tail) / (float)dim;
    acc = VK_NAME(splat)(0);
    tail = 0;
    for (i = 0; i + L <= dim; i += L) {
        VF d = VK_NAME(load)(s + i) - mean;
        acc += d * d;
    }
    for (; i < dim; i++) tail += (s[i] - mean) * (s[i] - mean);
    const float rstd = 1.0f / sqrtf((VK_NAME(hsum)(acc) + tail) / (float)dim + eps);
    for (i = 0; i + L <= dim; i += L) {
        VF v = (VK_NAME(load)(s + i) - mean) * rstd;
        VK_NAME(store)(y + i, v * VK_NAME(load)(weight + i) + VK_NAME(load)(bias + i));
    }
    for (; i < dim; i++) y[i] = (s[i] - mean) * rstd * weight[i] + bias[i];
}

FN void VK_NAME(layer_norm_rows)(const float *x, const float *residual, float *sum, const float *weight,
                                 const float *bias, ptrdiff_t rows, ptrdiff_t dim, float eps, float *y) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *source = x + r * dim;
        if (residual && sum) {
            VK_NAME(add)(source, residual + r * dim, sum + r * dim, dim);
            source = sum + r * dim;
        }
        VK_NAME(norm_row)(source, weight, bias, dim, eps, y + r * dim);
    }
}

INL void VK_NAME(scale_add_row)(const float *x, const float *gamma, const float *residual, float *y,
                                ptrdiff_t columns) {
    ptrdiff_t i = 0;
    for (; i + L <= columns; i += L)
        VK_NAME(store)(y + i, VK_NAME(load)(residual + i) + VK_NAME(load)(gamma + i) * VK_NAME(load)(x + i));
    for (; i < columns; i++) y[i] = residual[i] + gamma[i] * x[i];
}

FN void VK_NAME(layer_scale_rows)(const float *x, const float *gamma, const float *residual, float *y,
                                  ptrdiff_t rows, ptrdiff_t columns) {
    for (ptrdiff_t r = 0; r < rows; r++)
        VK_NAME(scale_add_row)(x + r * columns, gamma, residual + r * columns, y + r * columns, columns);
}

FN void VK_NAME(layer_scale_norm_rows)(const float *x, const float *gamma, const float *residual, float *sum,
                                       const float *weight, const float *bias, ptrdiff_t rows, ptrdiff_t dim,
                                       float eps, float *y) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        // The sum row is still in L1 when the norm reads it back.
        VK_NAME(scale_add_row)(x + r * dim, gamma, residual + r * dim, sum + r * dim, dim);
        VK_NAME(norm_row)(sum + r * dim, weight, bias, dim, eps, y + r * dim);
    }
}

FN void VK_NAME(row_norms)(const float *x, ptrdiff_t rows, ptrdiff_t dim, float *norms) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *line = x + r * dim;
        VF acc = VK_NAME(splat)(0);
        float tail = 0;
        ptrdiff_t i = 0;
        for (; i + L <= dim; i += L) {
            VF v = VK_NAME(load)(line + i);
            acc += v * v;
        }
        for (; i < dim; i++) tail += line[i] * line[i];
        norms[r] = sqrtf(VK_NAME(hsum)(acc) + tail);
    }
}

/// ln x for normal x > 0 (Cephes logf: the mantissa folded into [√½, √2), degree-8 polynomial, ln 2 split in
/// two; ≈ 2 ulp). Zero, negative, subnormal, infinite and NaN inputs give meaningless values: callers mask them.
INL VF VK_NAME(log_v)(VF x) {
    VU bits = (VU)x;
    VF e = __builtin_convertvector((VI)(bits >> 23) - 126, VF);  // x = m · 2^e with m in [0.5, 1)
    VF m = (VF)((bits & 0x007fffffu) | 0x3f000000u);
    VI small = m < 0.707106781186547524f;
    e = VK_NAME(select)(small, e - 1.0f, e);
    m = VK_NAME(select)(small, m + m, m) - 1.0f;
    VF z = m * m;
    VF y = VK_NAME(splat)(7.0376836292e-2f);
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z - 2.12194440e-4f * e - 0.5f * z;
    return m + y + 0.693359375f * e;
}

/// −p log p where p > 0, else 0 (zeros, padding and NaN add nothing).
INL VF VK_NAME(entropy_terms)(VF p) {
    return VK_NAME(select)(p > 0.0f, -p * VK_NAME(log_v)(p), VK_NAME(splat)(0.0f));
}

/// Σ a[i] · b[i] over one row.
INL float VK_NAME(dot_row)(const float *a, const float *b, ptrdiff_t count) {
    VF acc = VK_NAME(splat)(0);
    ptrdiff_t i = 0;
    for (; i + L <= count; i += L) acc += VK_NAME(load)(a + i) * VK_NAME(load)(b + i);
    if (i < count) acc += VK_NAME(load_part)(a + i, count - i, 0) * VK_NAME(load_part)(b + i, count - i, 0);
    return VK_NAME(hsum)(acc);
}

FN void VK_NAME(attention_row_statistics)(const float *p, ptrdiff_t first_row, ptrdiff_t rows, ptrdiff_t tokens,
                                          const float *distances, ptrdiff_t first, ptrdiff_t patches,
                                          float *entropy, float *distance) {
    for (ptrdiff_t r = first_row; r < first_row + rows; r++) {
        const float *line = p + r * tokens;
        VF acc = VK_NAME(splat)(0);
        ptrdiff_t i = 0;
        for (; i + L <= tokens; i += L) acc += VK_NAME(entropy_terms)(VK_NAME(load)(line + i));
        if (i < tokens) acc += VK_NAME(entropy_terms)(VK_NAME(load_part)(line + i, tokens - i, 0));
        entropy[r] = VK_NAME(hsum)(acc);
        const ptrdiff_t map = r / tokens, patch = r % tokens - first;
        if (patch >= 0 && patch < patches)
            distance[map * patches + patch] = VK_NAME(dot_row)(line + first, distances + patch * patches, patches);
    }
}

FN float VK_NAME(exp2_sum)(float *line, ptrdiff_t count, float shift) {
    VF total = VK_NAME(splat)(0);
    ptrdiff_t i = 0;
    for (; i + L <= count; i += L) {
        VF v = VK_NAME(exp2_v)(VK_NAME(load)(line + i) - shift);
        VK_NAME(store)(line + i, v);
        total += v;
    }
    if (i < count) {  // padded with −∞: 2^−∞ = 0 adds nothing
        VF v = VK_NAME(exp2_v)(VK_NAME(load_part)(line + i, count - i, -INFINITY) - shift);
        VK_NAME(store_part)(line + i, v, count - i);
        total += v;
    }
    return VK_NAME(hsum)(total);
}

FN void VK_NAME(scale)(float *line, ptrdiff_t count, float factor) {
    ptrdiff_t i = 0;
    for (; i + L <= count; i += L) VK_NAME(store)(line + i, VK_NAME(load)(line + i) * factor);
    for (; i < count; i++) line[i] *= factor;
}

FN void VK_NAME(softmax_rows)(const float *x, float *y, ptrdiff_t rows, ptrdiff_t columns) {
    const float log2e = 1.44269504088896341f;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *in = x + r * columns;
        float *out = y + r * columns;
        // Base 2, as in the attention: e^(x − max) = 2^((x − max)·log2 e). An all −∞ row makes the
        // maximum −∞ and every difference NaN, so the row is NaN, as PyTorch's.
        VF best = VK_NAME(splat)(-INFINITY);
        ptrdiff_t i = 0;
        for (; i + L <= columns; i += L) best = VK_NAME(vmax)(VK_NAME(load)(in + i), best);
        float maximum = VK_NAME(hmax)(best);
        for (; i < columns; i++) maximum = in[i] > maximum ? in[i] : maximum;
        for (i = 0; i < columns; i++) out[i] = (in[i] - maximum) * log2e;
        const float total = VK_NAME(exp2_sum)(out, columns, 0);
        VK_NAME(scale)(out, columns, 1.0f / total);
    }
}

static const vk_kernels VK_NAME(kernels) = {
    .name = VK_LEVEL_NAME,
    .lanes = L,
    .gelu = VK_NAME(gelu),
    .swiglu_rows = VK_NAME(swiglu_rows),
    .add = VK_NAME(add),
    .bias_activation_rows = VK_NAME(bias_activation_rows),
    .layer_norm_rows = VK_NAME(layer_norm_rows),
    .layer_scale_rows = VK_NAME(layer_scale_rows),
    .layer_scale_norm_rows = VK_NAME(layer_scale_norm_rows),
    .row_norms = VK_NAME(row_norms),
    .attention_row_statistics = VK_NAME(attention_row_statistics),
    .softmax_rows = VK_NAME(softmax_rows),
    .exp2_sum = VK_NAME(exp2_sum),
    .scale = VK_NAME(scale),
};

#include "simd_impl_end.h"
