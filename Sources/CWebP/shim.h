// libwebp's simple decoding API (no callbacks, no longjmp), and libwebpdemux's animation decoder for the
// first frame of an animated file.
#ifndef VITREOUS_CWEBP_SHIM_H
#define VITREOUS_CWEBP_SHIM_H
#include <webp/decode.h>
#include <webp/demux.h>
#endif
