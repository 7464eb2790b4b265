#!/usr/bin/env python3
"""PyTorch's side of `descent train`: the same models and recipe on the same data, for comparing
accuracy and time.

    python3 Scripts/train_reference.py                       # the embedded digits, cnn-bn, Adam 1e-3, 20 epochs
    python3 Scripts/train_reference.py --idx DIR --model cnn --epochs 5
    python3 Scripts/train_reference.py --csv FILE [--test-csv FILE] --height H --width W

Reads IDX (plain or .gz) and CSV files as `descent train` does (CSV: label first, pixels scaled by
1/255 when any exceeds 1; without --test-csv the same fixed 80/20 split is NOT reproduced, so give
one). Prints the test accuracy after each epoch and the total time.
"""
import argparse, gzip, os, struct, time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read_idx(path):
    data = open(path, "rb").read()
    if path.endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    code, rank = data[2], data[3]
    shape = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return np.frombuffer(data[4 + 4 * rank:], dtype=dtype).reshape(shape), code


def idx_images(images, labels, scale=None):
    x, code = read_idx(images)
    y, _ = read_idx(labels)
    x = x.astype(np.float32) / (scale or (255.0 if code == 0x08 else 1.0))
    return torch.tensor(x).unsqueeze(1), torch.tensor(y.astype(np.int64))


def csv_images(path, h, w):
    rows = np.loadtxt(path, delimiter=",", dtype=np.float32)
    y, x = rows[:, 0].astype(np.int64), rows[:, 1:]
    if x.max() > 1:
        x = x / 255
    return torch.tensor(x).reshape(-1, 1, h, w), torch.tensor(y)


def model(kind, c, h, w, classes):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, classes))
    bn = kind == "cnn-bn"
    layers = [nn.Conv2d(c, 16, 3, padding=1)] + ([nn.BatchNorm2d(16)] if bn else []) + [nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(16, 32, 3, padding=1)] + ([nn.BatchNorm2d(32)] if bn else []) + [nn.ReLU(), nn.MaxPool2d(2),
              nn.Flatten(), nn.Linear(32 * (h // 4) * (w // 4), classes)]
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--idx")
    p.add_argument("--csv")
    p.add_argument("--test-csv")
    p.add_argument("--height", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--model", default="cnn-bn", choices=["mlp", "cnn", "cnn-bn"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.idx:
        files = sorted(os.listdir(a.idx))
        pick = lambda pre, kind: os.path.join(a.idx, next(f for f in files if any(f.startswith(x) for x in pre) and kind in f))
        xtr, ytr = idx_images(pick(["train"], "images"), pick(["train"], "labels"))
        xte, yte = idx_images(pick(["t10k", "test"], "images"), pick(["t10k", "test"], "labels"))
    elif a.csv:
        xtr, ytr = csv_images(a.csv, a.height, a.width)
        xte, yte = csv_images(a.test_csv, a.height, a.width)
    else:
        res = os.path.join(ROOT, "Sources", "Descent", "Data", "Resources")
        xtr, ytr = idx_images(os.path.join(res, "digits-train-images.idx"), os.path.join(res, "digits-train-labels.idx"), 16.0)
        xte, yte = idx_images(os.path.join(res, "digits-test-images.idx"), os.path.join(res, "digits-test-labels.idx"), 16.0)
    classes = int(max(ytr.max(), yte.max())) + 1
    net = model(a.model, xtr.shape[1], xtr.shape[2], xtr.shape[3], classes)
    decay = [q for q in net.parameters() if q.dim() > 1]
    rest = [q for q in net.parameters() if q.dim() <= 1]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": 0.0}, {"params": rest, "weight_decay": 0.0}], lr=a.lr)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=a.batch_size, shuffle=True)
    start = time.perf_counter()
    for epoch in range(1, a.epochs + 1):
        net.train()
        for x, y in loader:
            loss = nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch}: test accuracy {100 * acc:.2f}%")
    print(f"PyTorch {torch.__version__}: test accuracy {100 * acc:.2f}% after {a.epochs} epochs in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
