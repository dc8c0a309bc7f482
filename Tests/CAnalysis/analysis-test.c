/* vitreous_analyze_rgb8 from C on the demo model: the JSON document and the arrays agree, the shapes follow
 * the model (6 blocks of 4 heads, 7 layers), CKA of a layer with itself is 1 (but for the CLS token of layer 0,
 * the same for every image, whose CKA is undefined), accuracies lie in [0, 1]; bad input is one status and
 * a message naming it. Prints "analysis: ok" on success (ctest checks it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vitreous.h"

#define IMAGES 8
#define SIDE 56

static int failures = 0;

static void expect(int condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "FAIL: %s (last error: %s)\n", what, vitreous_last_error());
        failures++;
    }
}

static vitreous_status analyze(vitreous_model *model, const uint8_t *pixels, const char *metrics,
                               const int32_t *labels, const uint8_t *masks, size_t mask_size, int32_t k,
                               vitreous_analysis **analysis) {
    return vitreous_analyze_rgb8(model, pixels, (size_t)IMAGES * SIDE * SIDE * 3, IMAGES, SIDE, SIDE, NULL, metrics,
                                 labels, NULL, masks, mask_size, k, 0.07, 8, analysis);
}

int main(void) {
    static uint8_t pixels[IMAGES * SIDE * SIDE * 3];
    uint32_t state = 12345;
    for (size_t i = 0; i < sizeof pixels; i++) {
        state = state * 1664525u + 1013904223u;
        /* Two classes of textures: odd images brighter, so NCC has something to find. */
        size_t image = i / (SIDE * SIDE * 3);
        pixels[i] = (uint8_t)((state >> 24) / 2 + (image % 2) * 100);
    }
    int32_t labels[IMAGES];
    uint8_t masks[IMAGES * 16];
    for (int i = 0; i < IMAGES; i++) labels[i] = i % 2;
    for (int i = 0; i < IMAGES * 16; i++) masks[i] = (i % 4) < 2;

    vitreous_model *model = NULL;
    if (vitreous_model_create_demo(0, &model) != VITREOUS_OK) {
        fprintf(stderr, "demo model: %s\n", vitreous_last_error());
        return 1;
    }
    vitreous_analysis *analysis = NULL;
    vitreous_status status = analyze(model, pixels, NULL, labels, masks, sizeof masks, 3, &analysis);
    expect(status == VITREOUS_OK && analysis != NULL, "analysis with every metric runs");
    if (status == VITREOUS_OK) {
        size_t needed = 0;
        expect(vitreous_analysis_json(analysis, NULL, 0, &needed) == VITREOUS_OK && needed > 100, "JSON size");
        char small[8];
        expect(vitreous_analysis_json(analysis, small, sizeof small, &needed) == VITREOUS_ERROR_BUFFER_SIZE,
               "a small JSON buffer is BUFFER_SIZE");
        char *json = malloc(needed);
        expect(json && vitreous_analysis_json(analysis, json, needed, NULL) == VITREOUS_OK, "JSON written");
        if (json) {
            expect(strlen(json) + 1 == needed, "JSON is NUL-terminated at needed - 1");
            const char *keys[] = {"\"results\"", "\"attention-distance\"", "\"entropy\"", "\"cka\"", "\"frequency\"",
                                  "\"classification\"", "\"segmentation\"", "\"knn_top5\"", "\"layer_numbering\""};
            for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) expect(strstr(json, keys[i]) != NULL, keys[i]);
            expect(strstr(json, "\"images\" : 8") != NULL, "JSON counts 8 images");
            free(json);
        }
        int32_t rows = 0, columns = 0;
        double values[49];
        expect(vitreous_analysis_values(analysis, "attention-distance", NULL, 0, &rows, &columns) == VITREOUS_OK
               && rows == 6 && columns == 4, "attention distance is [6 blocks][4 heads]");
        expect(vitreous_analysis_values(analysis, "cka-mean-patch", values, 49, &rows, &columns) == VITREOUS_OK
               && rows == 7 && columns == 7, "CKA is [7][7]");
        for (int l = 0; l < 7; l++) expect(fabs(values[l * 7 + l] - 1) < 1e-6, "mean-patch CKA diagonal is 1");
        for (int a = 0; a < 7; a++) {
            for (int b = 0; b < 7; b++) expect(fabs(values[a * 7 + b] - values[b * 7 + a]) < 1e-9, "CKA is symmetric");
        }
        expect(vitreous_analysis_values(analysis, "cka-cls", values, 49, &rows, &columns) == VITREOUS_OK, "CLS CKA");
        for (int l = 1; l < 7; l++) expect(fabs(values[l * 7 + l] - 1) < 1e-6, "CLS CKA diagonal is 1");
        expect(vitreous_analysis_values(analysis, "ncc-mean-patch", values, 7, &rows, &columns) == VITREOUS_OK
               && rows == 7 && columns == 1, "NCC is [7][1]");
        for (int l = 0; l < 7; l++) expect(values[l] >= 0 && values[l] <= 1, "NCC accuracy in [0, 1]");
        expect(vitreous_analysis_values(analysis, "cka-cls", values, 48, &rows, &columns) == VITREOUS_ERROR_BUFFER_SIZE,
               "a small values buffer is BUFFER_SIZE");
        expect(vitreous_analysis_values(analysis, "nothing", values, 49, &rows, &columns)
               == VITREOUS_ERROR_INVALID_ARGUMENT && strstr(vitreous_last_error(), "cka-cls"),
               "an unknown name lists the measured ones");
    }
    expect(vitreous_analysis_free(analysis) == VITREOUS_OK, "free");
    expect(vitreous_analysis_free(analysis) == VITREOUS_ERROR_INVALID_HANDLE, "double free");

    /* Bad input: one status, one message naming it. */
    int32_t lonely[IMAGES] = {0, 0, 0, 0, 0, 0, 0, 1};
    expect(analyze(model, pixels, "ncc", lonely, NULL, 0, 3, &analysis) == VITREOUS_ERROR_INVALID_ARGUMENT
           && strstr(vitreous_last_error(), "class 1 has 1 training image") && analysis == NULL,
           "a class with one image");
    expect(analyze(model, pixels, "knn", labels, NULL, 0, 8, &analysis) == VITREOUS_ERROR_INVALID_ARGUMENT
           && strstr(vitreous_last_error(), "k 8 is larger than the 7 training images"), "k too large");
    expect(analyze(model, pixels, "segmentation", NULL, masks, 15 * IMAGES, 0, &analysis)
           == VITREOUS_ERROR_INVALID_ARGUMENT && strstr(vitreous_last_error(), "4×4 patch grid"),
           "masks of the wrong size");
    expect(analyze(model, pixels, "cka,colour", NULL, NULL, 0, 0, &analysis) == VITREOUS_ERROR_INVALID_ARGUMENT
           && strstr(vitreous_last_error(), "unknown measure 'colour'"), "an unknown metric");
    expect(analyze(model, pixels, "ncc", NULL, NULL, 0, 0, &analysis) == VITREOUS_ERROR_INVALID_ARGUMENT,
           "ncc without labels");
    vitreous_model_free(model);
    if (failures) return 1;
    printf("analysis: ok\n");
    return 0;
}
