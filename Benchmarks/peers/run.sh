#!/usr/bin/env bash
# Vitreous against ONNX Runtime, OpenVINO and PyTorch on the same DINOv2 weights and input (see README.md).
# Sets up Benchmarks/peers/.venv (numpy, onnx, onnxruntime, openvino 2026.4; it sees the system's site packages,
# so a system-wide torch + transformers become the PyTorch peer) and the release vitreous-bench when missing,
# then runs onnx_vit.py with the given arguments, e.g.: Benchmarks/peers/run.sh --model vit-s --batch all
# Without torch and transformers importable the PyTorch peer is skipped (--no-torch) with a warning; without
# openvino (its install failed) the OpenVINO peer is (--no-openvino).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="$venv/bin/python"

if [[ ! -x "$python" ]]; then
    echo "run.sh: creating $venv" >&2
    python3 -m venv --system-site-packages "$venv"
fi
if ! "$python" -c "import numpy, onnx, onnxruntime" 2>/dev/null; then
    echo "run.sh: installing numpy, onnx and onnxruntime into $venv (a minute the first time)" >&2
    "$python" -m pip install --quiet --disable-pip-version-check numpy onnx onnxruntime
fi
# OpenVINO pinned to one release line so that tables from different days compare the same runtime.
if ! "$python" -c "import openvino, sys; sys.exit(not openvino.__version__.startswith('2026.4'))" 2>/dev/null; then
    echo "run.sh: installing openvino 2026.4 into $venv (about 180 MB)" >&2
    "$python" -m pip install --quiet --disable-pip-version-check 'openvino==2026.4.*' ||
        echo "run.sh: installing openvino failed" >&2
fi

bench="$repo/.build/release/vitreous-bench"
if [[ ! -x "$bench" ]] || ! "$bench" --help 2>/dev/null | grep -q -- '--model'; then
    echo "run.sh: building vitreous-bench (swift build -c release --product vitreous-bench)" >&2
    (cd "$repo" && swift build -c release --product vitreous-bench >&2)
fi

extra=()
if ! "$python" -c "import torch, transformers" 2>/dev/null; then
    echo "run.sh: torch/transformers not importable from $venv: skipping the PyTorch peer" \
         "(pip install torch transformers into it to include it)" >&2
    extra=(--no-torch)
fi
if ! "$python" -c "import openvino" 2>/dev/null; then
    echo "run.sh: openvino not importable from $venv: skipping the OpenVINO peer" >&2
    extra+=(--no-openvino)
fi

exec "$python" "$here/onnx_vit.py" "${extra[@]}" "$@"
