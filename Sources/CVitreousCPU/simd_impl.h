// The vector helpers the per-level kernel files share (kernels_impl.h, attention_impl.h): types, loads and
// stores with padded tails, lane reductions, and the softmax's 2^x. Included once per level by each of them,
// with levels.h's VK_LANES, VK_TARGET and VK_NAME(x) defined; the including file ends with simd_impl_end.h.
// Every function is static inline, so each translation unit has its own copy.

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

/// v with its upper `width` lanes moved onto its lower ones (width = L/2, L/4, …, 1; the rest don't matter):
/// one shuffle each, where a loop over the lanes made 15 scalar extracts at L = 16.
#if VK_LANES == 16
#define VK_FOLD(v, width)                                                                                      \
    ((width) == 8   ? __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)     \
     : (width) == 4 ? __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15)     \
     : (width) == 2 ? __builtin_shufflevector(v, v, 2, 3, 0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)     \
                    : __builtin_shufflevector(v, v, 1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#elif VK_LANES == 8
#define VK_FOLD(v, width)                                                                                      \
    ((width) == 4   ? __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3)                                    \
     : (width) == 2 ? __builtin_shufflevector(v, v, 2, 3, 0, 1, 4, 5, 6, 7)                                    \
                    : __builtin_shufflevector(v, v, 1, 0, 2, 3, 4, 5, 6, 7))
#else
#define VK_FOLD(v, width)                                                                                      \
    ((width) == 2 ? __builtin_shufflevector(v, v, 2, 3, 0, 1) : __builtin_shufflevector(v, v, 1, 0, 2, 3))
#endif

/// Pairwise lane sum: lane i plus lane i + L/2, then + L/4 …: the same tree at every width for the lanes it
/// has.
INL float VK_NAME(hsum)(VF v) {
#pragma GCC unroll 4
    for (int width = L / 2; width > 0; width /= 2) v = v + VK_FOLD(v, width);
    return v[0];
}

INL float VK_NAME(hmax)(VF v) {
#pragma GCC unroll 4
    for (int width = L / 2; width > 0; width /= 2) v = VK_NAME(vmax)(VK_FOLD(v, width), v);
    return v[0];
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
