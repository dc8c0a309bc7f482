#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/ (committed; rerun only to change them).

Small valid inputs of every kind each harness reads: safetensors files of every readable dtype and some
others, tiny DINOv2 checkpoints in the three key layouts (GELU and SwiGLU, with and without registers),
PNGs of every colour type and bit depth, and argument lines of every command. Deterministic: no clocks,
no randomness beyond a fixed seed.
"""
import json
import random
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "Corpus"
rng = random.Random(10)

PACK = {"F32": "<f", "F64": "<d", "F16": "<e", "I32": "<i", "I64": "<q", "U8": "<B", "I8": "<b", "U16": "<H",
        "BOOL": "<?"}


def element(dtype, value):
    if dtype == "BF16":
        return struct.pack("<f", value)[2:]
    if dtype in ("BOOL",):
        return struct.pack("<?", value > 0)
    if dtype[0] in "IU":
        return struct.pack(PACK[dtype], int(value * 10) % 100)
    return struct.pack(PACK[dtype], value)


def safetensors(tensors, metadata=None, align=8):
    """tensors: list of (name, dtype, shape, values)."""
    header, data = {}, b""
    for name, dtype, shape, values in tensors:
        raw = b"".join(element(dtype, v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % align)
    return struct.pack("<Q", len(text)) + text + data


def values(shape):
    count = 1
    for extent in shape:
        count *= extent
    return [round(rng.uniform(-1, 1), 3) for _ in range(count)]


def checkpoint(layout, dtype="F32", mlp="gelu", registers=0, depth=1, prefix="", layer_scale=True, D=4, H=8,
               p=2, g=2):
    """A DINOv2 checkpoint with hidden size D, MLP width H, patch p, a g×g position grid."""
    orig = layout == "original"
    keys = []

    def add(key, shape):
        keys.append((prefix + key, dtype, shape, values(shape)))

    add("cls_token" if orig else "embeddings.cls_token", [1, 1, D])
    add("mask_token" if orig else "embeddings.mask_token", [1, D])
    add("pos_embed" if orig else "embeddings.position_embeddings", [1, 1 + g * g, D])
    patch = "patch_embed.proj" if orig else "embeddings.patch_embeddings.projection"
    add(patch + ".weight", [D, 3, p, p])
    add(patch + ".bias", [D])
    if registers:
        add("register_tokens" if orig else "embeddings.register_tokens", [1, registers, D])
    for n in range(depth):
        b = f"blocks.{n}." if orig else f"encoder.layer.{n}."
        for norm in ("norm1", "norm2"):
            add(b + norm + ".weight", [D])
            add(b + norm + ".bias", [D])
        if orig:
            qkv, proj = ["attn.qkv"], "attn.proj"
        elif layout == "hf":
            qkv = ["attention.attention." + x for x in ("query", "key", "value")]
            proj = "attention.output.dense"
        else:
            qkv, proj = ["attention." + x for x in ("q_proj", "k_proj", "v_proj")], "attention.o_proj"
        for name in qkv:
            add(b + name + ".weight", [3 * D // len(qkv), D])
            add(b + name + ".bias", [3 * D // len(qkv)])
        add(b + proj + ".weight", [D, D])
        add(b + proj + ".bias", [D])
        if layer_scale:
            for i in ("1", "2"):
                add(b + (f"ls{i}.gamma" if orig else f"layer_scale{i}.lambda1"), [D])
        if mlp == "gelu":
            inputs, output, rows = ["mlp.fc1"], "mlp.fc2", H
        elif orig:
            inputs, output, rows = ["mlp.w12"], "mlp.w3", 2 * H
        elif layout == "hf":
            inputs, output, rows = ["mlp.weights_in"], "mlp.weights_out", 2 * H
        else:
            inputs, output, rows = ["mlp.gate_proj", "mlp.up_proj"], "mlp.down_proj", 2 * H
        for name in inputs:
            add(b + name + ".weight", [rows // len(inputs), D])
            add(b + name + ".bias", [rows // len(inputs)])
        add(b + output + ".weight", [D, H])
        add(b + output + ".bias", [D])
    add("norm.weight" if orig else "layernorm.weight", [D])
    add("norm.bias" if orig else "layernorm.bias", [D])
    return safetensors(keys, metadata={"format": "pt"})


def png(width, height, bit_depth, color_type, interlace=0, palette=None, trns=None, gamma=None):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    limit = (1 << bit_depth) - 1 if color_type != 3 else len(palette) // 3 - 1

    def rows(w, h):
        out = b""
        for _ in range(h):
            samples = [rng.randint(0, limit) for _ in range(w * channels)]
            if bit_depth == 16:
                line = b"".join(struct.pack(">H", s) for s in samples)
            elif bit_depth == 8:
                line = bytes(samples)
            else:
                bits = "".join(format(s, f"0{bit_depth}b") for s in samples)
                bits += "0" * (-len(bits) % 8)
                line = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
            out += bytes([rng.randint(0, 4)]) + line  # every filter type
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                               (0, 1, 1, 2)]:
            w, h = len(range(x0, width, dx)), len(range(y0, height, dy))
            if w and h:
                raw += rows(w, h)
    else:
        raw = rows(width, height)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0,
                                                             interlace))
    if gamma:
        data += chunk(b"gAMA", struct.pack(">I", gamma))
    if palette:
        data += chunk(b"PLTE", bytes(palette))
    if trns:
        data += chunk(b"tRNS", bytes(trns))
    return data + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write(target, name, data):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    # Safetensors: every readable dtype, unreadable ones, scalars, empty tensors, metadata, unaligned data.
    for dtype in ("F32", "F16", "BF16", "F64"):
        write("FuzzSafetensors", f"{dtype.lower()}.safetensors",
              safetensors([("a", dtype, [2, 3], values([2, 3])), ("b", dtype, [], [0.5])], metadata={"k": "v"}))
    write("FuzzSafetensors", "integers.safetensors",
          safetensors([(n, d, [3], [0.1, 0.2, 0.3]) for n, d in (("i", "I32"), ("u", "U8"), ("q", "BOOL"))]))
    write("FuzzSafetensors", "empty-tensors.safetensors",
          safetensors([("zero", "F32", [0, 4], []), ("one", "F16", [1], [1.0])]))
    write("FuzzSafetensors", "empty-header.safetensors", safetensors([]))
    write("FuzzSafetensors", "unaligned.safetensors",
          safetensors([("x", "U8", [1], [0]), ("y", "F32", [2], [1.0, 2.0])], align=1))
    write("FuzzSafetensors", "checkpoint-orig.safetensors", checkpoint("original", dtype="F16"))
    write("FuzzSafetensors", "checkpoint-hf.safetensors", checkpoint("hf", dtype="BF16", prefix="dinov2."))

    # PNG: every colour type and bit depth, a palette with transparency, interlacing, gamma.
    gray_palette = [v for i in range(4) for v in (i * 80, 255 - i * 60, i * 30)]
    cases = [("gray1", 5, 3, 1, 0, {}), ("gray2", 4, 3, 2, 0, {}), ("gray4", 3, 2, 4, 0, {}),
             ("gray8", 3, 3, 8, 0, {}), ("gray16", 2, 2, 16, 0, {"gamma": 100000}),
             ("rgb8", 4, 3, 8, 2, {}), ("rgb16", 2, 3, 16, 2, {}),
             ("palette2", 5, 2, 2, 3, {"palette": gray_palette, "trns": [0, 128]}),
             ("palette8", 3, 2, 8, 3, {"palette": gray_palette}),
             ("grayalpha8", 3, 2, 8, 4, {}), ("grayalpha16", 2, 2, 16, 4, {}),
             ("rgba8", 3, 3, 8, 6, {}), ("rgba16", 2, 2, 16, 6, {}),
             ("rgb8-interlaced", 9, 9, 8, 2, {"interlace": 1}), ("gray1-interlaced", 10, 3, 1, 0, {"interlace": 1})]
    for name, w, h, depth, color, extra in cases:
        write("FuzzPNG", f"{name}.png", png(w, h, depth, color, **extra))

    # CLI: argument lines (one argument per line) and a register-neuron file.
    lines = [
        ["devices"], ["demo", "--out", "d"], ["--help"], ["encode", "--help"], ["repair", "--version"],
        ["encode", "img.png", "--model", "m.safetensors", "--size", "224", "--batch", "4", "--layers", "0,6,all",
         "--format", "npy", "--json", "--device", "cpu"],
        ["encode", "photos", "--model", "m", "--size", "84x112", "--layers", "all", "--heads", "6", "--verbose"],
        ["attention", "cat.png", "--model", "m", "--size", "auto", "--opacity", "0.5", "--out", "maps"],
        ["norms", "cat.png", "--model", "m", "--layers", "1,2", "--size", "518"],
        ["repair", "x.png", "--model", "m", "--method", "ttr", "--neurons", "n.json", "--threshold", "3.5",
         "--direction", "--report", "--top-k", "4", "--detect-layer", "3", "--top-layer", "2"],
        ["repair", "x", "--model", "m", "--method", "inpaint", "--find-neurons", "photos"],
    ]
    for index, line in enumerate(lines):
        write("FuzzCLI", f"args-{index:02}", "\n".join(line).encode())
    write("FuzzCLI", "neurons.json", json.dumps({"count": 1, "neurons": {"0": [1, 5]}, "rule": "perNeuronMax",
                                                  "scale": 1.5}).encode())

    # Checkpoints: first byte 2 × heads (+1 when a config.json comes first, ended by a NUL).
    models = [("orig", checkpoint("original")), ("hf", checkpoint("hf", dtype="F16")),
              ("t5", checkpoint("t5", dtype="BF16", prefix="model.")),
              ("orig-swiglu-reg", checkpoint("original", mlp="swiglu", registers=2, depth=2, layer_scale=False)),
              ("hf-swiglu", checkpoint("hf", mlp="swiglu", dtype="F16")),
              ("t5-swiglu-reg", checkpoint("t5", mlp="swiglu", registers=1, dtype="F16"))]
    for name, data in models:
        write("FuzzCheckpoint", f"{name}.bin", bytes([2 * 1]) + data)
    config = {"hidden_size": 4, "num_attention_heads": 2, "layer_norm_eps": 1e-5}
    write("FuzzCheckpoint", "hf-config.bin", b"\x01" + json.dumps(config).encode() + b"\x00" + checkpoint("hf"))

if __name__ == "__main__":
    main()
