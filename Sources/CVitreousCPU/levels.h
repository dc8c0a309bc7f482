// Instantiates the per-level file named by VK_LEVEL_IMPL (a quoted header name) once per instruction-set
// level this architecture has: the portable baseline everywhere, AVX2 + FMA and AVX-512F on x86-64. Each copy
// sees the level's
//   VK_LEVEL_INDEX  0, 1 or 2 (vk_level's value), for picking tunables in #if and in expressions;
//   VK_LANES        floats per vector;
//   VK_TARGET       the target attribute of its functions (nothing for the baseline);
//   VK_NAME(x)      x with the level's suffix (x_baseline, x_avx2, x_avx512);
//   VK_LEVEL_NAME   "baseline", "avx2" or "avx512".
// Never -march: the AVX code exists only inside functions carrying a target attribute, and runs only after
// vk_detect (kernels.c) said the CPU, and the OS that must save the wider registers, support it.
// After the instances, VK_LEVEL_ADDRESS(level, x) is &x_<level> for a level this CPU supports, else
// &x_baseline: each file's vk_…_for.

#ifndef VK_LEVEL_IMPL
#error "define VK_LEVEL_IMPL, the per-level file to instantiate, before including levels.h"
#endif

#define VK_CAT2(a, b) a##_##b
#define VK_CAT(a, b) VK_CAT2(a, b)

#define VK_LEVEL_INDEX 0
#define VK_LANES 4
#define VK_TARGET
#define VK_NAME(x) VK_CAT(x, baseline)
#define VK_LEVEL_NAME "baseline"
#include VK_LEVEL_IMPL
#undef VK_LEVEL_INDEX
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME

#if defined(__x86_64__)
#define VK_HAS_X86 1

#define VK_LEVEL_INDEX 1
#define VK_LANES 8
#define VK_TARGET __attribute__((target("avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx2)
#define VK_LEVEL_NAME "avx2"
#include VK_LEVEL_IMPL
#undef VK_LEVEL_INDEX
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME

#define VK_LEVEL_INDEX 2
#define VK_LANES 16
#define VK_TARGET __attribute__((target("avx512f,avx2,fma")))
#define VK_NAME(x) VK_CAT(x, avx512)
#define VK_LEVEL_NAME "avx512"
#include VK_LEVEL_IMPL
#undef VK_LEVEL_INDEX
#undef VK_LANES
#undef VK_TARGET
#undef VK_NAME
#undef VK_LEVEL_NAME

#define VK_LEVEL_ADDRESS(level, x)                                                                             \
    (!vk_supported(level) || (level) == VK_LEVEL_BASELINE ? &VK_CAT(x, baseline)                               \
     : (level) == VK_LEVEL_AVX2                           ? &VK_CAT(x, avx2)                                   \
                                                          : &VK_CAT(x, avx512))
#else
#define VK_LEVEL_ADDRESS(level, x) (&VK_CAT(x, baseline))
#endif
