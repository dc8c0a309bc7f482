// libwebp's simple decoding API (no callbacks, no longjmp).
#ifndef VITREOUS_CWEBP_SHIM_H
#define VITREOUS_CWEBP_SHIM_H
#include <webp/decode.h>
#endif
