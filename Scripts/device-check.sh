#!/usr/bin/env bash
# One short check of a machine with a GPU, from a release bundle (Scripts/package-release.sh), without Swift:
#   1. the machine, its GPUs (lspci, nvidia-smi, /dev/dri, /dev/nvidia*, /dev/kfd) and its OpenCL platforms and
#      devices (the bundle's `vitreous devices`, and clinfo when present); when a GPU has no OpenCL driver, it
#      says so plainly and what to install;
#   2. on each OpenCL GPU (every OpenCL device when there is none): every op with --verify, fused against
#      materialised attention, then the ViT-S/14 and ViT-B/14 encoders at 224 and 518 px, batch 1, 8 and 64
#      (checked against the CPU backend at batch 1);
#   3. the same encoder rows on the machine's CPU backend, for the images/s ratio.
# Everything lands in OUTDIR: system.txt, gpu.txt, opencl.txt (and clinfo.txt), driver-status.txt, one JSON per
# step (vitreous-bench --json), results.md (every row, % of measured ceilings and of the datasheet peak, the
# encoder ratios, the verify verdict), summary.txt (each step's command, seconds and exit status) and
# device-check.log. A time budget (default 450 s) keeps the whole run under 8 minutes: each step starts no
# new row once its share is spent, and `timeout` stops a step that overruns.
#
# Usage: device-check.sh [--budget SECONDS] [--sizes 224,518] [--batches 1,8,64] [--models vit-s,vit-b]
#                        [--quick-ops] BUNDLE OUTDIR
#   BUNDLE  the .tar.gz or the folder it unpacks to
#   --sizes/--batches/--models  a reduced encoder set, for rehearsing on a CPU OpenCL driver (PoCL); the
#           defaults are the GPU set above
#   --quick-ops  the per-op rows at vitreous-bench --quick sizes (for the rehearsal)
#   PEAK_GFLOPS / PEAK_GBPS (environment) give the device's fp32 peak and memory bandwidth when the table
#   below does not know the GPU.
# Exit status: 0 when every step ran and every verified row is within bounds, 3 when a check failed, 4 when
# no OpenCL device could be measured at all, 5 when a GPU has no OpenCL driver (the rest still runs), 2 for
# bad arguments.
set -uo pipefail
usage() {
    echo "usage: device-check.sh [--budget SECONDS] [--sizes LIST] [--batches LIST] [--models LIST] [--quick-ops] BUNDLE OUTDIR" >&2
    exit 2
}
budget=450
sizes=224,518
batches=1,8,64
models=vit-s,vit-b
quick_ops=0
positional=()
while (($#)); do
    case $1 in
        --budget|--sizes|--batches|--models)
            [[ $# -ge 2 ]] || usage
            case $1 in --budget) budget=$2 ;; --sizes) sizes=$2 ;; --batches) batches=$2 ;; --models) models=$2 ;; esac
            shift ;;
        --quick-ops) quick_ops=1 ;;
        -h|--help) usage ;;
        -*) echo "device-check: unknown option $1" >&2; usage ;;
        *) positional+=("$1") ;;
    esac
    shift
done
[[ ${#positional[@]} -eq 2 ]] || usage
[[ $budget =~ ^[0-9]+$ ]] || { echo "device-check: --budget '$budget' is not a number of seconds" >&2; exit 2; }
bundle=${positional[0]}
out=${positional[1]}
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
started=$SECONDS
log=$out/device-check.log
: > "$log"
say() { echo "$*" | tee -a "$log"; }
remaining() { echo $((budget - (SECONDS - started))); }

# The bundle: unpack a tarball into OUTDIR/bundle.
if [[ -f $bundle ]]; then
    mkdir -p "$out/bundle"
    tar -xzf "$bundle" -C "$out/bundle" || { echo "device-check: cannot unpack $bundle" >&2; exit 2; }
    bundle=$(find "$out/bundle" -mindepth 1 -maxdepth 1 -type d | head -1)
fi
[[ -x $bundle/bin/vitreous && -x $bundle/bin/vitreous-bench ]] ||
    { echo "device-check: $bundle is not a Vitreous bundle (no bin/vitreous, bin/vitreous-bench)" >&2; exit 2; }
bin=$(cd "$bundle/bin" && pwd)
# Kernel binaries cached inside OUTDIR: the first build of each kernel is part of what this run measures.
export VITREOUS_KERNEL_CACHE=$out/kernel-cache

say "device-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), bundle $bundle, budget ${budget}s"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -a)"
    [[ -r /etc/os-release ]] && echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //'))"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "glibc: $(ldd --version 2>&1 | head -1)"
    echo "bundle: $(basename "$bundle")"
} > "$out/system.txt"
cat "$out/system.txt" >> "$log"

# --- GPUs the hardware has, whatever the drivers ---------------------------------------------------------
gpu_vendors=()
{
    if command -v lspci > /dev/null; then
        echo "lspci:"
        lspci -nn 2>/dev/null | grep -Ei 'vga|3d controller|display' | sed 's/^/  /'
    else
        echo "lspci: not installed"
    fi
    if command -v nvidia-smi > /dev/null; then
        echo "nvidia-smi:"
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/  /'
    fi
    echo "/dev/dri: $(ls /dev/dri 2>/dev/null | tr '\n' ' ')"
    echo "/dev/nvidia*: $(ls -d /dev/nvidia* 2>/dev/null | tr '\n' ' ')"
    echo "/dev/kfd: $([[ -e /dev/kfd ]] && echo present || echo absent)"
} > "$out/gpu.txt"
cat "$out/gpu.txt" >> "$log"
pci=$(command -v lspci > /dev/null && lspci -nn 2>/dev/null | grep -Ei 'vga|3d controller|display' || true)
if grep -q '\[10de:' <<<"$pci" || ls /dev/nvidia[0-9]* > /dev/null 2>&1 || command -v nvidia-smi > /dev/null; then
    gpu_vendors+=(nvidia)
fi
if grep -q '\[1002:' <<<"$pci" || [[ -e /dev/kfd ]]; then gpu_vendors+=(amd); fi
if grep -q '\[8086:' <<<"$pci"; then gpu_vendors+=(intel); fi

# --- OpenCL as the bundle sees it ---------------------------------------------------------------------------
{
    echo "ICD files in ${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}:"
    for icd in "${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"/*.icd; do
        [[ -e $icd ]] && echo "  $icd -> $(cat "$icd")"
    done
    echo "vitreous devices:"
    "$bin/vitreous" devices 2>&1 | sed 's/^/  /'
} > "$out/opencl.txt"
cat "$out/opencl.txt" >> "$log"
if command -v clinfo > /dev/null; then
    clinfo > "$out/clinfo.txt" 2>&1
    { echo "clinfo -l:"; clinfo -l 2>&1 | sed 's/^/  /'; } | tee -a "$log" > /dev/null
fi
# opencl:N of every device, and of the GPUs, from `vitreous devices` ("  opencl:N  name" then "kind GPU, ...").
devices_text=$("$bin/vitreous" devices 2>/dev/null)
all_devices=($(awk '$1 ~ /^opencl:[0-9]+$/ { print $1 }' <<<"$devices_text"))
gpu_devices=($(awk '$1 ~ /^opencl:[0-9]+$/ { id = $1 } $1 == "kind" && $2 == "GPU," { print id }' <<<"$devices_text"))
# The vendors of the OpenCL GPU devices ("kind GPU, vendor NVIDIA Corporation, driver ..."), lower case.
opencl_vendors=$(grep -E '^ +kind GPU, vendor' <<<"$devices_text" | tr 'A-Z' 'a-z')

# --- A GPU without an OpenCL driver: say what to install ----------------------------------------------------
{
    missing=0
    for vendor in "${gpu_vendors[@]}"; do
        case $vendor in
            nvidia) grep -q nvidia <<<"$opencl_vendors" && continue ;;
            amd) grep -Eq 'advanced micro devices|amd' <<<"$opencl_vendors" && continue ;;
            intel) grep -q intel <<<"$opencl_vendors" && continue ;;
        esac
        missing=1
        case $vendor in nvidia) label=NVIDIA ;; amd) label=AMD ;; *) label=Intel ;; esac
        echo "An $label GPU is present, but no OpenCL driver is installed for it: Vitreous cannot use it."
        case $vendor in
            nvidia)
                library=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ { print $NF; exit }'))
                [[ -z $library ]] && library=$(ls /usr/lib*/libnvidia-opencl.so* /usr/lib/*/libnvidia-opencl.so* 2>/dev/null | head -1)
                if [[ -n $library ]]; then
                    echo "  The driver's OpenCL library is there ($library) but not registered. As root:"
                    echo "    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd"
                else
                    version=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
                    echo "  Install the OpenCL part of the NVIDIA driver${version:+ $version} (libnvidia-opencl.so.1):"
                    echo "    Debian: apt-get install nvidia-opencl-icd    Ubuntu: apt-get install libnvidia-compute-${version%%.*}"
                    echo "    (same version as the kernel driver), then check /etc/OpenCL/vendors/nvidia.icd names"
                    echo "    libnvidia-opencl.so.1. In a container: run it with NVIDIA_DRIVER_CAPABILITIES=compute,utility"
                    echo "    so that the toolkit mounts libnvidia-opencl, and add the ICD file as above."
                fi ;;
            amd)
                echo "  Install ROCm's OpenCL runtime (rocm-opencl-runtime from repo.radeon.com, it adds"
                echo "  /etc/OpenCL/vendors/amdocl64*.icd and needs /dev/kfd), or Mesa's rusticl: apt-get install"
                echo "  mesa-opencl-icd and run with RUSTICL_ENABLE=radeonsi." ;;
            intel)
                echo "  Install Intel's compute runtime: apt-get install intel-opencl-icd (adds"
                echo "  /etc/OpenCL/vendors/intel.icd; needs /dev/dri/renderD*)." ;;
        esac
    done
    ((${#gpu_vendors[@]})) || echo "No GPU found (lspci, nvidia-smi, /dev/nvidia*, /dev/kfd)."
    ((missing)) || ((${#gpu_vendors[@]} == 0)) || echo "Every GPU found has an OpenCL driver."
    ((${#gpu_devices[@]})) || echo "No OpenCL GPU device: measuring the OpenCL devices there are (${all_devices[*]:-none})."
} > "$out/driver-status.txt"
tee -a "$log" < "$out/driver-status.txt"

targets=("${gpu_devices[@]}")
((${#targets[@]})) || targets=("${all_devices[@]}")

# --- Datasheet peaks (fp32 non-tensor GFLOP/s, GB/s) for the % peak column ----------------------------------
peak_gflops=${PEAK_GFLOPS:-}
peak_gbps=${PEAK_GBPS:-}
if [[ -z $peak_gflops ]] && command -v nvidia-smi > /dev/null; then
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
    case $gpu_name in
        *H200*) peak_gflops=67000; peak_gbps=4800 ;;
        *H100*PCIe*) peak_gflops=51000; peak_gbps=2000 ;;
        *H100*NVL*) peak_gflops=60000; peak_gbps=3900 ;;
        *H100*) peak_gflops=67000; peak_gbps=3350 ;;
        *A100*80GB*) peak_gflops=19500; peak_gbps=2039 ;;
        *A100*) peak_gflops=19500; peak_gbps=1555 ;;
        *L40S*) peak_gflops=91600; peak_gbps=864 ;;
        *L4) peak_gflops=30300; peak_gbps=300 ;;
        *A10) peak_gflops=31200; peak_gbps=600 ;;
        *V100*) peak_gflops=15700; peak_gbps=900 ;;
    esac
    [[ -n $peak_gflops ]] && say "peaks for $gpu_name (datasheet): $peak_gflops GFLOP/s fp32, $peak_gbps GB/s"
fi
peak_options=()
[[ -n $peak_gflops ]] && peak_options+=(--peak-gflops "$peak_gflops")
[[ -n $peak_gbps ]] && peak_options+=(--peak-gbps "$peak_gbps")

# --- The measurements ---------------------------------------------------------------------------------------
: > "$out/summary.txt"
failed=0
# step NAME SHARE ARGS...: vitreous-bench ARGS --json into NAME.json, starting no row after SHARE % of the
# budget that is left (the rest is kept for later steps), killed 20 s after the whole budget is spent.
step() {
    local name=$1 share=$2
    shift 2
    local left
    left=$(remaining)
    if ((left < 10)); then
        say "[$name] skipped: the time budget is spent"
        echo "$name: skipped (budget spent)" >> "$out/summary.txt"
        return
    fi
    local limit=$((left * share / 100))
    ((limit < 5)) && limit=5
    say "[$name] vitreous-bench $* --time-limit $limit"
    local begin=$SECONDS status
    timeout --kill-after=5 $((left + 20)) "$bin/vitreous-bench" "$@" --json --time-limit "$limit" \
        > "$out/$name.json" 2> "$out/$name.err"
    status=$?
    local took=$((SECONDS - begin))
    cat "$out/$name.err" >> "$log"
    say "[$name] exit $status after ${took}s"
    echo "$name: exit $status, ${took}s: vitreous-bench $* --json --time-limit $limit" >> "$out/summary.txt"
    grep -h "time limit reached" "$out/$name.err" | sed 's/^/    /' >> "$out/summary.txt"
    if ((status != 0)); then
        failed=1
        # A step killed by timeout leaves no valid JSON; keep the report readable.
        [[ -s $out/$name.json ]] && grep -q '^\]' "$out/$name.json" || echo '[]' > "$out/$name.json"
    fi
}
ops_size=()
((quick_ops)) && ops_size=(--quick)
small_batches=$(tr ',' '\n' <<<"$batches" | awk '$1 < 64' | paste -sd, -)
large_batches=$(tr ',' '\n' <<<"$batches" | awk '$1 >= 64' | paste -sd, -)
encoder_set=(--part encoders --models "$models" --sizes "$sizes")
if ((${#targets[@]} == 0)); then
    say "device-check: no OpenCL device at all; only the CPU backend is measured."
fi
for device in "${targets[@]}"; do
    tag=${device/:/}
    step "$tag-ops" 25 --device "$device" --verify --part ops --part attention "${ops_size[@]}" "${peak_options[@]}"
    [[ -n $small_batches ]] && step "$tag-encoders" 40 --device "$device" --verify "${encoder_set[@]}" \
        --batches "$small_batches" --samples 5 "${peak_options[@]}"
    # Half-precision weight storage (the Precision article): the same rows with the linear weights as half.
    [[ -n $small_batches ]] && step "$tag-encoders-fp16" 45 --device "$device" --precision fp16 "${encoder_set[@]}" \
        --batches "$small_batches" --samples 5 "${peak_options[@]}"
done
[[ -n $small_batches ]] && step cpu-encoders 40 --device cpu "${encoder_set[@]}" --batches "$small_batches" --samples 3
for device in "${targets[@]}"; do
    tag=${device/:/}
    [[ -n $large_batches ]] && step "$tag-encoders-b64" 50 --device "$device" "${encoder_set[@]}" \
        --batches "$large_batches" --samples 3 "${peak_options[@]}"
done
[[ -n $large_batches ]] && step cpu-encoders-b64 90 --device cpu "${encoder_set[@]}" --batches "$large_batches" --samples 2

# --- The report ---------------------------------------------------------------------------------------------
{
    echo "# Vitreous device check"
    echo
    sed 's/^/    /' "$out/system.txt"
    echo
    echo "GPUs and drivers:"
    echo
    sed 's/^/    /' "$out/gpu.txt" "$out/driver-status.txt"
    echo
    [[ -n $peak_gflops ]] && echo "Datasheet peaks used for % peak: $peak_gflops GFLOP/s fp32, ${peak_gbps:-?} GB/s." && echo
    echo "Steps:"
    echo
    sed 's/^/    /' "$out/summary.txt"
    echo
    "$bin/vitreous-bench" --report "$out"/*.json || echo "verify: FAILED, vitreous-bench --report could not read the results"
} > "$out/results.md" 2>> "$log"
# A verified row out of bounds, or a step that failed, is a failed check.
if grep -q '^verify: FAILED' "$out/results.md"; then failed=3; fi
elapsed=$((SECONDS - started))
say "device-check: done in ${elapsed}s; results in $out/results.md"
grep '^verify:' "$out/results.md" | tee -a "$log"
if ((${#targets[@]} == 0)); then exit 4; fi
if ((failed)); then exit 3; fi
if grep -q "no OpenCL driver is installed" "$out/driver-status.txt"; then exit 5; fi
exit 0
