// libjpeg-turbo's TurboJPEG API: it catches libjpeg's errors (setjmp/longjmp) inside its own C frames and
// returns -1, so no longjmp ever crosses a Swift frame.
#ifndef VITREOUS_CTURBOJPEG_SHIM_H
#define VITREOUS_CTURBOJPEG_SHIM_H
#include <stddef.h>
#include <turbojpeg.h>
#endif
