#!/usr/bin/env python3
"""Writes the small data files the reader tests use (Tests/Fixtures/data), good and bad ones.
Plain Python (struct, gzip): pixel (n, y, x) of image n is (n * 31 + y * 7 + x * 3) % 256 and its
label n % 3; see Tests/DescentTests/Data/ReaderTests.swift.

    python3 Scripts/make_data_files.py
"""
import gzip, os, struct, zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "data")
N, H, W = 5, 4, 3


def pixel(n, y, x):
    return (n * 31 + y * 7 + x * 3) % 256


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def idx(code, shape, payload):
    return struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(">" + "I" * len(shape), *shape) + payload


images = bytes(pixel(n, y, x) for n in range(N) for y in range(H) for x in range(W))
labels = bytes(n % 3 for n in range(N))
write("images.idx", idx(0x08, (N, H, W), images))
write("labels.idx", idx(0x08, (N,), labels))
write("images.idx.gz", gzip.compress(idx(0x08, (N, H, W), images), mtime=0))
write("labels.idx.gz", gzip.compress(idx(0x08, (N,), labels), mtime=0))
write("floats.idx", idx(0x0D, (2, 3), struct.pack(">6f", 0.5, -1.25, 3.0, 1e-3, 2.5, -7.0)))
write("int32.idx", idx(0x0C, (4,), struct.pack(">4i", -2, 70000, 0, 5)))
# Bad files.
write("truncated.idx", idx(0x08, (N, H, W), images)[:-5])
write("bad_magic.idx", b"\x01\x02" + idx(0x08, (N,), labels)[2:])
write("bad_type.idx", idx(0x07, (N,), labels))
write("huge_shape.idx", idx(0x08, (65536, 65536, 65536), b"\x00" * 8))
write("labels_short.idx", idx(0x08, (N - 1,), labels[:-1]))
write("labels_big.idx", idx(0x08, (N,), bytes([0, 1, 2, 9, 1])))
write("truncated.idx.gz", gzip.compress(idx(0x08, (N, H, W), images), mtime=0)[:-12])
write("not_gzip.idx.gz", b"this is not gzip data at all, really")
write("empty.idx", idx(0x08, (0, H, W), b""))
write("empty_labels.idx", idx(0x08, (0,), b""))

rows = [[n % 3] + [pixel(n, y, x) for y in range(H) for x in range(W)] for n in range(N)]
text = "\n".join(",".join(map(str, r)) for r in rows) + "\n"
write("first.csv", text.encode())
write("first.csv.gz", gzip.compress(text.encode(), mtime=0))
header = "label," + ",".join(f"p{i}" for i in range(H * W))
write("header.csv", (header + "\r\n" + text.replace("\n", "\r\n")).encode())
last = "\n".join(",".join(map(str, r[1:] + r[:1])) for r in rows) + "\n"
write("last.csv", last.encode())
write("ragged.csv", (text + "1,2,3\n").encode())
write("not_number.csv", text.replace("31", "3x1", 1).encode())
write("bad_label.csv", ("1.5," + ",".join(["0"] * (H * W)) + "\n").encode())
write("header_only.csv", (header + "\n").encode())
write("nan.csv", text.replace(",31,", ",nan,", 1).encode())

# Single images, 5 wide and 4 high: pixel (y, x) = (40y + 9x + 3) % 256, as PGM and PNG.
IW, IH = 5, 4
img = [[(40 * y + 9 * x + 3) % 256 for x in range(IW)] for y in range(IH)]
write("image.pgm", b"P5\n# a comment\n%d %d\n255\n" % (IW, IH) + bytes(v for row in img for v in row))
write("image_text.pgm", ("P2\n%d %d\n255\n" % (IW, IH) + "\n".join(" ".join(map(str, row)) for row in img) + "\n").encode())


def png(rows, width, height, colour=0, depth=8, filters=True):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = bytearray()
    for y, row in enumerate(rows):
        f = y % 5 if filters else 0
        prev = rows[y - 1] if y > 0 else [0] * len(row)
        out = []
        for x, v in enumerate(row):
            a = row[x - 1] if x > 0 else 0
            b = prev[x]
            c = prev[x - 1] if x > 0 else 0
            if f == 0: pr = 0
            elif f == 1: pr = a
            elif f == 2: pr = b
            elif f == 3: pr = (a + b) // 2
            else:
                p_ = a + b - c
                pa, pb, pc = abs(p_ - a), abs(p_ - b), abs(p_ - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((v - pr) % 256)
        raw += bytes([f] + out)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


# Rows 0–3 use filters None, Sub, Up and Average; a fifth, taller image also Paeth.
write("image.png", png(img, IW, IH))
tall = img + [[(7 * x + 200) % 256 for x in range(IW)]]
write("image_paeth.png", png(tall, IW, IH + 1))
write("rgb.png", png([[v for v in row for _ in range(3)] for row in img], IW, IH, colour=2, filters=False))
write("truncated.png", png(img, IW, IH)[:-20])
write("not_image.png", b"hello")
print("data files written to", os.path.normpath(OUT))
