#!/usr/bin/env python3
"""Small files in the layout of the downsampled ImageNet 16x16 batches
(Chrabaszcz, Loshchilov & Hutter, arXiv:1707.08819), which NAS-Bench-201's
ImageNet16-120 is cut from, for testing edas' loader without the real files
(they cannot be downloaded here).

THE PIXELS ARE MADE UP: pixel p of image n of file f (train batches
f = 1..10, val_data f = 0) is (31 f + 7 n + p) mod 256, so that a test can
predict every value; only the layout is the data set's:

- a directory holding `train_data_batch_1` .. `train_data_batch_10` and
  `val_data`;
- each file one pickle of a dict {'data': uint8 array (N, 768), 'labels':
  list of N ints in 1..1000, 'mean': float64 array (768,) (train batches
  only)}; a row is 256 red, 256 green, then 256 blue bytes, rows of the
  image top to bottom;
- written by Python 2, which is why the official readers (AutoDL-Projects'
  `ImageNet16`) load them with `pickle.load(f, encoding='latin1')`: keys
  and the array's bytes are Python 2 `str` (`BINSTRING`/`STRING` opcodes)
  and NumPy's module is `numpy.core.multiarray`. This script writes that
  form with a pickler whose `bytes` are Python 2 strings.

The real files' pickle protocol is not known here, so the train batches
are written with protocol 2 (cPickle's highest) and `val_data` with
protocol 0 (Python 2's default): the reader must read both.

Checked by this script: Python 3 loads each file written here with
`pickle.load(f, encoding='latin1')`, as AutoDL-Projects does, and gets the
arrays and labels written.

Usage: python3 bench/imagenet16_files.py OUT_DIR   (needs numpy)
Labels: each train batch holds 4 images labelled 1, 120, 121, 1000 plus
the batch number's class (so 4 of 5 images of a batch fall in
ImageNet16-120's classes 1..120 when the batch number is at most 120);
`val_data` holds 6 images labelled 1, 2, 120, 121, 500, 1000.
"""

import os
import pickle
import struct
import sys

import numpy as np

SIDE = 16


class Python2Pickler(pickle._Pickler):
    """Writes `bytes` as Python 2 wrote `str`, and NumPy's 1.x module name."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if self.proto == 0:
            # Python 2's repr of a str: the literal escape_decode reads.
            self.write(b"S" + repr(obj)[1:].encode("ascii") + b"\n")
        elif len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_dumps(obj, protocol):
    import io

    buf = io.BytesIO()
    Python2Pickler(buf, protocol=protocol).dump(obj)
    data = buf.getvalue()
    # NumPy 2 names its module numpy._core; NumPy 1 (and the files) numpy.core.
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def batch(f, labels, with_mean):
    n = np.arange(len(labels))[:, None]
    p = np.arange(3 * SIDE * SIDE)[None, :]
    data = ((31 * f + 7 * n + p) % 256).astype(np.uint8)
    d = {b"data": data, b"labels": list(labels)}
    if with_mean:
        d[b"mean"] = data.astype(np.float64).mean(axis=0)
    return d


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {}
    for k in range(1, 11):
        files[f"train_data_batch_{k}"] = (batch(k, [1, 120, 121, 1000, k], True), 2)
    files["val_data"] = (batch(0, [1, 2, 120, 121, 500, 1000], False), 0)
    for name, (d, protocol) in files.items():
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(py2_dumps(d, protocol))
        with open(path, "rb") as f:
            back = pickle.load(f, encoding="latin1")
        assert (back["data"] == d[b"data"]).all(), name
        assert back["labels"] == d[b"labels"], name
        print(f"{path}: {len(d[b'labels'])} images, protocol {protocol}")


if __name__ == "__main__":
    main()
