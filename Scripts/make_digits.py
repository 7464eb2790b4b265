#!/usr/bin/env python3
"""Writes the embedded digits data set, Sources/Descent/Data/Resources/digits-*.idx, from the copy of
the UCI ML hand-written digits (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0) that scikit-learn
ships: 1,797 images of 8×8 pixels valued 0…16, ten classes. The images are shuffled with a fixed
seed and split 1,437 for training and 360 for testing; IDX files (as MNIST's), unsigned bytes.

    python3 Scripts/make_digits.py      # needs scikit-learn (pip install scikit-learn numpy)
"""
import gzip, os, struct

import numpy as np
import sklearn.datasets

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Descent", "Data", "Resources")
path = os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", "digits.csv.gz")
data = np.loadtxt(gzip.open(path), delimiter=",", dtype=np.int64)
images, labels = data[:, :64].reshape(-1, 8, 8).astype(np.uint8), data[:, 64].astype(np.uint8)
assert images.shape == (1797, 8, 8) and images.max() == 16 and set(labels) == set(range(10))
order = np.random.default_rng(0).permutation(len(labels))
images, labels = images[order], labels[order]


def idx(name, array):
    with open(os.path.join(ROOT, name), "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, array.ndim))
        f.write(struct.pack(">" + "I" * array.ndim, *array.shape))
        f.write(array.tobytes())


idx("digits-train-images.idx", images[:1437])
idx("digits-train-labels.idx", labels[:1437])
idx("digits-test-images.idx", images[1437:])
idx("digits-test-labels.idx", labels[1437:])
print("digits: 1437 training and 360 test images written to", os.path.normpath(ROOT))
