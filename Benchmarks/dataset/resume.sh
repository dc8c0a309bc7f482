#!/usr/bin/env bash
# Time to resume: starts `vitreous encode FOLDER --dataset`, kills it with SIGKILL once its index lists STOP_AT
# inputs, then times the rerun of the same command (and a third run with nothing left) and counts the index.
#   Benchmarks/dataset/resume.sh FOLDER MODEL OUT STOP_AT [more encode options…]
# VITREOUS names the binary (default: the release build of this checkout).
set -u
V=${VITREOUS:-$(cd "$(dirname "$0")/../.." && pwd)/.build/release/vitreous}
folder=$1 model=$2 out=$3 stop_at=$4; shift 4
rm -rf "$out"
$V encode "$folder" --model "$model" --out "$out" --dataset --batch 8 --size 224 --device cpu "$@" 2>/dev/null &
pid=$!
while kill -0 $pid 2>/dev/null; do
    lines=$(wc -l < "$out/index-00000.jsonl" 2>/dev/null || echo 0)
    [ "${lines:-0}" -ge "$stop_at" ] && { kill -9 $pid; break; }
    sleep 0.1
done
wait $pid 2>/dev/null
echo "killed with $(wc -l < "$out/index-00000.jsonl") index lines"
/usr/bin/time -f "rerun wall %e s, peak %M KB" $V encode "$folder" --model "$model" --out "$out" --dataset --batch 8 --size 224 --device cpu --json "$@" 2>&1 | grep -v "images/s\|^[0-9]*/[0-9]* images" | cut -c1-800
/usr/bin/time -f "rerun with nothing left: wall %e s" $V encode "$folder" --model "$model" --out "$out" --dataset --batch 8 --size 224 --device cpu "$@" 2>&1 | tail -2
echo "index lines: $(wc -l < "$out/index-00000.jsonl"), distinct sources: $(grep -o '"source":"[^"]*"' "$out/index-00000.jsonl" | sort -u | wc -l)"
