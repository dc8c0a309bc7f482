// The vector helpers the per-level kernel files share (kernels_impl.h, attention_impl.h): types, loads and
// stores with padded tails, lane reductions, and the softmax's 2^x. Included once per level by each of them,
// with VK_LANES, VK_TARGET and VK_NAME(x) defined (see kernels.c); the including file ends with simd_impl_end.h. Every function is static inline, so each translation unit has its own copy.

#define VF VK_NAME(vf)
#define VI VK_NAME(vi)
#define VU VK_NAME(vu)
typedef float VF __attribute__((vector_size(VK_LANES * 4)));
typedef int VI __attribute__((vector_size(VK_LANES * 4)));
typedef unsigned VU __attribute__((vector_size(VK_LANES * 4)));
#define L VK_LANES
#define INL static inline VK_TARGET __attribute__((always_inline))
#define FN static VK_TARGET

INL VF VK_NAME(load)(const float *p) {
    VF v;
    memcpy(&v, p, sizeof v);
    return v;
}

INL void VK_NAME(store)(float *p, VF v) { memcpy(p, &v, sizeof v); }

INL VF VK_NAME(splat)(float x) { return (VF){0} + x; }

/// The first n (< L) elements of p, the rest `pad`.
INL VF VK_NAME(load_part)(const float *p, ptrdiff_t n, float pad) {
    float buffer[L];
    for (ptrdiff_t i = 0; i < L; i++) buffer[i] = i < n ? p[i] : pad;
    return VK_NAME(load)(buffer);
}

INL void VK_NAME(store_part)(float *p, VF v, ptrdiff_t n) {
    float buffer[L];
    VK_NAME(store)(buffer, v);
    for (ptrdiff_t i = 0; i < n; i++) p[i] = buffer[i];
}

/// m ? a : b per lane, m all ones or all zeros.
INL VF VK_NAME(select)(VI m, VF a, VF b) { return (VF)((m & (VI)a) | (~m & (VI)b)); }

INL VF VK_NAME(vmin)(VF a, VF b) { return VK_NAME(select)(a < b, a, b); }
INL VF VK_NAME(vmax)(VF a, VF b) { return VK_NAME(select)(a > b, a, b); }

/// Pairwise lane sum: the same tree at every width for the lanes it has.
INL float VK_NAME(hsum)(VF v) {
    float lanes[L];
    VK_NAME(store)(lanes, v);
    for (int width = L / 2; width > 0; width /= 2)
        for (int i = 0; i < width; i++) lanes[i] += lanes[i + width];
    return lanes[0];
}

INL float VK_NAME(hmax)(VF v) {
    float best = v[0];
    for (int i = 1; i < L; i++) best = v[i] > best ? v[i] : best;
    return best;
}

/// 2^x for the softmax's x ≤ 0 (Cephes exp2f polynomial, ≈ 2 ulp); exactly 0 below −126 (−∞ included);
/// NaN stays NaN.
INL VF VK_NAME(exp2_v)(VF x) {
    const float magic = 12582912.0f;
    VF shifted = x + magic;
    VF n = shifted - magic;
    VF f = x - n;
    VF p = VK_NAME(splat)(1.535336188319500e-4f);
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    VU bits = ((VU)shifted - (0x4B400000u - 127u)) << 23;
    return VK_NAME(select)(x < -126.0f, VK_NAME(splat)(0.0f), p * (VF)bits);
}
