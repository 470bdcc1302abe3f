"""PyTorch reference for `cargo xtask bench torch`: DARTS_V2's CIFAR network,
forward + backward on CPU, to compare with `cargo xtask bench nn`
(`discrete-c16-l20`, `discrete-c36-l20`).

The network is `darts_model.py`'s (DARTS' module names). Usage:
python torch_darts.py CHANNELS [BATCH] [STEPS] [--layers L] [--device cuda] [--train];
python torch_darts.py ops [BATCH] [STEPS] [--only OP ...]; python torch_darts.py prim-pw-c16-h32 [BATCH] [STEPS]
[--prims prim-bn-c16-h32 ...].
Prints one JSON line. `--train` adds the SGD update (`edas bench train-cC-lL`);
on a GPU each step ends with a synchronisation and the peak CUDA memory is
reported.
"""

import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn

from darts_model import DARTS_V2, Network, make_op


def median_forward_backward(module, x, steps):
    """Median seconds of `module(x).sum().backward()` on a fresh tracked copy
    of `x`, after one untimed call."""

    def run():
        inp = x.clone().requires_grad_()
        module(inp).sum().backward()

    run()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


OPS = ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
       "dil_conv_3x3", "dil_conv_5x5"]


def ops(batch, steps, names=None):
    """Forward+backward time of each op alone (or of those in `names`) on
    [batch, 16, 32, 32]."""
    x = torch.randn(batch, 16, 32, 32)
    for name in names or OPS:
        if name not in OPS:
            sys.exit(f"unknown op {name!r} (one of {', '.join(OPS)})")
        op = make_op(name, 16, 1).train()
        median = median_forward_backward(op, x, steps)
        print(json.dumps({"case": f"op-{name}", "batch": batch, "median_step_s": median}))


def prims(batch, steps, cases):
    """Forward+backward time of one primitive, input and weights tracked, as
    `edas bench prim-KIND-cC-hH` times ours: pw (1x1 convolution C to C),
    dw3 (ReLU, 3x3 depthwise convolution), bn (affine BatchNorm, training),
    relu, max3 (3x3 max pooling, stride 1, padding 1)."""
    for case in cases:
        _, kind, c, h = case.split("-")
        c, h = int(c[1:]), int(h[1:])
        mod = {
            "pw": lambda: nn.Conv2d(c, c, 1, bias=False),
            "dw3": lambda: nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)),
            "bn": lambda: nn.BatchNorm2d(c),
            "relu": lambda: nn.ReLU(),
            "max3": lambda: nn.MaxPool2d(3, 1, 1),
        }[kind]().train()
        median = median_forward_backward(mod, torch.randn(batch, c, h, h), steps)
        print(json.dumps({"case": f"pytorch-{case}", "batch": batch, "median_step_s": median}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("channels", nargs="?", default="16",
                   help="C, `ops` for each op alone, or a `prim-KIND-cC-hH` case (then --prims may add more)")
    p.add_argument("--prims", nargs="*", default=[], help="more prim-KIND-cC-hH cases")
    p.add_argument("--only", nargs="*", default=[], help="with `ops`: these ops only")
    p.add_argument("batch", nargs="?", type=int, default=32)
    p.add_argument("steps", nargs="?", type=int, default=3)
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--train", action="store_true",
                   help="add the SGD update (momentum 0.9, weight decay 3e-4) to each step, "
                        "as `edas bench train-cC-lL` does (same as --phase train)")
    p.add_argument("--phase", choices=["fwd", "fwdbwd", "train"], default=None,
                   help="stop after the loss (fwd, as `edas bench fwd-cC-lL`), after backward "
                        "(fwdbwd, the default) or after the SGD update (train)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    a = p.parse_args()
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    if a.channels == "ops":
        ops(a.batch, a.steps, a.only)
        return
    if a.channels.startswith("prim-"):
        prims(a.batch, a.steps, [a.channels] + a.prims)
        return
    channels = int(a.channels)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    torch.manual_seed(0)
    net = Network(channels, 10, a.layers, True, DARTS_V2).train().to(dev)
    net.drop_path_prob = 0.2
    x = torch.randn(a.batch, 3, 32, 32, device=dev)
    y = torch.arange(a.batch, device=dev) % 10
    loss_fn = nn.CrossEntropyLoss()
    phase = a.phase or ("train" if a.train else "fwdbwd")
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4) if phase == "train" else None

    def step():
        """One step; its phases' seconds (forward with the loss, backward, update)."""
        t0 = time.perf_counter()
        logits, aux = net(x)
        loss = loss_fn(logits, y) + 0.4 * loss_fn(aux, y)
        sync()
        t1 = time.perf_counter()
        if phase == "fwd":
            return [t1 - t0, 0.0, 0.0]
        net.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t2 = time.perf_counter()
        if opt is not None:
            opt.step()
            sync()
        return [t1 - t0, t2 - t1, time.perf_counter() - t2]

    first = float("nan")
    for i in range(a.warmup):
        t = time.perf_counter()
        step()
        sync()
        if i == 0:
            first = time.perf_counter() - t
    times, phases = [], []
    for _ in range(a.steps):
        t = time.perf_counter()
        phases.append(step())
        sync()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    phase_median = [sorted(p[i] for p in phases)[len(phases) // 2] for i in range(3)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    prefix = {"fwd": "fwd-", "fwdbwd": "", "train": "train-"}[phase]
    out = {"case": f"pytorch-{prefix}c{channels}-l{a.layers}", "device": a.device,
           "batch": a.batch, "steps": a.steps, "first_step_s": first, "median_step_s": median,
           "min_step_s": times[0], "images_per_s": a.batch / median, "peak_rss_mib": peak,
           "forward_s": phase_median[0], "backward_s": phase_median[1], "update_s": phase_median[2],
           "threads": threads, "torch": torch.__version__}
    if cuda:
        out["cuda_max_allocated_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
        out["cuda_max_reserved_mib"] = torch.cuda.max_memory_reserved(dev) / 2**20
        out["gpu"] = torch.cuda.get_device_name(dev)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
