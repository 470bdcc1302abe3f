"""PyTorch reference for `cargo xtask bench torch`: DARTS_V2's CIFAR network,
forward + backward on CPU, to compare with `cargo xtask bench nn`
(`discrete-c16-l20`, `discrete-c36-l20`).

Written for this project from the op and network definitions of DARTS
(arXiv:1806.09055 and its reference code). Usage:
python torch_darts.py CHANNELS [BATCH] [STEPS] [--layers L] [--device cuda] [--train].
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

NORMAL = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
          ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)]
REDUCE = [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
          ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)]


def bn(c):
    return nn.BatchNorm2d(c, affine=True)


def conv(ci, co, k, s=1, p=0, d=1, g=1):
    return nn.Conv2d(ci, co, k, s, p, dilation=d, groups=g, bias=False)


class FactorizedReduce(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.a, self.b, self.bn = conv(ci, co // 2, 1, 2), conv(ci, co // 2, 1, 2), bn(co)

    def forward(self, x):
        x = torch.relu(x)
        return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], 1))


def make_op(name, c, stride):
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    k = int(name[-1])
    if name.startswith("sep_conv"):
        return nn.Sequential(nn.ReLU(), conv(c, c, k, stride, k // 2, g=c), conv(c, c, 1), bn(c),
                             nn.ReLU(), conv(c, c, k, 1, k // 2, g=c), conv(c, c, 1), bn(c))
    return nn.Sequential(nn.ReLU(), conv(c, c, k, stride, k - 1, d=2, g=c), conv(c, c, 1), bn(c))


def drop_path(x, p):
    if p > 0.0:
        keep = 1.0 - p
        mask = torch.bernoulli(torch.full((x.size(0), 1, 1, 1), keep))
        x = x / keep * mask
    return x


class Cell(nn.Module):
    def __init__(self, genotype, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else nn.Sequential(nn.ReLU(), conv(cpp, c, 1), bn(c))
        self.pre1 = nn.Sequential(nn.ReLU(), conv(cp, c, 1), bn(c))
        self.ops = nn.ModuleList(make_op(n, c, 2 if reduction and i < 2 else 1) for n, i in genotype)
        self.inputs = [i for _, i in genotype]

    def forward(self, s0, s1, p):
        states = [self.pre0(s0), self.pre1(s1)]
        for k in range(4):
            h = []
            for j in (2 * k, 2 * k + 1):
                op = self.ops[j]
                y = op(states[self.inputs[j]])
                h.append(y if isinstance(op, nn.Identity) else drop_path(y, p))
            states.append(h[0] + h[1])
        return torch.cat(states[2:], 1)


class Net(nn.Module):
    def __init__(self, c, layers, classes=10):
        super().__init__()
        self.stem = nn.Sequential(conv(3, 3 * c, 3, 1, 1), bn(3 * c))
        cpp, cp, cc, rp = 3 * c, 3 * c, c, False
        self.cells = nn.ModuleList()
        self.aux_at = 2 * layers // 3
        for i in range(layers):
            red = i in (layers // 3, 2 * layers // 3)
            cc = cc * 2 if red else cc
            self.cells.append(Cell(REDUCE if red else NORMAL, cpp, cp, cc, red, rp))
            rp, cpp, cp = red, cp, 4 * cc
            if i == self.aux_at:
                self.aux = nn.Sequential(nn.ReLU(), nn.AvgPool2d(5, 3, 0, count_include_pad=False), conv(cp, 128, 1),
                                         bn(128), nn.ReLU(), conv(128, 768, 2), bn(768), nn.ReLU(), nn.Flatten(),
                                         nn.Linear(768, classes))
        self.classifier = nn.Linear(cp, classes)

    def forward(self, x, p):
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, p)
            if i == self.aux_at:
                aux = self.aux(s1)
        return self.classifier(s1.mean((2, 3))), aux


def ops(batch, steps):
    """Forward+backward time of each op alone on [batch, 16, 32, 32]."""
    x = torch.randn(batch, 16, 32, 32)
    for name in ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                 "dil_conv_3x3", "dil_conv_5x5"]:
        op = make_op(name, 16, 1).train()

        def run():
            inp = x.clone().requires_grad_()
            op(inp).sum().backward()

        run()
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        times.sort()
        print(json.dumps({"case": f"op-{name}", "batch": batch, "median_step_s": times[len(times) // 2]}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("channels", nargs="?", default="16", help="C, or `ops` for each op alone")
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
        ops(a.batch, a.steps)
        return
    channels = int(a.channels)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    torch.manual_seed(0)
    net = Net(channels, a.layers).train().to(dev)
    x = torch.randn(a.batch, 3, 32, 32, device=dev)
    y = torch.arange(a.batch, device=dev) % 10
    loss_fn = nn.CrossEntropyLoss()
    phase = a.phase or ("train" if a.train else "fwdbwd")
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4) if phase == "train" else None

    def step():
        """One step; its phases' seconds (forward with the loss, backward, update)."""
        t0 = time.perf_counter()
        logits, aux = net(x, 0.2)
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
