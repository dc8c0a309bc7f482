// OpenBLAS's CBLAS interface (Debian: libopenblas-dev installs it as <cblas.h> through alternatives).
#ifndef VITREOUS_CBLAS_SHIM_H
#define VITREOUS_CBLAS_SHIM_H
#include <cblas.h>
#endif
