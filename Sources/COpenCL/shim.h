// OpenCL 1.2 is the level every vendor's driver still implements; newer entry points are not used.
#ifndef VITREOUS_COPENCL_SHIM_H
#define VITREOUS_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif
