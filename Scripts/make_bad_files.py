#!/usr/bin/env python3
"""Writes Tests/Fixtures/bad/: safetensors files that are wrong in one way each, as a user might
download them (truncated, a lying header, overlapping or out-of-bounds offsets, a shape whose
size overflows, a name given twice, an unknown dtype, ...), and a checkpoint whose tensors are
another model's. The tests read every file with the library and with `descent inspect` and check
the error names the file and the problem. Needs only Python's standard library.

    python3 Scripts/make_bad_files.py

The data-file cases (IDX, gzip, CSV) are in Tests/Fixtures/data, written by make_fixtures.py.
"""
import json, os, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "bad")


def safetensors(header, data=b"", header_text=None, declared=None):
    text = (header_text if header_text is not None else json.dumps(header, separators=(",", ":"))).encode()
    return struct.pack("<Q", len(text) if declared is None else declared) + text + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def main():
    os.makedirs(OUT, exist_ok=True)
    good = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    files = {
        "empty.safetensors": b"",
        "truncated.safetensors": safetensors(good, f32(1, 2, 3, 4))[:-6],
        "header_cut.safetensors": safetensors(good, f32(1, 2, 3, 4))[:20],
        "lying_header_length.safetensors": safetensors(good, f32(1, 2, 3, 4), declared=4096),
        "huge_header_length.safetensors": safetensors(good, f32(1, 2, 3, 4), declared=1 << 62),
        "header_not_json.safetensors": safetensors(None, header_text='{"w": {"dtype": "F32",'),
        "header_is_a_list.safetensors": safetensors([1, 2, 3]),
        "out_of_bounds.safetensors": safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, f32(1, 2, 3, 4)),
        "reversed_offsets.safetensors": safetensors({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}, f32(1, 2, 3, 4)),
        "overlapping.safetensors": safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                                                "b": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]}}, f32(1, 2, 3, 4)),
        "overflowing_shape.safetensors": safetensors({"w": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 16]}},
                                                     f32(1, 2, 3, 4)),
        "shape_mismatch.safetensors": safetensors({"w": {"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 16]}}, f32(1, 2, 3, 4)),
        "negative_shape.safetensors": safetensors({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, f32(1, 2, 3, 4)),
        "unknown_dtype.safetensors": safetensors({"w": {"dtype": "F24", "shape": [4], "data_offsets": [0, 12]}}, f32(1, 2, 3)),
        "duplicate_names.safetensors": safetensors(None, f32(1, 2, 3, 4), header_text=
            '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}'),
        "metadata_not_string.safetensors": safetensors({"__metadata__": {"epoch": 3}, **good}, f32(1, 2, 3, 4)),
        "missing_offsets.safetensors": safetensors({"w": {"dtype": "F32", "shape": [4]}}, f32(1, 2, 3, 4)),
    }
    # A Descent checkpoint (format, epoch, step, recipe) whose model tensors are not those of the
    # model its metadata names: an MLP's first layer under a checkpoint that says cnn.
    meta = {"format": "descent-checkpoint", "model": "cnn", "input-shape": "1x8x8", "classes": "10", "optimizer": "adam"}
    weight, bias, counters = f32(*([0.01] * (64 * 4))), f32(0, 0, 0, 0), struct.pack("<qq", 1, 23)
    w, b = len(weight), len(weight) + len(bias)
    files["other_model_checkpoint.safetensors"] = safetensors(
        {"__metadata__": meta, "model.1.weight": {"dtype": "F32", "shape": [4, 64], "data_offsets": [0, w]},
         "model.1.bias": {"dtype": "F32", "shape": [4], "data_offsets": [w, b]},
         "progress.epoch": {"dtype": "I64", "shape": [], "data_offsets": [b, b + 8]},
         "progress.step": {"dtype": "I64", "shape": [], "data_offsets": [b + 8, b + 16]}},
        weight + bias + counters)
    # Data: float32 IDX images with a NaN pixel (and their labels), a gzip that ends early.
    pixels = [float(i) for i in range(2 * 3 * 3)]
    pixels[13] = float("nan")
    files["nan_pixels-images.idx"] = bytes([0, 0, 0x0D, 3]) + struct.pack(">III", 2, 3, 3) + struct.pack(">18f", *pixels)
    files["nan_pixels-labels.idx"] = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 2) + bytes([0, 1])
    import gzip
    whole = gzip.compress(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 300) + bytes(range(256)) + bytes(44), mtime=0)
    files["ends_early-labels.idx.gz"] = whole[: len(whole) // 2]
    # Found by Scripts/fuzz.sh (idx): 16 dims, one of them 0 (no data needed) and others of
    # 2^32 − 256, whose product overflows the strides; and the same in a safetensors header.
    files["fuzz_zero_dim_huge_shape.idx"] = bytes.fromhex("000008100000000000000000000000000000000000ffffffff0000000000000000000000000000000000000000000000000000000000000001000000000000000f000001")
    files["zero_dim_huge_shape.safetensors"] = safetensors({"w": {"dtype": "F32", "shape": [0, 1 << 40, 1 << 40], "data_offsets": [0, 0]}})
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} files to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
