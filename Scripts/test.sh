#!/usr/bin/env bash
# The whole test suite from a fresh checkout: installs what is missing, shows the OpenCL devices, builds the
# package, builds the design documents and the API reference with DocC (Scripts/build-docs.sh: warnings in the
# articles and a public symbol without a doc comment are errors), runs every
# Swift test on every backend present (and again with the GPU launch layout on the OpenCL devices), runs the
# Slurm and Kubernetes examples (Scripts/test-slurm.sh, Scripts/check-kubernetes.sh), then packs
# the release bundle with CMake + Ninja as on a fresh clone and runs it with the Swift toolchain hidden
# (Scripts/package-release.sh, Scripts/check-bundle.sh), builds the rest of that CMake build, runs the same
# suites and the C example through ctest, runs the CMake-built CLI once, builds the C example against a
# temporary install (Scripts/check-install.sh), runs the Python package's pytest suite on that build and checks
# its wheel without the toolchain (Scripts/test-python.sh), runs each fuzz target for 20 s
# (Scripts/fuzz.sh --smoke), and runs the whole suite under AddressSanitizer (Scripts/sanitize.sh address).
# About 25 minutes on two cores; VITREOUS_TEST_QUICK=1 stops after the SwiftPM tests.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
Scripts/check-opencl.sh
swift build --build-tests
# The design documents (Documentation/Vitreous.docc) build without a warning, every public symbol of the library
# modules has a doc comment, and their API reference builds: seconds, on the build above.
Scripts/build-docs.sh
swift test
# The GPU launch layouts (big work-groups, local-memory reductions, scalar attention) on the OpenCL devices
# present, so their code paths are checked on PoCL too: the generic one on the tensor and model suites, each
# vendor's (OpenCLGPUDefaults.swift) on the tensor suite.
if grep -q "Device #" <<<"$(clinfo -l 2>/dev/null)"; then
    VITREOUS_OPENCL_TUNING=gpu swift test --skip-build --filter "VitreousTensorTests|VitreousModelTests"
    for family in nvidia amd intel; do
        VITREOUS_OPENCL_TUNING=gpu=$family swift test --skip-build --filter VitreousTensorTests
    done
fi
# The CPU op tests again at each lower SIMD level this CPU has (the run above used the highest), so the AVX2
# and baseline kernels are checked too (see CPUInstructionSet; about a minute each).
flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
lower=(baseline)
if [[ " $flags " == *" avx512f "* ]]; then lower=(avx2 baseline); fi
if [[ " $flags " != *" avx2 "* ]]; then lower=(); fi
for isa in "${lower[@]}"; do
    echo "CPU op tests with VITREOUS_CPU_ISA=$isa"
    VITREOUS_CPU_ISA=$isa VITREOUS_TEST_DEVICES=cpu swift test --skip-build --filter VitreousTensorTests
done
if [[ "${VITREOUS_TEST_QUICK:-}" == 1 ]]; then exit 0; fi
# The cluster examples with the CLI just built: Examples/slurm/encode.sbatch as a job array on a real
# single-node Slurm (about a minute; its daemons need root, so it is skipped elsewhere but never in CI), and
# Examples/kubernetes/encode-job.yaml validated against the Kubernetes schema and run once per completion index.
if [[ $(id -u) -eq 0 || ${CI:-} == true ]]; then
    Scripts/test-slurm.sh .build/debug/vitreous
else
    echo "test.sh: Scripts/test-slurm.sh skipped: it starts slurmctld and slurmd and needs root"
fi
Scripts/check-kubernetes.sh .build/debug/vitreous
# The release bundle first, by the command README.md documents and as a fresh clone runs it: into its
# default build folder, build-release, before anything else is built there (it builds only the tools and
# libvitreous.so). The CMake stages below reuse that folder with the same configuration (Release, the tools
# linking the Swift runtime statically), so they compile only the tests on top of it.
[[ ! -e build-release ]] || echo "test.sh: build-release exists: the release bundle is not packed from a fresh build folder"
Scripts/package-release.sh --bundle-libs build-release/dist
Scripts/check-bundle.sh build-release/dist/vitreous-*-linux-"$(uname -m)".tar.gz
cmake -G Ninja -B build-release -DCMAKE_BUILD_TYPE=Release -DVITREOUS_STATIC_SWIFT_STDLIB=ON
cmake --build build-release
ctest --test-dir build-release --output-on-failure
build-release/bin/vitreous demo --out build-release/demo-smoke > build-release/demo-smoke.log
grep -q "What to look at" build-release/demo-smoke.log
echo "CMake build: vitreous demo ran"
Scripts/check-install.sh build-release
# The Python package's tests on this build's libvitreous.so and CLI, and its wheel run without the toolchain.
Scripts/test-python.sh build-release
Scripts/fuzz.sh --smoke
Scripts/sanitize.sh address
