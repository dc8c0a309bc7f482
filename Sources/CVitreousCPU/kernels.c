// Instantiates kernels_impl.h per instruction-set level (levels.h) and picks one at run time; detects the
// levels this CPU has.
#include "CVitreousCPU.h"

#include <math.h>
#include <string.h>

#define VK_LEVEL_IMPL "kernels_impl.h"
#include "levels.h"

vk_level vk_detect(void) {
#ifdef VK_HAS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return VK_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return VK_LEVEL_AVX2;
#endif
    return VK_LEVEL_BASELINE;
}

int vk_supported(vk_level level) { return level >= VK_LEVEL_BASELINE && level <= vk_detect(); }

const vk_kernels *vk_kernels_for(vk_level level) { return VK_LEVEL_ADDRESS(level, kernels); }

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
