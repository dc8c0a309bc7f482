#ifndef VITREOUS_CCLBLAST_SHIM_H
#define VITREOUS_CCLBLAST_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#endif
