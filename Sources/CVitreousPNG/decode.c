// Pillow's PNG plugin unpacks 16-bit RGB, RGBA and gray+alpha rows by keeping each sample's high byte
// (rawmodes "RGB;16B", "RGBA;16B", "LA;16B"), but opens 16-bit gray as mode "I;16", whose conversion to RGB
// clips each value to 255. It applies no gamma or colour profile. libpng's simplified API instead scales
// 16 bits to 8 through gamma, so decoding goes through the low-level API, with only the transforms that
// match Pillow.
#include "CVitreousPNG.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size, offset;
    char *message;
    size_t message_size;
} reader;

static void say(reader *r, const char *text) {
    if (r->message_size > 0) snprintf(r->message, r->message_size, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    say(png_get_error_ptr(png), text ? text : "libpng reported an error");
    png_longjmp(png, 1);
}

// libpng's default prints warnings (a bad iCCP profile, an ancillary chunk's CRC) to stderr; the pixels
// are still Pillow's, so they are dropped.
static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void on_read(png_structp png, png_bytep out, size_t length) {
    reader *r = png_get_io_ptr(png);
    if (r->size - r->offset < length) png_error(png, "the file ends early");
    memcpy(out, r->data + r->offset, length);
    r->offset += length;
}

static int start(reader *r, png_structp *png, png_infop *info) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, on_error, on_warning);
    *info = *png ? png_create_info_struct(*png) : NULL;
    if (!*info) {
        png_destroy_read_struct(png, NULL, NULL);
        say(r, "out of memory");
        return -1;
    }
    png_set_read_fn(*png, r, on_read);
    return 0;
}

int vpng_size(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height,
               char *message, size_t message_size) {
    reader r = {data, size, 0, message, message_size};
    png_structp png;
    png_infop info;
    if (start(&r, &png, &info) != 0) return -1;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    *width = png_get_image_width(png, info);
    *height = png_get_image_height(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

// One row of libpng's output (after the transforms below) to RGB.
static void to_rgb(const uint8_t *row, uint32_t width, int channels, int gray16, uint8_t *out) {
    for (uint32_t x = 0; x < width; x++, out += 3) {
        if (gray16) {
            unsigned value = (unsigned)row[2 * x] << 8 | row[2 * x + 1];
            out[0] = out[1] = out[2] = value > 255 ? 255 : (uint8_t)value;
        } else if (channels <= 2) {
            out[0] = out[1] = out[2] = row[x * channels];
        } else {
            memcpy(out, row + x * channels, 3);
        }
    }
}

int vpng_decode_rgb8(const uint8_t *data, size_t size, uint8_t *rgb, size_t rgb_size,
                     char *message, size_t message_size) {
    reader r = {data, size, 0, message, message_size};
    png_structp png;
    png_infop info;
    if (start(&r, &png, &info) != 0) return -1;
    // Set after setjmp and freed after a longjmp, so volatile: a register copy would be lost.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile pointers = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pointers);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if ((size_t)width * height * 3 != rgb_size) png_error(png, "the output buffer does not fit the image");
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int gray16 = type == PNG_COLOR_TYPE_GRAY && depth == 16;
    // palette_to_rgb also turns a palette's tRNS into alpha, which to_rgb drops; gray's tRNS stays unused.
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !gray16) png_set_strip_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || rowbytes != (size_t)width * channels * (gray16 ? 2 : 1))
        png_error(png, "unexpected row layout after libpng's transforms");
    // Adam7 files fill every row on each pass: the whole image is held; others go a row at a time.
    size_t rows = passes > 1 ? height : 1;
    pixels = malloc(rowbytes * rows);
    if (!pixels) png_error(png, "out of memory");
    if (passes > 1) {
        pointers = malloc(sizeof(png_bytep) * height);
        if (!pointers) png_error(png, "out of memory");
        for (uint32_t y = 0; y < height; y++) pointers[y] = pixels + rowbytes * y;
        png_read_image(png, pointers);
        for (uint32_t y = 0; y < height; y++)
            to_rgb(pixels + rowbytes * y, width, channels, gray16, rgb + (size_t)width * 3 * y);
    } else {
        for (uint32_t y = 0; y < height; y++) {
            png_read_row(png, pixels, NULL);
            to_rgb(pixels, width, channels, gray16, rgb + (size_t)width * 3 * y);
        }
    }
    // No png_read_end: the chunks after the pixels (text, a missing IEND) do not change them, and Pillow
    // does not read them either.
    free(pointers);
    free(pixels);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
