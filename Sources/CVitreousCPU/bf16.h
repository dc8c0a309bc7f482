// Rounding float32 to bf16, shared by the bf16 GEMM (gemm.c) and the attention's bf16 mode (attention.c).
#ifndef VK_BF16_H
#define VK_BF16_H

#include <stdint.h>
#include <string.h>

/// The bf16 bits of x rounded to nearest, ties to even (what PyTorch's and OpenVINO's conversions do); a NaN
/// stays a (quiet) NaN.
static inline uint32_t vk_bf16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

/// x rounded to the nearest bf16, as a float.
static inline float vk_bf16_round(float x) {
    const uint32_t u = vk_bf16_bits(x) << 16;
    float y;
    memcpy(&y, &u, sizeof y);
    return y;
}

#endif
