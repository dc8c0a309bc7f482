/*
 * Encodes the `vitreous demo` image with the demo model (or with a checkpoint given as the first argument)
 * through the C API and prints the CLS vector's norm and the number of artifact tokens the library flags
 * in the last block's output.
 *
 *   cc vitreous-example.c $(pkg-config --cflags --libs vitreous) -lm -o vitreous-example
 *   ./vitreous-example [MODEL.safetensors|demo] [DEVICE]      (DEVICE: -1 default, 0 cpu, k opencl:k-1)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vitreous.h>

/* Prints the failed call's message and leaves through the cleanup path. */
#define CHECK(call)                                                                              \
    do {                                                                                         \
        vitreous_status status_ = (call);                                                        \
        if (status_ != VITREOUS_OK) {                                                            \
            fprintf(stderr, "%s: %s\n", vitreous_status_name(status_), vitreous_last_error());   \
            goto done;                                                                           \
        }                                                                                        \
    } while (0)

int main(int argc, char **argv) {
    int exit_code = 1;
    int32_t device = argc > 2 ? (int32_t)atoi(argv[2]) : -1;
    vitreous_model *model = NULL;
    vitreous_result *result = NULL;
    uint8_t *pixels = NULL;
    float *cls = NULL;
    char device_name[256];
    int32_t width = 0, height = 0, flagged = 0;
    vitreous_model_info model_info;
    vitreous_result_info info;
    double norm = 0;
    int32_t i;

    printf("Vitreous %s\n", vitreous_version());
    if (argc > 1 && strcmp(argv[1], "demo") != 0) {
        CHECK(vitreous_model_load(argv[1], device, &model));
    } else {
        CHECK(vitreous_model_create_demo(device, &model));
    }
    CHECK(vitreous_model_get_info(model, &model_info));
    CHECK(vitreous_device_name(model_info.device, device_name, sizeof device_name));
    printf("model: D %d, %d blocks, %d heads, patch %d, on %s\n", (int)model_info.hidden_size,
           (int)model_info.depth, (int)model_info.heads, (int)model_info.patch_size, device_name);

    /* The image: ask for its size, then fill a buffer of that size. */
    CHECK(vitreous_demo_image_rgb8(NULL, 0, &width, &height));
    pixels = malloc((size_t)width * (size_t)height * 3);
    if (pixels == NULL) goto done;
    CHECK(vitreous_demo_image_rgb8(pixels, (size_t)width * (size_t)height * 3, &width, &height));

    CHECK(vitreous_encode_rgb8(model, pixels, (size_t)width * (size_t)height * 3, width, height, 0,
                               VITREOUS_ENCODE_TOKEN_NORMS | VITREOUS_ENCODE_CLS_ATTENTION, &result));
    CHECK(vitreous_result_get_info(result, &info));
    cls = malloc((size_t)info.hidden_size * sizeof *cls);
    if (cls == NULL) goto done;
    CHECK(vitreous_result_cls(result, cls, (size_t)info.hidden_size));
    for (i = 0; i < info.hidden_size; i++) norm += (double)cls[i] * cls[i];
    CHECK(vitreous_detect_artifacts(result, -1, NULL, 0, &flagged));

    printf("image: %dx%d, %dx%d patches\n", (int)width, (int)height, (int)info.grid_height, (int)info.grid_width);
    printf("CLS norm: %.4f\n", sqrt(norm));
    printf("flagged artifact tokens: %d\n", (int)flagged);
    exit_code = 0;

done:
    free(cls);
    free(pixels);
    vitreous_result_free(result);
    vitreous_model_free(model);
    return exit_code;
}
