// Instantiates kernels_impl.h per instruction-set level and picks one at run time. Never compiled with
// -march: the AVX code exists only inside functions carrying a target attribute, and runs only after
// __builtin_cpu_supports said the CPU (and the OS, which must save the wider registers) supports it.
#include "CVitreousCPU.h"

#include <math.h>
#include <string.h>

#define VK_CAT2(a, b) a##_##b
#define VK_CAT(a, b) VK_CAT2(a, b)

#define VK_LANES 4
#define VK_TARGET
#define VK_NAME(x) VK_CAT(x, baseline)
#define VK_LEVEL_NAME "baseline"
#include "kernels_impl.h"
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME

#if defined(__x86_64__)
#define VK_HAS_X86 1

#define VK_LANES 8
#define VK_TARGET __attribute__((target("avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx2)
#define VK_LEVEL_NAME "avx2"
#include "kernels_impl.h"
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME

#define VK_LANES 16
#define VK_TARGET __attribute__((target("avx512f,avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx512)
#define VK_LEVEL_NAME "avx512"
#include "kernels_impl.h"
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME
#endif

vk_level vk_detect(void) {
#ifdef VK_HAS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return VK_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return VK_LEVEL_AVX2;
#endif
    return VK_LEVEL_BASELINE;
}

int vk_supported(vk_level level) { return level >= VK_LEVEL_BASELINE && level <= vk_detect(); }

const vk_kernels *vk_kernels_for(vk_level level) {
    if (!vk_supported(level)) return &kernels_baseline;
    switch (level) {
#ifdef VK_HAS_X86
    case VK_LEVEL_AVX2: return &kernels_avx2;
    case VK_LEVEL_AVX512: return &kernels_avx512;
#endif
    default: return &kernels_baseline;
    }
}

void vk_patchify_rows(const float *images, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                      ptrdiff_t patch, ptrdiff_t first, ptrdiff_t last, float *out) {
    const ptrdiff_t gh = height / patch, gw = width / patch, row_length = channels * patch * patch;
    for (ptrdiff_t row = first; row < last; row++) {
        const ptrdiff_t b = row / (gh * gw), p = row % (gh * gw);
        const ptrdiff_t top = (p / gw) * patch, left = (p % gw) * patch;
        float *target = out + row * row_length;
        for (ptrdiff_t c = 0; c < channels; c++)
            for (ptrdiff_t ky = 0; ky < patch; ky++) {
                memcpy(target, images + ((b * channels + c) * height + top + ky) * width + left,
                       (size_t)patch * sizeof(float));
                target += patch;
            }
    }
}
