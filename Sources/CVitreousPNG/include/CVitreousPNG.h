// PNG decoding to 8-bit RGB as Pillow's Image.open(f).convert("RGB") gives it, through libpng's low-level
// read API. libpng reports errors by longjmp; the setjmp lives here, in C, so that no longjmp ever crosses a
// Swift frame. Both functions return 0 on success, or -1 with a NUL-terminated one-line reason in `message`.
// The prefix is vpng_, not vitreous_: libvitreous.so exports every vitreous_* symbol as its C API.
#ifndef VITREOUS_CVITREOUSPNG_H
#define VITREOUS_CVITREOUSPNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Reads the header of the PNG held in `data` (signature included) and gives its width and height.
int vpng_size(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height,
               char *message, size_t message_size);

/// Decodes every pixel into `rgb`, which holds exactly width·height·3 bytes (`rgb_size`, checked) for the
/// size vpng_size gave: 16-bit RGB, RGBA and gray+alpha samples keep their high byte, 16-bit gray
/// is clipped to 255, palettes and 1/2/4-bit gray are expanded, alpha and tRNS are dropped, and gAMA,
/// sRGB, cHRM, iCCP and sBIT are ignored.
int vpng_decode_rgb8(const uint8_t *data, size_t size, uint8_t *rgb, size_t rgb_size,
                     char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
