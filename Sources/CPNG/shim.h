// libpng's simplified API (png_image): no setjmp/longjmp ever crosses a Swift frame.
#ifndef VITREOUS_CPNG_SHIM_H
#define VITREOUS_CPNG_SHIM_H
#include <png.h>
#endif
