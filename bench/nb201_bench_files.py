#!/usr/bin/env python3
"""Small benchmark files in the official layouts of NAS-Bench-201 and of
NATS-Bench's topology set, for testing edas' benchmark reader without the
official files (which cannot be downloaded here).

THE VALUES ARE MADE UP. Each of a handful of cells gets accuracies, losses,
parameters and FLOPs that are simple functions of its index; only the
layout is the benchmarks'.

The layout is built with the public reader's own classes (`nats_bench` on
PyPI, pure Python: `ArchResults`, `ResultsCount`, `pickle_save`), so that the
nested state dictionaries are exactly what those classes store:

- NATS-tss, full file: `NATS-tss-v1_0-3ffb9.pickle.pbz2`, a bz2-compressed
  pickle (protocol 4) of {'meta_archs', 'arch2infos', 'evaluated_indexes'};
  `arch2infos[index]` maps a training length ('12', '200') to an
  ArchResults state.
- NATS-tss, "simple" directory: `NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2`
  ({'meta_archs'}) and one `{index:06d}.pickle.pbz2` per cell ({'12':
  state, '200': state}).
- NAS-Bench-201 v1.0/v1.1: `NAS-Bench-201-v1_1-096897.pth`, the same
  top-level keys, `arch2infos[index] = {'less': state (12 epochs), 'full':
  state (200 epochs)}`, saved by `torch.save` in PyTorch's legacy
  (pre-1.6) serialisation: five pickles in a row, protocol 2 (the magic
  number, the protocol version 1001, the system info, the object, the
  list of storage keys, empty here as the file holds no tensors). Written
  here by hand because torch is not needed for a tensor-free object.

Checked: the official reader (`nats_bench.create(path, 'tss', fast_mode=...)`,
nats_bench 1.8) opens both NATS layouts written here and returns their
values (`get_more_info`, `get_cost_info`).

Usage: python3 bench/nb201_bench_files.py OUT_DIR [FULL_EPOCHS]   (needs
`pip install nats_bench`). FULL_EPOCHS (default 200, the benchmarks') sets
how many epochs the long training records: the test fixtures of
crates/edas-benchmark/tests/data/ use 3 to stay small (the layout is the
same; a reader takes the last epoch from each result's `epochs`).
"""

import os
import pickle
import sys

from nats_bench.api_utils import ArchResults, ResultsCount, pickle_save

# The cells: index -> architecture string (a handful of the 15,625; the
# benchmark's own indexes of these strings are not reproduced).
CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]

# Data sets and the evaluation sets each reports (NAS-Bench-201's paper,
# and the readers' `get_metrics`).
EVAL_SETS = {
    "cifar10-valid": ["x-valid", "ori-test"],
    "cifar10": ["ori-test"],
    "cifar100": ["x-valid", "x-test", "ori-test"],
    "ImageNet16-120": ["x-valid", "x-test", "ori-test"],
}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
SEEDS = [777, 888, 999]


def made_up_accuracy(index, dataset, seed, epoch, epochs, set_offset):
    """A made-up accuracy (percent): grows with the epoch, differs per
    cell, data set, seed and evaluation set."""
    base = {"cifar10-valid": 80.0, "cifar10": 85.0, "cifar100": 60.0, "ImageNet16-120": 35.0}[dataset]
    return round(base + 2.0 * index + 0.1 * (seed % 7) - set_offset - 10.0 * (1 - (epoch + 1) / epochs), 4)


def result(index, arch, dataset, seed, epochs):
    r = ResultsCount(
        name=dataset,
        state_dict=None,
        train_accs={e: made_up_accuracy(index, dataset, seed, e, epochs, -5.0) for e in range(epochs)},
        train_losses={e: round(2.0 / (e + 1), 4) for e in range(epochs)},
        params=round(0.073306 + 0.1 * index, 6),
        flop=round(7.78305 + 10.0 * index, 5),
        arch_config={"channel": 16, "num_cells": 5, "arch_str": arch, "class_num": CLASSES[dataset]},
        seed=seed,
        epochs=epochs,
        latency=[0.01 + 0.001 * index],
    )
    accs, losses, times = {}, {}, {}
    for k, name in enumerate(EVAL_SETS[dataset]):
        for e in range(epochs):
            key = "{:}@{:}".format(name, e)
            accs[key] = made_up_accuracy(index, dataset, seed, e, epochs, 0.5 * k)
            losses[key] = round(1.0 + 0.01 * index + 0.1 * k, 4)
            times[key] = 1.5
    r.update_eval(accs, losses, times)
    r.update_train_info(
        r.train_acc1es, {e: 99.0 for e in range(epochs)}, r.train_losses, {e: 10.0 for e in range(epochs)}
    )
    return r


def arch_results(index, arch, epochs, full):
    a = ArchResults(index, arch)
    for dataset in EVAL_SETS:
        for seed in SEEDS if full else SEEDS[:1]:
            a.update(dataset, seed, result(index, arch, dataset, seed, epochs))
    a.clear_params()
    return a.state_dict()


def legacy_torch_save(obj, path):
    """`torch.save(obj, path, _use_new_zipfile_serialization=False)` for an
    object without tensors: PyTorch's legacy format."""
    sys_info = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))
    with open(path, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, sys_info):
            pickle.dump(part, f, protocol=2)
        pickle.dump(obj, f, protocol=2)
        pickle.dump([], f, protocol=2)


def main(out, full_epochs):
    os.makedirs(out, exist_ok=True)
    indexes = list(range(len(CELLS)))
    # NATS-Bench topology: '12' and '200' epochs per cell.
    nats = {
        "meta_archs": list(CELLS),
        "arch2infos": {
            i: {"12": arch_results(i, a, 12, False), "200": arch_results(i, a, full_epochs, True)}
            for i, a in enumerate(CELLS)
        },
        "evaluated_indexes": indexes,
    }
    pickle_save(nats, os.path.join(out, "NATS-tss-v1_0-3ffb9.pickle"))
    simple = os.path.join(out, "NATS-tss-v1_0-3ffb9-simple")
    os.makedirs(simple, exist_ok=True)
    pickle_save({"meta_archs": list(CELLS)}, os.path.join(simple, "meta.pickle"))
    for i in indexes:
        pickle_save(nats["arch2infos"][i], os.path.join(simple, "{:06d}.pickle".format(i)))
    # NAS-Bench-201: 'less' (12 epochs) and 'full' (200 epochs).
    nb201 = {
        "meta_archs": list(CELLS),
        "arch2infos": {
            i: {"less": nats["arch2infos"][i]["12"], "full": nats["arch2infos"][i]["200"]} for i in indexes
        },
        "evaluated_indexes": indexes,
        "total_archs": len(CELLS),
    }
    legacy_torch_save(nb201, os.path.join(out, "NAS-Bench-201-v1_1-096897.pth"))
    print("wrote made-up benchmark files for {:} cells into {:}".format(len(CELLS), out))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 200)
