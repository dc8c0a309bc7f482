/* The C library's logging: silent by default, messages in the callback once one is set, and on stderr with
 * VITREOUS_LOG. Run (by ctest) with VITREOUS_DEVICE=cpu, so that choosing the default device logs the
 * CPU-backend notice; argument "stderr" expects that notice on stderr (VITREOUS_LOG=info), else none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vitreous.h"

static int notices = 0;
static int info_level = 0;

static void collect(int32_t level, const char *message, void *user_data) {
    if (strstr(message, "using the CPU backend") && user_data == (void *)&notices) {
        notices++;
        info_level = level == VITREOUS_LOG_INFO;
    }
}

int main(int argc, char **argv) {
    int expect_stderr = argc > 1 && strcmp(argv[1], "stderr") == 0;
    /* stderr into a file for the library's calls, to read back what reached it. */
    FILE *captured = tmpfile();
    if (!captured) { perror("tmpfile"); return 1; }
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fileno(captured), STDERR_FILENO);

    int32_t device = -1;
    if (!expect_stderr) vitreous_set_log_callback(collect, &notices);
    vitreous_status status = vitreous_default_device(&device);
    vitreous_model *model = NULL;
    if (status == VITREOUS_OK) status = vitreous_model_create_demo(-1, &model);
    vitreous_model_free(model);

    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    char text[4096] = {0};
    rewind(captured);
    size_t length = fread(text, 1, sizeof text - 1, captured);
    if (status != VITREOUS_OK) { fprintf(stderr, "failed: %s\n", vitreous_last_error()); return 1; }
    if (device != 0) { fprintf(stderr, "the default device is not the CPU backend (%d)\n", device); return 1; }
    if (expect_stderr) {
        if (!strstr(text, "vitreous: info: using the CPU backend")) {
            fprintf(stderr, "VITREOUS_LOG=info: no notice on stderr, got \"%s\"\n", text);
            return 1;
        }
        printf("notice on stderr: %s", text);
        return 0;
    }
    if (length != 0) { fprintf(stderr, "stderr not silent: \"%s\"\n", text); return 1; }
    if (notices != 1 || !info_level) {
        fprintf(stderr, "the callback got %d CPU notices (info level: %d), expected 1\n", notices, info_level);
        return 1;
    }
    printf("stderr silent; the callback got the CPU notice\n");
    return 0;
}
