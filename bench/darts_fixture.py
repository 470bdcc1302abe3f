"""Writes the PyTorch import fixture of `crates/edas-train/tests/import.rs`:
a small DARTS `NetworkCIFAR` (C=4, L=5, 10 classes, no auxiliary head) whose
genotype uses every op, saved as DARTS' `train.py` saves it
(`torch.save(model.state_dict())`, `darts_cifar.pt`) and as a checkpoint
dict of a `DataParallel` model (`{"epoch", "state_dict": {"module.…"},
"best_acc_top1"}`, `darts_cifar_checkpoint.pt`), and `darts_cifar.json`: the
network's settings and its eval-mode logits on a fixed input.

Usage: python darts_fixture.py OUT_DIR (needs torch; `cargo xtask interop`
uses the environment of `cargo xtask bench torch`).
"""

import json
import math
import os
import sys

import torch

from darts_model import Network, parse_genotype, randomize_batchnorm

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_3x3', 0), "
            "('skip_connect', 1), ('avg_pool_3x3', 2), ('dil_conv_5x5', 3), ('max_pool_3x3', 0), "
            "('sep_conv_3x3', 4)], normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 0), "
            "('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_5x5', 2), ('dil_conv_3x3', 1), "
            "('skip_connect', 2), ('sep_conv_3x3', 0), ('dil_conv_5x5', 3)], reduce_concat=[2, 3, 4, 5])")
SETTINGS = {"channels": 4, "layers": 5, "classes": 10, "auxiliary": False, "image_size": 32}
BATCH = 2


def fixed_input(batch, size):
    """`2 sin(0.37 i)` at flat index i, in float32 (the Rust test computes the same)."""
    n = batch * 3 * size * size
    return torch.tensor([2.0 * math.sin(0.37 * i) for i in range(n)], dtype=torch.float32).reshape(
        batch, 3, size, size)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    s = SETTINGS
    net = Network(s["channels"], s["classes"], s["layers"], s["auxiliary"], parse_genotype(GENOTYPE))
    randomize_batchnorm(net, s["image_size"], passes=3, batch=8)
    x = fixed_input(BATCH, s["image_size"])
    with torch.no_grad():
        logits, _ = net(x)
    state = net.state_dict()
    torch.save(state, os.path.join(out, "darts_cifar.pt"))
    checkpoint = {"epoch": 3, "best_acc_top1": 0.5,
                  "state_dict": {"module." + k: v for k, v in state.items()}}
    torch.save(checkpoint, os.path.join(out, "darts_cifar_checkpoint.pt"))
    record = dict(s, genotype=GENOTYPE, batch=BATCH, input="2 sin(0.37 i), i the flat index, float32",
                  logits=[[float(v) for v in row] for row in logits], torch=torch.__version__)
    with open(os.path.join(out, "darts_cifar.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
