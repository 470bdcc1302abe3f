"""DARTS' discrete networks in PyTorch with DARTS' own module names, so that
their `state_dict()` has the keys of a `model.pt` saved by DARTS' `train.py`
(`stem.0.weight`, `cells.3._ops.1.op.2.weight`, `auxiliary_head.features.5.weight`,
`classifier.bias`, ...).

Written for this project from the op and network definitions of DARTS
(Liu et al., arXiv:1806.09055, and the layout of its reference code's
`operations.py` and `model.py`); the reference networks of
`cargo xtask bench torch`, `cargo xtask interop` and the import fixture.
"""

from collections import namedtuple

import torch
import torch.nn as nn

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5])


def parse_genotype(text):
    """A genotype from DARTS' text form `Genotype(normal=[...], ...)`."""
    return eval(text, {"__builtins__": {}, "Genotype": Genotype, "range": range})


def conv(ci, co, k, s=1, p=0, d=1, g=1):
    return nn.Conv2d(ci, co, k, s, p, dilation=d, groups=g, bias=False)


class ReLUConvBN(nn.Module):
    def __init__(self, ci, co, k, stride, padding):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), conv(ci, co, k, stride, padding), nn.BatchNorm2d(co))

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, c, k, stride, padding, dilation):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), conv(c, c, k, stride, padding, dilation, c),
                                conv(c, c, 1), nn.BatchNorm2d(c))

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    def __init__(self, c, k, stride, padding):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), conv(c, c, k, stride, padding, g=c), conv(c, c, 1),
                                nn.BatchNorm2d(c), nn.ReLU(inplace=False), conv(c, c, k, 1, padding, g=c),
                                conv(c, c, 1), nn.BatchNorm2d(c))

    def forward(self, x):
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x):
        return x


class FactorizedReduce(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = conv(ci, co // 2, 1, 2)
        self.conv_2 = conv(ci, co // 2, 1, 2)
        self.bn = nn.BatchNorm2d(co)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name, c, stride):
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(c, c)
    k = int(name[-1])
    if name.startswith("sep_conv"):
        return SepConv(c, k, stride, k // 2)
    if name.startswith("dil_conv"):
        return DilConv(c, k, stride, k - 1, 2)
    raise ValueError(f"unknown op {name}")


def drop_path(x, p):
    if p > 0.0:
        keep = 1.0 - p
        mask = torch.bernoulli(torch.full((x.size(0), 1, 1, 1), keep, device=x.device))
        x = x / keep * mask
    return x


class Cell(nn.Module):
    def __init__(self, genotype, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.preprocess0 = FactorizedReduce(cpp, c) if reduction_prev else ReLUConvBN(cpp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(cp, c, 1, 1, 0)
        edges, self._concat = (genotype.reduce, genotype.reduce_concat) if reduction else \
            (genotype.normal, genotype.normal_concat)
        self.multiplier = len(self._concat)
        self._ops = nn.ModuleList(make_op(n, c, 2 if reduction and i < 2 else 1) for n, i in edges)
        self._indices = [i for _, i in edges]

    def forward(self, s0, s1, drop_prob):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(len(self._ops) // 2):
            h = []
            for j in (2 * k, 2 * k + 1):
                op = self._ops[j]
                y = op(states[self._indices[j]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    y = drop_path(y, drop_prob)
                h.append(y)
            states.append(h[0] + h[1])
        return torch.cat([states[i] for i in self._concat], dim=1)


def aux_features(c, stride, bn2):
    layers = [nn.ReLU(inplace=True), nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False),
              conv(c, 128, 1), nn.BatchNorm2d(128), nn.ReLU(inplace=True), conv(128, 768, 2)]
    # DARTS' ImageNet head has no BatchNorm after its second convolution.
    layers += [nn.BatchNorm2d(768)] if bn2 else []
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


class AuxiliaryHead(nn.Module):
    def __init__(self, c, classes, imagenet):
        super().__init__()
        self.features = aux_features(c, 2 if imagenet else 3, not imagenet)
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class Network(nn.Module):
    """`NetworkCIFAR` (imagenet=False) or `NetworkImageNet` (imagenet=True)."""

    def __init__(self, c, classes, layers, auxiliary, genotype, imagenet=False, in_channels=3):
        super().__init__()
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = 0.0
        if imagenet:
            self.stem0 = nn.Sequential(conv(in_channels, c // 2, 3, 2, 1), nn.BatchNorm2d(c // 2),
                                       nn.ReLU(inplace=True), conv(c // 2, c, 3, 2, 1), nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(nn.ReLU(inplace=True), conv(c, c, 3, 2, 1), nn.BatchNorm2d(c))
            cpp, cp, reduction_prev = c, c, True
        else:
            self.stem = nn.Sequential(conv(in_channels, 3 * c, 3, 1, 1), nn.BatchNorm2d(3 * c))
            cpp, cp, reduction_prev = 3 * c, 3 * c, False
        self.imagenet = imagenet
        cc = c
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                cc *= 2
            cell = Cell(genotype, cpp, cp, cc, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            cpp, cp = cp, cell.multiplier * cc
            if i == 2 * layers // 3:
                c_aux = cp
        if auxiliary:
            self.auxiliary_head = AuxiliaryHead(c_aux, classes, imagenet)
        self.classifier = nn.Linear(cp, classes)

    def forward(self, x):
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(s1.mean((2, 3))), logits_aux


def randomize_batchnorm(net, size, passes, batch=4):
    """Non-trivial BatchNorm parameters (scale in [0.5, 1.5], shift in
    [-0.2, 0.2]) and running statistics (`passes` training-mode forward
    passes on random `size` x `size` images), so that a weights check
    exercises every tensor; leaves `net` in eval mode."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        net.train()
        for _ in range(passes):
            net(torch.randn(batch, 3, size, size))
    net.eval()
