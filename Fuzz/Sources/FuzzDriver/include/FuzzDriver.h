// libFuzzer's driver, called from each harness's own entry point: SwiftPM gives every executable a
// `<module>_main` entry point and aliases `main` to it, which hides the `main` that libFuzzer would supply.
#ifndef VITREOUS_FUZZ_DRIVER_H
#define VITREOUS_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the process's arguments on `test` (libFuzzer's `LLVMFuzzerTestOneInput`) and returns
/// its exit status.
int vitreous_fuzz_main(int argc, char **argv, int (*test)(const uint8_t *data, size_t size));
#endif
