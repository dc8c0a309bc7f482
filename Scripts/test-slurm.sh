#!/usr/bin/env bash
# Examples/slurm/encode.sbatch on a real single-node Slurm: starts munged, slurmctld and slurmd on localhost
# (Debian's slurm-wlm and munge, all state in one scratch folder, ports 16817/16818), submits the example
# as a 3-task job array over a folder of generated PNGs with the demo model, cancels task 1 once it has
# committed part of its shard, submits the same array again (the example's documented resume), merges the
# index and checks with numpy (the README's reader) that it lists every image exactly once and that every
# feature is bit-identical to a one-process `vitreous encode --dataset` of the same folder. Stops the
# daemons it started and removes the folder on exit; a second run first stops what a killed run left.
# About a minute on two cores after the build; every wait is bounded (VITREOUS_SLURM_TIMEOUT, default 240 s).
# Usage: Scripts/test-slurm.sh [VITREOUS]   (default .build/debug/vitreous; needs root, slurm-wlm, munge)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fail() { echo "test-slurm: $*" >&2; exit 1; }
vitreous=$(realpath "${1:-.build/debug/vitreous}")
[[ -x $vitreous ]] || fail "$vitreous is not an executable (build it: swift build --product vitreous)"
[[ $(id -u) -eq 0 ]] || fail "needs root: slurmd starts the jobs"
for tool in munged mungekey slurmctld slurmd sbatch squeue scancel scontrol sinfo python3; do
    command -v "$tool" > /dev/null || fail "$tool is missing (Scripts/install-deps.sh installs slurm-wlm and munge)"
done
dir=${VITREOUS_SLURM_DIR:-/tmp/vitreous-slurm}
deadline=$((SECONDS + ${VITREOUS_SLURM_TIMEOUT:-240}))
images=36 tasks=3

# Stops the daemons whose pid files are in $dir, if they still run one of our commands.
stop_daemons() {
    for name in slurmd slurmctld munged; do
        local pid
        pid=$(cat "$dir/$name.pid" 2>/dev/null) || continue
        if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}
finish() {
    local status=$?
    if ((status != 0)); then
        for log in "$dir"/*.log; do [[ -f $log ]] && { echo "--- $log"; tail -20 "$log"; }; done >&2
    fi
    stop_daemons
    rm -rf "$dir"
    exit "$status"
}
# Waits (bounded by the deadline) until the command succeeds.
wait_for() {
    local what=$1; shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out waiting for $what"
        sleep 0.2
    done
}
stop_daemons
rm -rf "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/out"
trap finish EXIT

# munge: a fresh key and a socket of our own, so a machine's own munged (if any) is left alone.
mungekey --create --keyfile="$dir/munge.key" > /dev/null
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
cat > "$dir/slurm.conf" <<EOF
ClusterName=vitreous-test
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# One node in a container: no cgroups, no accounting database.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=30 State=UP
EOF
export SLURM_CONF=$dir/slurm.conf
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
node_idle() { [[ $(sinfo -h -N -o %T 2>/dev/null) == idle ]]; }
wait_for "the node to be idle" node_idle
echo "test-slurm: slurmctld and slurmd up ($(sinfo -V))"

# The inputs: the demo's model, and 36 textured PNGs of three sizes (numpy and zlib; nothing downloaded).
"$vitreous" demo --out "$dir/demo" > "$dir/demo.log"
python3 - "$dir/images" "$images" <<'EOF'
import os, struct, sys, zlib
import numpy as np
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(folder, "sub"), exist_ok=True)
rng = np.random.default_rng(29)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(count):
    w, h = [(320, 240), (240, 320), (300, 300)][i % 3]
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rows = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    with open(os.path.join(folder, "sub" if i % 4 == 0 else "", f"{i:03d}.png"), "wb") as f:
        f.write(png)
EOF

# The reference: one process over the whole folder.
options="--size 224 --batch 2 --chunk-size 2 --device cpu --decode-threads 1"
# shellcheck disable=SC2086  # the options are words
"$vitreous" encode "$dir/images" --model "$dir/demo/model.safetensors" --out "$dir/single" --dataset $options \
    > "$dir/single.log" 2>&1

# The job array, as the example documents it; its #SBATCH sizes are for a real cluster, so smaller ones here.
submit() {
    INPUT=$dir/images MODEL=$dir/demo/model.safetensors OUT=$dir/out VITREOUS=$vitreous OPTIONS=$options \
        sbatch --parsable --array=0-$((tasks - 1)) --cpus-per-task=1 --mem=500M --time=10 --chdir="$dir" \
        --output="$dir/encode-%A_%a.log" "$root/Examples/slurm/encode.sbatch"
}
job=$(submit)
echo "test-slurm: submitted job array $job (tasks 0-$((tasks - 1)))"
share=$(( (images + tasks - 2) / tasks ))   # task 1's shard: inputs 1, 4, 7, … (round robin)
lines() { cat "$dir/out/index-00001.jsonl" 2>/dev/null | wc -l; }
started() { (($(lines) >= 2)); }
wait_for "task 1 to commit its first chunk" started
scancel "${job}_1"
queue_empty() { [[ -z $(squeue -h -j "$job" 2>/dev/null) ]]; }
wait_for "the first array to end" queue_empty
done_before=$(lines)
state=$(scontrol show job "${job}_1" | grep -o 'JobState=[A-Z_]*')
echo "test-slurm: task 1 cancelled ($state) with $done_before of its $share inputs committed"
[[ $state == JobState=CANCELLED ]] || fail "task 1 ended $state, not CANCELLED"
((done_before < share)) || fail "task 1 finished before it was cancelled: nothing was resumed (make the shard larger)"

again=$(submit)
job=$again
wait_for "the resubmitted array to end" queue_empty
for task in $(seq 0 $((tasks - 1))); do
    state=$(scontrol show job "${again}_$task" | grep -o 'JobState=[A-Z_]*')
    [[ $state == JobState=COMPLETED ]] || fail "resubmitted task $task ended $state"
done
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["already_done"] == int(sys.argv[2]), s' \
    "$dir/out/summary-1.json" "$done_before" || fail "the resubmitted task 1 did not resume after its $done_before inputs"
"$vitreous" index merge "$dir/out" > "$dir/merge.log"

# The merged index against the one-process run, through the README's numpy reader.
reader=$(awk '/^Reading a dataset needs only numpy/ { on = 1 } on && /^```python$/ { code = 1; next }
              code && /^```$/ { exit } code' README.md)
python3 - "$dir/single" "$dir/out" "$images" <<EOF
import json, os, sys
import numpy as np
$reader
single, sharded, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
merged = [json.loads(line) for line in open(os.path.join(sharded, "index.jsonl"))]
sources = [entry["source"] for entry in merged]
assert len(sources) == count and len(set(sources)) == count, (len(sources), len(set(sources)))
assert all("file" in entry for entry in merged), "an input failed"
entries, _ = load_dataset(single)
chunks = {}
keys = [key for key in load_chunk(os.path.join(single, entries[0]["file"])) if key in ("cls", "mean_patch", "registers")]
assert "cls" in keys and "mean_patch" in keys, keys
for key in keys:
    reference = load_dataset(single, key)[1]
    for entry, row in zip(entries, reference):
        mine = next(e for e in merged if e["source"] == entry["source"])
        if mine["file"] not in chunks:
            chunks[mine["file"]] = load_chunk(os.path.join(sharded, mine["file"]))
        got = chunks[mine["file"]][key][mine["row"]]
        assert got.tobytes() == row.tobytes(), (key, entry["source"])
print(f"test-slurm: merged index: {count} images, each once; {', '.join(keys)} bit-identical to one process")
EOF
echo "test-slurm: passed in $SECONDS s"
