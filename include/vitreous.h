/*
 * vitreous.h — the C API of Vitreous: DINOv2 Vision Transformers on OpenCL or the CPU, with per-layer
 * token norms, CLS attention and repair of high-norm artifact tokens.
 *
 * C99. Link with -lvitreous (pkg-config: vitreous; CMake: find_package(Vitreous), target Vitreous::vitreous).
 *
 * Conventions, true of every function below unless it says otherwise:
 *
 *  - Every function returns a vitreous_status. VITREOUS_OK (0) is success; on any other value nothing was
 *    written to output buffers except where stated, output handles are set to NULL, and
 *    vitreous_last_error() describes the failure. No call aborts the process on bad input: NULL pointers,
 *    buffers that are too small, sizes that overflow, freed or made-up handles and unknown devices are all
 *    reported as status codes. What C cannot tell the library is trusted: that a buffer really holds the
 *    count or size passed with it.
 *  - Handles (vitreous_model, vitreous_result, vitreous_options, vitreous_registers, vitreous_image,
 *    vitreous_analysis) are opaque and owned by the caller from the call that creates
 *    them until the matching *_free call. They are never dereferenced by the library: a freed handle passed
 *    again gives VITREOUS_ERROR_INVALID_HANDLE (so does freeing it twice), as does a pointer that was never a
 *    handle, or a handle of another kind. Handles are not reused while the process lives.
 *  - Buffers are owned by the caller. A read call takes the buffer's capacity in elements (not bytes unless
 *    stated) and fails with VITREOUS_ERROR_BUFFER_SIZE when it is smaller than needed; a larger buffer is
 *    fine and its tail is left untouched. vitreous_result_get_info() gives every size in advance.
 *  - Thread safety: every function may be called from any thread. A model may encode on several threads at
 *    once; freeing a handle while another thread uses it is safe (the object lives until that call ends).
 *  - Strings are UTF-8 and NUL-terminated.
 */
#ifndef VITREOUS_H
#define VITREOUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the library this header belongs to; vitreous_version() gives the linked one. */
#define VITREOUS_VERSION_STRING "0.1.0"

/** Status codes. The numbers are part of the ABI. */
typedef enum vitreous_status {
    VITREOUS_OK = 0,
    /** An argument is out of range: a size of zero, unknown flag bits, a layer that does not exist, an image
     *  side that is not a multiple of the patch size without VITREOUS_ENCODE_RESIZE, a NaN input value. */
    VITREOUS_ERROR_INVALID_ARGUMENT = 1,
    /** A required pointer is NULL. */
    VITREOUS_ERROR_NULL_POINTER = 2,
    /** A caller's buffer is smaller than the call needs (or its size is not a size). */
    VITREOUS_ERROR_BUFFER_SIZE = 3,
    /** A handle that is freed, of the wrong kind, or not a handle at all. */
    VITREOUS_ERROR_INVALID_HANDLE = 4,
    /** A device index outside -1 ... vitreous_device_count() - 1, or a device that cannot be started. */
    VITREOUS_ERROR_UNKNOWN_DEVICE = 5,
    /** A file that cannot be opened, mapped or read. */
    VITREOUS_ERROR_IO = 6,
    /** A file that is not a DINOv2 checkpoint Vitreous can load (bad safetensors, unknown keys, shapes). */
    VITREOUS_ERROR_MODEL = 7,
    /** An image that cannot be used (too large, cannot be resized). */
    VITREOUS_ERROR_IMAGE = 8,
    /** An OpenCL or CLBlast call failed, a kernel did not compile, or the device was lost (the backend made a new
     *  queue; results of the failed call are lost, later calls run normally); the message has the OpenCL status. */
    VITREOUS_ERROR_BACKEND = 9,
    /** Host or device memory ran out. */
    VITREOUS_ERROR_OUT_OF_MEMORY = 10,
    /** Anything else; the message says what. Please report it. */
    VITREOUS_ERROR_INTERNAL = 11
} vitreous_status;

/** An encoder with its weights on one device. Create with vitreous_model_load() or
 *  vitreous_model_create_demo(); free with vitreous_model_free(). */
typedef struct vitreous_model vitreous_model;

/** The output of one encoded image, or of a batch of B images (vitreous_encode_batch_rgb8()), held on the host.
 *  Independent of its model: it may outlive it. Free with vitreous_result_free(). */
typedef struct vitreous_result vitreous_result;

/** A model's configuration (eight int32_t, in this order). */
typedef struct vitreous_model_info {
    int32_t hidden_size;      /**< D: channels per token (384 for ViT-S/14). */
    int32_t depth;            /**< transformer blocks. */
    int32_t heads;            /**< attention heads. */
    int32_t patch_size;       /**< pixels per patch side (14 for DINOv2). */
    int32_t register_count;   /**< trained register tokens (0 or 4 for DINOv2). */
    int32_t mlp_hidden_size;  /**< MLP hidden units per block. */
    int32_t native_image_size;/**< side in pixels of the grid the position embeddings were trained for. */
    int32_t device;           /**< the device index the weights live on (never -1). */
} vitreous_model_info;

/** An encoded image's sizes (eight int32_t, in this order). Tokens are ordered CLS, registers, patches. */
typedef struct vitreous_result_info {
    int32_t hidden_size;      /**< D. */
    int32_t grid_height;      /**< patch rows, gh = image height / patch size. */
    int32_t grid_width;       /**< patch columns, gw. */
    int32_t token_count;      /**< T = 1 + registers + gh * gw. */
    int32_t first_patch;      /**< index of the first patch token, 1 + registers. */
    int32_t layer_count;      /**< layers with token norms (depth + 1), or 0 without VITREOUS_ENCODE_TOKEN_NORMS. */
    int32_t heads;            /**< attention heads (rows of the CLS attention). */
    int32_t has_cls_attention;/**< 1 when encoded with VITREOUS_ENCODE_CLS_ATTENTION, else 0. */
} vitreous_result_info;

/* Flags of vitreous_encode_rgb8() and vitreous_encode_float(); combine with |. 0 gives tokens only. */
/** Keep every layer's token norms (needed by the detection and repair calls). Cheap: one fused kernel. */
#define VITREOUS_ENCODE_TOKEN_NORMS 1u
/** Keep the last block's CLS attention, per head. */
#define VITREOUS_ENCODE_CLS_ATTENTION 2u
/** Resize each side to the nearest multiple of the patch size (Pillow's 8-bit bicubic, as torchvision
 *  resizes a PIL image), as `vitreous encode --size auto`. Without it each side must already be a multiple
 *  of the patch size. */
#define VITREOUS_ENCODE_RESIZE 4u

/* Layouts of vitreous_encode_float(). */
/** height x width x 3 floats, RGB in [0, 1] (sRGB, as 8-bit values / 255), rows top to bottom: an image,
 *  preprocessed exactly as vitreous_encode_rgb8() does (optional resize, ImageNet mean/std). */
#define VITREOUS_LAYOUT_HWC_RGB 0
/** 3 x height x width floats (planes R, G, B), already normalised with ImageNet mean (0.485, 0.456, 0.406)
 *  and std (0.229, 0.224, 0.225): the encoder's input as is. Sides must be multiples of the patch size;
 *  VITREOUS_ENCODE_RESIZE is rejected. */
#define VITREOUS_LAYOUT_CHW_NORMALISED 1

/* ---- The library ---------------------------------------------------------------------------------- */

/** The linked library's version, e.g. "0.1.0". A static string; never NULL, never freed. */
const char *vitreous_version(void);

/** The message of the last call made on this thread: "" after a success, else what went wrong and which
 *  function said so. Never NULL. The string belongs to the library and stays valid until this thread makes
 *  its next Vitreous call; copy it to keep it. */
const char *vitreous_last_error(void);

/** The name of a status code ("VITREOUS_ERROR_BUFFER_SIZE"), or "VITREOUS_ERROR_UNKNOWN" for a number that
 *  is not one. A static string; never NULL. Does not change vitreous_last_error(). */
const char *vitreous_status_name(vitreous_status status);

/* ---- Logging ------------------------------------------------------------------------------------- *
 * The library prints nothing by default. A callback, or VITREOUS_LOG=debug|info|warning|error in the
 * environment (those levels and above, to stderr, one "vitreous: LEVEL: message" line each), turns its log
 * messages on: which backend was chosen and why (info), OpenCL program builds (debug). A Swift program
 * that also links Vitreous's Swift libraries and bootstraps swift-log itself must not call into this API. */

/** Log levels passed to a vitreous_log_callback. */
typedef enum vitreous_log_level {
    VITREOUS_LOG_DEBUG = 0,
    VITREOUS_LOG_INFO = 1,
    VITREOUS_LOG_WARNING = 2,
    VITREOUS_LOG_ERROR = 3
} vitreous_log_level;

/** Receives one log message: its level (a vitreous_log_level), the text (valid only during the call) and the
 *  user_data given to vitreous_set_log_callback. Called on the thread that logs; it must not call Vitreous. */
typedef void (*vitreous_log_callback)(int32_t level, const char *message, void *user_data);

/** Sends every later log message, debug and above, to callback (NULL turns it off again). Independent of
 *  VITREOUS_LOG. Set it before the first vitreous_model_load to see which backend was chosen. */
void vitreous_set_log_callback(vitreous_log_callback callback, void *user_data);

/* ---- Devices -------------------------------------------------------------------------------------- *
 * Device indices: 0 is the CPU backend (OpenBLAS and vectorised Swift), 1 ... count - 1 are the OpenCL
 * devices of every platform in driver order (OpenCL device k has index k + 1), and -1 asks for the default
 * (the first OpenCL GPU or accelerator, else the CPU backend; VITREOUS_DEVICE=cpu|opencl|opencl:N overrides). */

/** Writes the number of devices (at least 1: the CPU) to *count. Errors: NULL_POINTER. */
vitreous_status vitreous_device_count(int32_t *count);

/** Writes the default device's index (never -1) to *index. Errors: NULL_POINTER. */
vitreous_status vitreous_default_device(int32_t *index);

/** Writes device `index`'s name ("cpu", or "opencl:0 NAME (KIND, PLATFORM)") to buffer as a NUL-terminated
 *  string of at most 256 bytes. capacity: bytes available in buffer; 256 always suffice.
 *  Errors: UNKNOWN_DEVICE (index -1 is accepted and names the default), NULL_POINTER, BUFFER_SIZE. */
vitreous_status vitreous_device_name(int32_t index, char *buffer, size_t capacity);

/* ---- Models --------------------------------------------------------------------------------------- */

/** Loads a DINOv2-family checkpoint (.safetensors: Hugging Face Dinov2Model / Dinov2WithRegistersModel or
 *  original facebookresearch keys; layout and configuration inferred, config.json beside it read for the
 *  head count) onto device `device` (-1: default). On success *model is a new handle owned by the caller.
 *  Errors: NULL_POINTER (path, model), INVALID_ARGUMENT (empty path), UNKNOWN_DEVICE, IO (missing or
 *  unreadable file), MODEL (not a checkpoint Vitreous understands), BACKEND, OUT_OF_MEMORY. */
vitreous_status vitreous_model_load(const char *path, int32_t device, vitreous_model **model);

/** Creates the model of `vitreous demo`: a small DINOv2-style ViT (D 64, 6 blocks, 4 heads, patch 14) with
 *  seeded weights and a planted artifact mechanism (a register neuron in block 2 fires on flat patches).
 *  Needs no files. On success *model is a new handle owned by the caller.
 *  Errors: NULL_POINTER, UNKNOWN_DEVICE, BACKEND, OUT_OF_MEMORY. */
vitreous_status vitreous_model_create_demo(int32_t device, vitreous_model **model);

/** Number formats of a model's linear layers and attention products (see the Precision article). */
typedef enum vitreous_precision {
    /** Everything float32 (what vitreous_model_load() and vitreous_model_create_demo() give). */
    VITREOUS_PRECISION_FP32 = 0,
    /** CPU: linear weights rounded once to bfloat16 and packed in half the memory, activations rounded to bf16
     *  as the GEMM and attention read them, float32 sums; fast on CPUs with AVX512-BF16, emulated elsewhere. */
    VITREOUS_PRECISION_BF16 = 1,
    /** OpenCL: linear weights stored as half on the device, float32 arithmetic. */
    VITREOUS_PRECISION_FP16 = 2,
    /** BF16 on a CPU with native bf16 dot products, else FP32. */
    VITREOUS_PRECISION_AUTO = 3
} vitreous_precision;

/** vitreous_model_load() with the linear layers in `precision` (a vitreous_precision), converted once here.
 *  Errors: those of vitreous_model_load(), and INVALID_ARGUMENT for a precision that is not one of
 *  vitreous_precision or that the device does not run (BF16 off the CPU, FP16 on the CPU). */
vitreous_status vitreous_model_load_with_precision(const char *path, int32_t device, int32_t precision,
                                                   vitreous_model **model);

/** vitreous_model_create_demo() with the linear layers in `precision`; errors as
 *  vitreous_model_load_with_precision(). */
vitreous_status vitreous_model_create_demo_with_precision(int32_t device, int32_t precision, vitreous_model **model);

/** The precision a model computes in (a vitreous_precision, never AUTO) into *precision.
 *  Errors: NULL_POINTER, INVALID_HANDLE. */
vitreous_status vitreous_model_get_precision(const vitreous_model *model, int32_t *precision);

/** Writes the model's configuration to *info. Errors: NULL_POINTER, INVALID_HANDLE. */
vitreous_status vitreous_model_get_info(const vitreous_model *model, vitreous_model_info *info);

/** Frees a model. NULL is accepted and does nothing (as free(NULL)). Results made with it stay valid.
 *  Errors: INVALID_HANDLE (already freed, or not a model). */
vitreous_status vitreous_model_free(vitreous_model *model);

/** Writes the `vitreous demo` image — 224 x 224 RGB8, textured noise with four flat patches where the demo
 *  model forms artifact tokens — to pixels (rows top to bottom, 3 bytes per pixel, no padding) and its size
 *  to *width and *height. capacity: bytes available, at least 224 * 224 * 3. With pixels NULL and capacity 0
 *  only the size is written (it is written on BUFFER_SIZE too). Errors: NULL_POINTER, BUFFER_SIZE. */
vitreous_status vitreous_demo_image_rgb8(uint8_t *pixels, size_t capacity, int32_t *width, int32_t *height);

/* ---- Encoding ------------------------------------------------------------------------------------- */

/** Encodes one 8-bit RGB image. pixels: height rows of width * 3 bytes (R, G, B), each row starting `stride`
 *  bytes after the previous one (0 means width * 3); size: bytes readable at pixels, at least
 *  (height - 1) * stride + width * 3. Preprocessing is that of the `vitreous` command: values / 255, resize
 *  as flags say (see VITREOUS_ENCODE_RESIZE), ImageNet mean/std. On success *result is a new handle owned
 *  by the caller. At most 100 000 000 pixels.
 *  Errors: NULL_POINTER, INVALID_HANDLE, INVALID_ARGUMENT (sizes, stride, flags, sides not multiples of the
 *  patch size), BUFFER_SIZE (size too small), IMAGE, BACKEND, OUT_OF_MEMORY. */
vitreous_status vitreous_encode_rgb8(const vitreous_model *model, const uint8_t *pixels, size_t size,
                                     int32_t width, int32_t height, size_t stride, uint32_t flags,
                                     vitreous_result **result);

/** Encodes one image given as floats in `layout` (VITREOUS_LAYOUT_HWC_RGB or VITREOUS_LAYOUT_CHW_NORMALISED);
 *  count: floats readable at values, at least width * height * 3. Every value must be finite.
 *  Errors: as vitreous_encode_rgb8(), and INVALID_ARGUMENT for an unknown layout or a non-finite value. */
vitreous_status vitreous_encode_float(const vitreous_model *model, const float *values, size_t count,
                                      int32_t width, int32_t height, int32_t layout, uint32_t flags,
                                      vitreous_result **result);

/* ---- Reading a result ----------------------------------------------------------------------------- *
 * Each call copies into a caller buffer of `count` floats and fails with BUFFER_SIZE when count is smaller
 * than the size given; NULL_POINTER for a NULL buffer, INVALID_HANDLE for a bad result. The sizes below are
 * per image: a result of B images (vitreous_result_get_batch_info()) writes B times as many, image after
 * image (image b's values follow image b - 1's). */

/** Writes the result's sizes to *info. Errors: NULL_POINTER, INVALID_HANDLE. */
vitreous_status vitreous_result_get_info(const vitreous_result *result, vitreous_result_info *info);

/** The CLS token after the final layer norm: hidden_size floats. */
vitreous_status vitreous_result_cls(const vitreous_result *result, float *out, size_t count);

/** The patch tokens after the final layer norm on their grid: grid_height * grid_width * hidden_size floats,
 *  row-major [row][column][channel]. */
vitreous_status vitreous_result_patches(const vitreous_result *result, float *out, size_t count);

/** Every token after the final layer norm (CLS, registers, patches): token_count * hidden_size floats. */
vitreous_status vitreous_result_tokens(const vitreous_result *result, float *out, size_t count);

/** The L2 norm of every token in one layer: token_count floats. layer 0 is the embeddings, k (1 ... depth)
 *  the output of block k, -1 the last block's output. Needs VITREOUS_ENCODE_TOKEN_NORMS (else
 *  INVALID_ARGUMENT, as for a layer outside -1 ... layer_count - 1). */
vitreous_status vitreous_result_token_norms(const vitreous_result *result, int32_t layer, float *out, size_t count);

/** The last block's softmax attention of the CLS query: heads * token_count floats, row h is head h and
 *  sums to 1. Needs VITREOUS_ENCODE_CLS_ATTENTION (else INVALID_ARGUMENT). */
vitreous_status vitreous_result_cls_attention(const vitreous_result *result, float *out, size_t count);

/** Frees a result. NULL is accepted and does nothing. Errors: INVALID_HANDLE (already freed, or not a result). */
vitreous_status vitreous_result_free(vitreous_result *result);


/* ---- Encode options ------------------------------------------------------------------------------- *
 * What the batch calls compute and how they resize, as a handle (so that options added later change no
 * struct layout). A NULL options handle means the defaults: no resize (sides must be multiples of the patch
 * size), tokens only. Options belong to no model; they are checked against the model when used. Setting
 * options while another thread encodes with them is safe: each call reads them once. */

typedef struct vitreous_options vitreous_options;
/** Test-time-register neurons (see "Test-time registers" below). */
typedef struct vitreous_registers vitreous_registers;

/** Resize modes of vitreous_options_set_resize(). Every mode resamples with Pillow's 8-bit bicubic, as
 *  torchvision does on a PIL image, so inputs match the PyTorch pipeline and the `vitreous` command pixel
 *  for pixel. */
/** No resize (the default): each side must be a multiple of the patch size. */
#define VITREOUS_RESIZE_NONE 0
/** DINOv2's evaluation transform, the `vitreous` command's default (`--size N`): shorter side to
 *  N * 256 / 224, then the central N x N (offsets rounded as torchvision's CenterCrop). width = N, a multiple of
 *  the patch size; height 0 or N. */
#define VITREOUS_RESIZE_CENTER_CROP 1
/** As VITREOUS_RESIZE_CENTER_CROP with the crop offset floored, as Hugging Face's image processor does
 *  (`--size N --crop transformers`; one pixel apart on odd margins). */
#define VITREOUS_RESIZE_CENTER_CROP_FLOOR 2
/** Each side to the nearest multiple of the patch size, aspect kept (`--size auto`, VITREOUS_ENCODE_RESIZE);
 *  width and height 0. */
#define VITREOUS_RESIZE_AUTO 3
/** Exactly width x height (`--size WxH`), both multiples of the patch size. */
#define VITREOUS_RESIZE_EXACT 4
/* For a DINOv3 model, CENTER_CROP, CENTER_CROP_FLOOR and EXACT resize the whole image to N x N (or width x
 *  height) with no crop, antialiased bilinear in float, as its Hugging Face image processor and `--size` do. */

/** Creates options holding the defaults. On success *options is a new handle owned by the caller.
 *  Errors: NULL_POINTER. */
vitreous_status vitreous_options_create(vitreous_options **options);

/** Frees options. NULL is accepted and does nothing. Results made with them are unaffected.
 *  Errors: INVALID_HANDLE. */
vitreous_status vitreous_options_free(vitreous_options *options);

/** What to compute beside the tokens: VITREOUS_ENCODE_TOKEN_NORMS | VITREOUS_ENCODE_CLS_ATTENTION (0: none).
 *  Errors: INVALID_HANDLE, NULL_POINTER, INVALID_ARGUMENT (unknown bits, or VITREOUS_ENCODE_RESIZE: use
 *  vitreous_options_set_resize()). */
vitreous_status vitreous_options_set_flags(vitreous_options *options, uint32_t flags);

/** How images are resized (a VITREOUS_RESIZE_* mode and its sizes, see each mode; unused sizes are 0). Whether
 *  the sizes are multiples of the model's patch size is checked when encoding (INVALID_ARGUMENT there).
 *  Errors: INVALID_HANDLE, NULL_POINTER, INVALID_ARGUMENT (unknown mode, sizes outside 1 ... 100000, sizes
 *  given to a mode that takes none). */
vitreous_status vitreous_options_set_resize(vitreous_options *options, int32_t mode, int32_t width, int32_t height);

/** Keep the hidden states (the residual stream before the final norm) of these layers, numbered as in
 *  vitreous_result_token_norms(): 0 the embeddings, k the output of block k. count 0 (layers may then be NULL)
 *  keeps none. Layers beyond the model's depth are refused when encoding (INVALID_ARGUMENT there).
 *  Errors: INVALID_HANDLE, NULL_POINTER, BUFFER_SIZE (count not a size), INVALID_ARGUMENT (a negative layer,
 *  a layer listed twice, more than 4096). */
vitreous_status vitreous_options_set_layers(vitreous_options *options, const int32_t *layers, size_t count);

/** Encode with test-time registers (see vitreous_registers_load()): extra tokens after the patches take the
 *  register neurons' activations, so artifacts form there instead of on the patches. The registers are copied;
 *  the handle may be freed afterwards. NULL encodes without. Errors: INVALID_HANDLE, NULL_POINTER. */
vitreous_status vitreous_options_set_registers(vitreous_options *options, const vitreous_registers *registers);

/* ---- Batches -------------------------------------------------------------------------------------- */

/** Encodes `batch` 8-bit RGB images of one size, packed one after another (batch * height * width * 3 bytes,
 *  rows top to bottom, no padding; size: bytes readable at pixels). Each image is resized as options say and
 *  normalised with ImageNet mean/std, exactly as `vitreous encode` prepares a decoded file, so a batch encoded
 *  with VITREOUS_RESIZE_CENTER_CROP 224 gives the command's default features. Every image must come out at one
 *  size, which the resize modes other than AUTO guarantee. options NULL: the defaults. On success *result is a
 *  new handle holding the batch. At most 100 000 000 pixels per image and 16 times that per batch.
 *  Errors: NULL_POINTER, INVALID_HANDLE (model, options), INVALID_ARGUMENT (batch < 1, sizes, a side that is
 *  not a multiple of the patch size without a resize, resize sizes, options that do not fit the model),
 *  BUFFER_SIZE, IMAGE, BACKEND, OUT_OF_MEMORY. */
vitreous_status vitreous_encode_batch_rgb8(const vitreous_model *model, const uint8_t *pixels, size_t size,
                                           int32_t batch, int32_t width, int32_t height,
                                           const vitreous_options *options, vitreous_result **result);

/** Encodes `batch` images given as floats in `layout`, image after image: VITREOUS_LAYOUT_HWC_RGB (values in
 *  [0, 1], resized as options say, as 8-bit values are) or VITREOUS_LAYOUT_CHW_NORMALISED (the encoder's
 *  input as is, [B, 3, H, W]; a resize is refused). count: floats readable at values, at least
 *  batch * width * height * 3. Every value must be finite.
 *  Errors: as vitreous_encode_batch_rgb8(), and INVALID_ARGUMENT for an unknown layout or a non-finite value. */
vitreous_status vitreous_encode_batch_float(const vitreous_model *model, const float *values, size_t count,
                                            int32_t batch, int32_t width, int32_t height, int32_t layout,
                                            const vitreous_options *options, vitreous_result **result);

/** What a batch result holds beyond vitreous_result_info (four int32_t, in this order). */
typedef struct vitreous_batch_info {
    int32_t image_count;             /**< B: images in the result (1 for vitreous_encode_rgb8()). */
    int32_t register_count;          /**< trained register tokens, after CLS. */
    int32_t test_time_register_count;/**< test-time registers, after the patches (included in token_count). */
    int32_t hidden_state_count;      /**< layers whose hidden states were kept (vitreous_options_set_layers()). */
} vitreous_batch_info;

/** Writes the result's batch sizes to *info. Errors: NULL_POINTER, INVALID_HANDLE. */
vitreous_status vitreous_result_get_batch_info(const vitreous_result *result, vitreous_batch_info *info);

/** The hidden state of `layer` (one of those passed to vitreous_options_set_layers(), else INVALID_ARGUMENT):
 *  token_count * hidden_size floats per image, before the final layer norm. */
vitreous_status vitreous_result_hidden_state(const vitreous_result *result, int32_t layer, float *out, size_t count);

/** Poolings of vitreous_result_pooled_state(): the CLS token, or the mean of the patch tokens. */
#define VITREOUS_POOLING_CLS 0
#define VITREOUS_POOLING_MEAN_PATCH 1

/** The hidden state of `layer` (as in vitreous_result_hidden_state()) pooled per image: image_count *
 *  hidden_size floats ([image][channel]), the CLS token or the mean patch token of the residual stream, as
 *  `vitreous analyze` compares them (CKA, NCC, k-NN). For [layers, batch, D] call it once per layer.
 *  Errors: NULL_POINTER, INVALID_HANDLE, INVALID_ARGUMENT (layer not kept, unknown pooling), BUFFER_SIZE. */
vitreous_status vitreous_result_pooled_state(const vitreous_result *result, int32_t layer, int32_t pooling,
                                             float *out, size_t count);

/* ---- Layer-by-layer analysis ---------------------------------------------------------------------- *
 * `vitreous analyze` on images in memory: the same library code and the same analysis.json document (see
 * the article "Analysing a model"). Layer 0 is the embedding output, layer L the output of block L; attention
 * measures belong to blocks 1 ... depth. Representation measures use the CLS token and the mean patch token of
 * the residual stream (vitreous_result_pooled_state()). */

/** A finished analysis: its analysis.json and its arrays. Independent of its model. Free with
 *  vitreous_analysis_free(). */
typedef struct vitreous_analysis vitreous_analysis;

/** Analyses `batch` images packed and resized as vitreous_encode_batch_rgb8() takes them (of options only the
 *  resize and the test-time registers are used; NULL: images at their size), streaming them through the
 *  model 8 at a time. Every image must be encoded on one patch grid.
 *  metrics: comma-separated "attention-distance,entropy,cka,frequency,ncc,knn,segmentation", or NULL / ""
 *    for all the data allows (ncc and knn with labels, segmentation with masks).
 *  labels: NULL, or `batch` class indices 0, 1, 2, ... (needed by ncc and knn; at least two classes with at
 *    least two training images each).
 *  validation: NULL (no split: NCC is measured on the training images and k-NN leaves each image out of its
 *    own neighbours), or `batch` bytes, non-zero for a validation image. Needs labels.
 *  masks: NULL, or ground-truth masks on the patch grid the images are encoded on (after the resize): per
 *    image grid_height * grid_width bytes, row-major, non-zero for foreground; mask_size must be exactly
 *    batch * grid_height * grid_width. Scored by segmentation (DINO's 60 % CLS-attention masks, Jaccard).
 *  k: neighbours of the weighted k-NN vote (0: 20; at most the training images a query can use);
 *  temperature: of the vote weights exp(s / temperature) (0: 0.07); cka_minibatch: images per minibatch of
 *    the unbiased CKA estimator (0: 256, else at least 4).
 *  On success *analysis is a new handle owned by the caller.
 *  Errors: those of vitreous_encode_batch_rgb8(), and INVALID_ARGUMENT for an unknown metric, ncc/knn without
 *  labels, segmentation without masks, masks of the wrong size, a class with fewer than two training images,
 *  k too large, too few images for the CKA minibatch, or images on different patch grids. */
vitreous_status vitreous_analyze_rgb8(const vitreous_model *model, const uint8_t *pixels, size_t size,
                                      int32_t batch, int32_t width, int32_t height, const vitreous_options *options,
                                      const char *metrics, const int32_t *labels, const uint8_t *validation,
                                      const uint8_t *masks, size_t mask_size, int32_t k, double temperature,
                                      int32_t cka_minibatch, vitreous_analysis **analysis);

/** Writes the analysis.json document (UTF-8, NUL-terminated; the keys of `vitreous analyze`'s file, with
 *  "given"/"none" for labels, split and masks in "options", undefined values null) to buffer and its size in
 *  bytes, NUL included, to *needed (when not NULL; written on BUFFER_SIZE too). With buffer NULL, capacity 0
 *  and needed not NULL only the size is written. capacity: bytes available in buffer.
 *  Errors: NULL_POINTER, INVALID_HANDLE, BUFFER_SIZE. */
vitreous_status vitreous_analysis_json(const vitreous_analysis *analysis, char *buffer, size_t capacity,
                                       size_t *needed);

/** One measure as a row-major matrix of doubles (NaN where undefined, as an undefined CKA entry): writes its
 *  shape to *rows and *columns and, unless out is NULL with capacity 0, rows * columns values to out (capacity:
 *  doubles available). name: "attention-distance", "entropy", "segmentation" ([blocks][heads]), "frequency"
 *  ([layers][steps], relative log amplitude), "cka-cls", "cka-mean-patch" ([layers][layers]), "ncc-POOLING",
 *  "knn-top1-POOLING", "knn-top5-POOLING" ([layers][1]) with POOLING "cls" or "mean-patch"; layers = depth + 1.
 *  Errors: NULL_POINTER, INVALID_HANDLE, INVALID_ARGUMENT (a name not measured; the message lists those that
 *  were), BUFFER_SIZE. */
vitreous_status vitreous_analysis_values(const vitreous_analysis *analysis, const char *name, double *out,
                                         size_t capacity, int32_t *rows, int32_t *columns);

/** Frees an analysis. NULL is accepted and does nothing. Errors: INVALID_HANDLE. */
vitreous_status vitreous_analysis_free(vitreous_analysis *analysis);

/* ---- Artifacts ------------------------------------------------------------------------------------ *
 * Both calls need a result encoded with VITREOUS_ENCODE_TOKEN_NORMS and use the library's default detector:
 * on log patch norms, robust z-score (median / MAD) above 3.5 and norm above twice the median. */

/** Flags artifact tokens among the patches of `layer` (as in vitreous_result_token_norms()). Writes the
 *  number flagged to *flagged_count and, unless mask is NULL with capacity 0, one byte per patch to mask
 *  (row-major, 1 flagged, 0 not; capacity at least grid_height * grid_width).
 *  Errors: NULL_POINTER, INVALID_HANDLE, INVALID_ARGUMENT (no token norms, bad layer), BUFFER_SIZE. */
vitreous_status vitreous_detect_artifacts(const vitreous_result *result, int32_t layer, uint8_t *mask,
                                          size_t capacity, int32_t *flagged_count);

/** Repairs the output patch tokens as `vitreous repair --method inpaint`: patches flagged in either of the
 *  last two blocks' outputs are replaced by the mean of their unflagged 8-neighbours (repeated inwards for
 *  flagged regions). Writes all grid_height * grid_width * hidden_size patch floats ([row][column][channel])
 *  to patches (count: floats available) and, when flagged_count is not NULL, how many were replaced.
 *  The result itself is unchanged. Errors: as vitreous_detect_artifacts(). */
vitreous_status vitreous_repair_inpaint(const vitreous_result *result, float *patches, size_t count,
                                        int32_t *flagged_count);


/* Detector methods of the *_image calls, each with one parameter; a parameter <= 0 (or NaN) takes the
 * method's default. */
/** On log norms, robust z-score (median / MAD) above the parameter (default 3.5) and norm above twice the
 *  median: the library's default detector. */
#define VITREOUS_DETECTOR_ROBUST 0
/** Norm above the parameter, a fixed threshold (required: `vitreous repair --threshold`). */
#define VITREOUS_DETECTOR_ABSOLUTE 1
/** Norm above mean + parameter * std (default 3). */
#define VITREOUS_DETECTOR_MEAN_STD 2
/** Otsu's threshold on log norms, kept when the upper class is at least the parameter (default 2) times the
 *  lower one and at most a quarter of the patches. */
#define VITREOUS_DETECTOR_OTSU 3

/** vitreous_detect_artifacts() on image `image` of a batch result, with detector `method` and `parameter`.
 *  Errors: as vitreous_detect_artifacts(), and INVALID_ARGUMENT for an image outside 0 ... B - 1, an unknown
 *  method, or ABSOLUTE without a threshold. */
vitreous_status vitreous_detect_artifacts_image(const vitreous_result *result, int32_t image, int32_t layer,
                                                int32_t method, float parameter, uint8_t *mask, size_t capacity,
                                                int32_t *flagged_count);

/** vitreous_repair_inpaint() on image `image` of a batch result, flagging with detector `method` and
 *  `parameter`: writes that image's grid_height * grid_width * hidden_size patch floats.
 *  Errors: as vitreous_detect_artifacts_image(). */
vitreous_status vitreous_repair_inpaint_image(const vitreous_result *result, int32_t image, int32_t method,
                                              float parameter, float *patches, size_t count, int32_t *flagged_count);

/* ---- Test-time registers -------------------------------------------------------------------------- *
 * Register neurons (MLP units that fire on artifact patches) as `vitreous repair --method ttr` uses them:
 * loaded from a neurons.json that `vitreous repair --find-neurons` or vitreous_registers_save() wrote, or
 * found on images by vitreous_registers_find(); applied with vitreous_options_set_registers(). */

/** Reads a neurons file for `model`. The file records a fingerprint of the weights it was found on; one made
 *  for other weights is refused unless force is non-zero (as `--force`). On success *registers is a new handle.
 *  Errors: NULL_POINTER, INVALID_HANDLE, IO (missing or unreadable file), INVALID_ARGUMENT (not a neurons file,
 *  other weights, blocks the model lacks; neurons beyond its MLP are refused when encoding). */
vitreous_status vitreous_registers_load(const vitreous_model *model, const char *path, int32_t force,
                                        vitreous_registers **registers);

/** Writes registers to `path` as a neurons file (replaced atomically) with `model`'s fingerprint.
 *  Errors: NULL_POINTER, INVALID_HANDLE, INVALID_ARGUMENT (empty path, neurons the model lacks), IO. */
vitreous_status vitreous_registers_save(const vitreous_registers *registers, const vitreous_model *model,
                                        const char *path);

/** Finds register neurons on `batch` images (packed and resized as vitreous_encode_batch_rgb8() takes them;
 *  only the resize of options is used): the top_k MLP units of blocks 1 ... top_layer by mean activation on
 *  the patches flagged at layer detect_layer (detector `method`, `parameter`), as `vitreous repair
 *  --find-neurons`. Layers count as in vitreous_result_token_norms() (k = output of block k); 0 takes the
 *  command's defaults (detect_layer: the last block, top_layer: depth / 2). On success *registers is a new handle.
 *  Errors: as vitreous_encode_batch_rgb8(), and INVALID_ARGUMENT for layers outside 1 ... depth, top_k outside
 *  1 ... 100000, a bad detector, or when no image has an artifact at detect_layer. */
vitreous_status vitreous_registers_find(const vitreous_model *model, const uint8_t *pixels, size_t size,
                                        int32_t batch, int32_t width, int32_t height, const vitreous_options *options,
                                        int32_t detect_layer, int32_t top_layer, int32_t top_k, int32_t method,
                                        float parameter, vitreous_registers **registers);

/** Writes the neurons as pairs: layers[i] the block (1 ... depth, as --layers counts) and neurons[i] the MLP
 *  unit, blocks ascending, and their number to *count. capacity: elements available in each array. With both
 *  arrays NULL and capacity 0 only the count is written. Errors: NULL_POINTER, INVALID_HANDLE, BUFFER_SIZE. */
vitreous_status vitreous_registers_get_neurons(const vitreous_registers *registers, int32_t *layers,
                                               int32_t *neurons, size_t capacity, int32_t *count);

/** Frees registers. NULL is accepted and does nothing. Errors: INVALID_HANDLE. */
vitreous_status vitreous_registers_free(vitreous_registers *registers);

/* ---- Images --------------------------------------------------------------------------------------- *
 * PNG, JPEG and WebP, told apart by their bytes, decoded to the 8-bit RGB pixels of Pillow's
 * `Image.open(f).convert("RGB")`, as the `vitreous` command reads them. */

typedef struct vitreous_image vitreous_image;

/** Apply the EXIF orientation tag (as Pillow's ImageOps.exif_transpose; `--exif-orientation`). Off by default,
 *  as torchvision's and transformers' loaders do not apply it. */
#define VITREOUS_IMAGE_EXIF_ORIENTATION 1u

/** Reads and decodes the image file at `path`. On success *image is a new handle owned by the caller.
 *  Errors: NULL_POINTER, INVALID_ARGUMENT (empty path, unknown flags), IO (missing or unreadable file), IMAGE
 *  (not PNG, JPEG or WebP, corrupt, more than 100 000 000 pixels). */
vitreous_status vitreous_image_load(const char *path, uint32_t flags, vitreous_image **image);

/** Decodes an image file's bytes held in memory (size bytes at data). Errors: as vitreous_image_load(), and
 *  BUFFER_SIZE for size 0. */
vitreous_status vitreous_image_decode(const void *data, size_t size, uint32_t flags, vitreous_image **image);

/** Writes the image's size. Errors: NULL_POINTER, INVALID_HANDLE. */
vitreous_status vitreous_image_get_size(const vitreous_image *image, int32_t *width, int32_t *height);

/** Writes the pixels, height rows of width * 3 bytes (R, G, B), to pixels (capacity: bytes available).
 *  Errors: NULL_POINTER, INVALID_HANDLE, BUFFER_SIZE. */
vitreous_status vitreous_image_pixels(const vitreous_image *image, uint8_t *pixels, size_t capacity);

/** Frees an image. NULL is accepted and does nothing. Errors: INVALID_HANDLE. */
vitreous_status vitreous_image_free(vitreous_image *image);

#ifdef __cplusplus
}
#endif

#endif /* VITREOUS_H */
