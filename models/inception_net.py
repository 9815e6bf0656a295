"""Inception-v3 in the layout of torchvision's state-dict keys, with the pooling
choices that distinguish the published variants.

Three variants share one set of parameter names (`Conv2d_1a_3x3.conv.weight`,
`Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight`):

* ``fid``: the TF-2015 graph ported by pytorch-fid (1008 classes). The average
  pools of the Mixed blocks ignore padded zeros (TensorFlow semantics) and
  Mixed_7c's pool branch is a max pool.
* ``torchvision``: torchvision's own blocks (average pools count the padded
  zeros), used by the ImageNet weights and by classifiers fine-tuned in PyTorch.
* ``tf-slim``: TensorFlow semantics everywhere (padded zeros ignored, Mixed_7c
  averages), the layout of a TF-slim checkpoint converted to these names.

The network here starts at the first convolution: resizing and value mapping
happen before it (the manifest describes them), so the exported graph has no
hidden preprocessing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("fid", "torchvision", "tf-slim")

# The three ways a Mixed block's pool branch pools (3x3, stride 1, padding 1).
AVG_COUNT_PAD = "avg-count-pad"
AVG_IGNORE_PAD = "avg-ignore-pad"
MAX = "max"


def pool_branch_input(x: torch.Tensor, kind: str) -> torch.Tensor:
    """3x3 stride-1 pooling with one pixel of padding, as a Mixed block's pool branch."""
    if kind == AVG_COUNT_PAD:
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=True)
    if kind == AVG_IGNORE_PAD:
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    if kind == MAX:
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
    raise ValueError(f"unknown pool kind {kind!r}")


class ConvBnRelu(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU; keys `conv.*`, `bn.*`."""

    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class MixedA(nn.Module):
    """35x35 block: 1x1 | 1x1→5x5 | 1x1→3x3→3x3 | pool→1x1."""

    def __init__(self, cin: int, pool_features: int, pool: str):
        super().__init__()
        self.pool = pool
        self.branch1x1 = ConvBnRelu(cin, 64, 1)
        self.branch5x5_1 = ConvBnRelu(cin, 48, 1)
        self.branch5x5_2 = ConvBnRelu(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBnRelu(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBnRelu(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBnRelu(96, 96, 3, padding=1)
        self.branch_pool = ConvBnRelu(cin, pool_features, 1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        d = self.branch_pool(pool_branch_input(x, self.pool))
        return torch.cat([a, b, c, d], 1)


class ReductionB(nn.Module):
    """35→17 reduction (Mixed_6a): stride-2 3x3 | 1x1→3x3→3x3/2 | max pool."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = ConvBnRelu(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBnRelu(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBnRelu(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBnRelu(96, 96, 3, stride=2)

    def forward(self, x):
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class MixedC(nn.Module):
    """17x17 block with factorised 7x7 convolutions."""

    def __init__(self, cin: int, c7: int, pool: str):
        super().__init__()
        self.pool = pool
        self.branch1x1 = ConvBnRelu(cin, 192, 1)
        self.branch7x7_1 = ConvBnRelu(cin, c7, 1)
        self.branch7x7_2 = ConvBnRelu(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = ConvBnRelu(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = ConvBnRelu(cin, c7, 1)
        self.branch7x7dbl_2 = ConvBnRelu(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = ConvBnRelu(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = ConvBnRelu(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = ConvBnRelu(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = ConvBnRelu(cin, 192, 1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            c = layer(c)
        d = self.branch_pool(pool_branch_input(x, self.pool))
        return torch.cat([a, b, c, d], 1)


class ReductionD(nn.Module):
    """17→8 reduction (Mixed_7a)."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = ConvBnRelu(cin, 192, 1)
        self.branch3x3_2 = ConvBnRelu(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBnRelu(cin, 192, 1)
        self.branch7x7x3_2 = ConvBnRelu(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBnRelu(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBnRelu(192, 192, 3, stride=2)

    def forward(self, x):
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b = layer(b)
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class MixedE(nn.Module):
    """8x8 block with split 1x3 / 3x1 branches."""

    def __init__(self, cin: int, pool: str):
        super().__init__()
        self.pool = pool
        self.branch1x1 = ConvBnRelu(cin, 320, 1)
        self.branch3x3_1 = ConvBnRelu(cin, 384, 1)
        self.branch3x3_2a = ConvBnRelu(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBnRelu(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBnRelu(cin, 448, 1)
        self.branch3x3dbl_2 = ConvBnRelu(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBnRelu(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBnRelu(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBnRelu(cin, 192, 1)

    def forward(self, x):
        a = self.branch1x1(x)
        s = self.branch3x3_1(x)
        b = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        t = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        c = torch.cat([self.branch3x3dbl_3a(t), self.branch3x3dbl_3b(t)], 1)
        d = self.branch_pool(pool_branch_input(x, self.pool))
        return torch.cat([a, b, c, d], 1)


def _pool_kinds(variant: str) -> tuple[str, str, str]:
    """(pool of A/C blocks and Mixed_7b, pool of Mixed_7c) for a variant."""
    if variant == "fid":
        return AVG_IGNORE_PAD, AVG_IGNORE_PAD, MAX
    if variant == "torchvision":
        return AVG_COUNT_PAD, AVG_COUNT_PAD, AVG_COUNT_PAD
    if variant == "tf-slim":
        return AVG_IGNORE_PAD, AVG_IGNORE_PAD, AVG_IGNORE_PAD
    raise ValueError(f"unknown Inception variant {variant!r}; choose one of {VARIANTS}")


class InceptionV3Features(nn.Module):
    """Inception-v3 from the first convolution to the classifier.

    `forward` returns ``(pool, logits, logits_unbiased)``: the 2048-d global
    average pool (pytorch-fid's pool3), ``fc(pool)`` and ``pool @ fc.weight.T``
    (the logits without bias that torch-fidelity's Inception Score uses).
    """

    def __init__(self, num_classes: int, variant: str):
        super().__init__()
        pool_mid, pool_7b, pool_7c = _pool_kinds(variant)
        self.variant = variant
        self.Conv2d_1a_3x3 = ConvBnRelu(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBnRelu(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBnRelu(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBnRelu(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBnRelu(80, 192, 3)
        self.Mixed_5b = MixedA(192, 32, pool_mid)
        self.Mixed_5c = MixedA(256, 64, pool_mid)
        self.Mixed_5d = MixedA(288, 64, pool_mid)
        self.Mixed_6a = ReductionB(288)
        self.Mixed_6b = MixedC(768, 128, pool_mid)
        self.Mixed_6c = MixedC(768, 160, pool_mid)
        self.Mixed_6d = MixedC(768, 160, pool_mid)
        self.Mixed_6e = MixedC(768, 192, pool_mid)
        self.Mixed_7a = ReductionD(768)
        self.Mixed_7b = MixedE(1280, pool_7b)
        self.Mixed_7c = MixedE(2048, pool_7c)
        self.fc = nn.Linear(2048, num_classes)

    def pool_features(self, x: torch.Tensor) -> torch.Tensor:
        """N×3×299×299 (already mapped to the network's value range) → N×2048."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
            self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):
            x = block(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)

    def forward(self, x: torch.Tensor):
        pool = self.pool_features(x)
        logits_unbiased = pool @ self.fc.weight.t()
        logits = logits_unbiased + self.fc.bias
        return pool, logits, logits_unbiased
