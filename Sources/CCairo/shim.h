// cairo (Debian: libcairo2-dev): 2-D drawing with text, to PNG, PDF and SVG. Included through its folder so
// that no pkg-config include flags are needed.
#ifndef VITREOUS_CCAIRO_SHIM_H
#define VITREOUS_CCAIRO_SHIM_H
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
#include <cairo/cairo-svg.h>
#endif
