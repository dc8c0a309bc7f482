/* Compiled into libvitreous.so, so that the C compiler reads include/vitreous.h on every build and checks
 * what the Swift side assumes about the C types: the info structs are filled as arrays of int32_t, and
 * vitreous_status travels as an int32_t. */
#include "vitreous.h"

#define VITREOUS_ASSERT(name, condition) typedef char vitreous_assert_##name[(condition) ? 1 : -1]

VITREOUS_ASSERT(model_info_is_8_int32, sizeof(vitreous_model_info) == 8 * sizeof(int32_t));
VITREOUS_ASSERT(result_info_is_8_int32, sizeof(vitreous_result_info) == 8 * sizeof(int32_t));
VITREOUS_ASSERT(status_is_int32, sizeof(vitreous_status) == sizeof(int32_t));
VITREOUS_ASSERT(size_t_is_pointer_sized, sizeof(size_t) == sizeof(void *));
VITREOUS_ASSERT(batch_info_is_4_int32, sizeof(vitreous_batch_info) == 4 * sizeof(int32_t));
