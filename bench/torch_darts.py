"""PyTorch reference for `cargo xtask bench torch`: DARTS_V2's CIFAR network,
forward + backward on CPU, to compare with `cargo xtask bench nn`
(`discrete-c16-l20`, `discrete-c36-l20`).

Written for this project from the op and network definitions in
shared/reference.md. Usage: python torch_darts.py CHANNELS [BATCH] [STEPS].
Prints one JSON line.
"""

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
    if len(sys.argv) > 1 and sys.argv[1] == "ops":
        torch.set_num_threads(len(os.sched_getaffinity(0)))
        ops(int(sys.argv[2]) if len(sys.argv) > 2 else 32, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
        return
    channels = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Net(channels, 20).train()
    x = torch.randn(batch, 3, 32, 32)
    y = torch.arange(batch) % 10
    loss_fn = nn.CrossEntropyLoss()

    def step():
        logits, aux = net(x, 0.2)
        loss = loss_fn(logits, y) + 0.4 * loss_fn(aux, y)
        net.zero_grad(set_to_none=True)
        loss.backward()

    step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"case": f"pytorch-c{channels}-l20", "batch": batch, "steps": steps,
                      "median_step_s": median, "images_per_s": batch / median, "peak_rss_mib": peak,
                      "threads": threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
