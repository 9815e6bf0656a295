"""StackGAN generators (v2 `G_NET`, v1 `STAGE1_G`/`STAGE2_G`) with the released key names.

The modules are laid out so that `state_dict()` has exactly the keys and shapes
of the released checkpoints (after stripping the `module.` prefix of v2), which
is why some attributes carry upstream's names (`h_net1`, `jointConv`,
`STAGE1_G`) and why `nn.Sequential` indices matter (parameter-free layers such
as upsampling and activations occupy slots too).

Unlike upstream, the conditioning-augmentation noise `eps` is an argument:
`c = mu + eps * exp(logvar / 2)`. All inputs are float32; images come out in
[-1, 1] (tanh), NCHW.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    """3x3 convolution, stride 1, padding 1, no bias (every StackGAN generator conv)."""
    return nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=False)


def glu_up_block(cin: int, cout: int) -> nn.Sequential:
    """v2 up-block: nearest x2, conv to 2*cout, BatchNorm, GLU -> cout channels at twice the size."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, 2 * cout),
                         nn.BatchNorm2d(2 * cout), nn.GLU(dim=1))


def relu_up_block(cin: int, cout: int) -> nn.Sequential:
    """v1 up-block: nearest x2, conv to cout, BatchNorm, ReLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, cout),
                         nn.BatchNorm2d(cout), nn.ReLU())


def image_head(channels: int) -> nn.Sequential:
    """conv3x3 (no bias) to RGB, tanh: keys `img.0.weight`."""
    return nn.Sequential(conv3x3(channels, 3), nn.Tanh())


def tile(code: torch.Tensor, size: int) -> torch.Tensor:
    """[N, C] -> [N, C, size, size] (the condition broadcast over the feature map)."""
    return code[:, :, None, None].expand(-1, -1, size, size)


class CondAugment(nn.Module):
    """Conditioning augmentation: text embedding -> (c, mu, logvar) with explicit noise.

    v2 (`gated=True`): Linear(text, 4*dim) then GLU -> 2*dim values.
    v1 (`gated=False`): Linear(text, 2*dim) then ReLU (so logvar >= 0).
    The first `dim` values are mu, the rest logvar.
    """

    def __init__(self, text_dim: int, dim: int, gated: bool):
        super().__init__()
        self.dim = dim
        self.fc = nn.Linear(text_dim, (4 if gated else 2) * dim, bias=True)
        self.activation = nn.GLU(dim=1) if gated else nn.ReLU()

    def forward(self, text_embedding, eps):
        stats = self.activation(self.fc(text_embedding))
        mu, logvar = stats[:, :self.dim], stats[:, self.dim:]
        return mu + eps * torch.exp(0.5 * logvar), mu, logvar


# ---------------------------------------------------------------- StackGAN-v2


@dataclass(frozen=True)
class V2Config:
    """Hyper-parameters of a v2 generator (names as in the upstream yml files)."""

    gf_dim: int = 64
    z_dim: int = 100
    embedding_dim: int = 128
    text_dim: int = 1024
    r_num: int = 2
    branch_num: int = 3
    conditional: bool = True

    @property
    def condition_dim(self) -> int:
        """Channels of the condition tiled into stages 2-3 (z itself when unconditional)."""
        return self.embedding_dim if self.conditional else self.z_dim

    def resolutions(self) -> list[int]:
        return [64 * 2 ** i for i in range(self.branch_num)]


class V2ResBlock(nn.Module):
    """x + BN(conv(GLU(BN(conv(x))))), no activation after the sum."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(conv3x3(channels, 2 * channels), nn.BatchNorm2d(2 * channels),
                                   nn.GLU(dim=1), conv3x3(channels, channels), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.block(x)


class V2FirstStage(nn.Module):
    """`h_net1`: code -> Linear(no bias) -> BN1d -> GLU -> (ngf, 4, 4) -> four up-blocks -> 64x64."""

    def __init__(self, in_dim: int, ngf: int):
        super().__init__()
        self.ngf = ngf
        self.fc = nn.Sequential(nn.Linear(in_dim, ngf * 16 * 2, bias=False),
                                nn.BatchNorm1d(ngf * 16 * 2), nn.GLU(dim=1))
        self.upsample1 = glu_up_block(ngf, ngf // 2)
        self.upsample2 = glu_up_block(ngf // 2, ngf // 4)
        self.upsample3 = glu_up_block(ngf // 4, ngf // 8)
        self.upsample4 = glu_up_block(ngf // 8, ngf // 16)

    def forward(self, code):
        h = self.fc(code).reshape(-1, self.ngf, 4, 4)
        for up in (self.upsample1, self.upsample2, self.upsample3, self.upsample4):
            h = up(h)
        return h


class V2NextStage(nn.Module):
    """`h_net2/3`: cat(tiled condition, h) -> joint conv -> residual blocks -> up-block (halves channels)."""

    def __init__(self, ngf: int, condition_dim: int, r_num: int):
        super().__init__()
        self.jointConv = nn.Sequential(conv3x3(ngf + condition_dim, 2 * ngf), nn.BatchNorm2d(2 * ngf),
                                       nn.GLU(dim=1))
        self.residual = nn.Sequential(*[V2ResBlock(ngf) for _ in range(r_num)])
        self.upsample = glu_up_block(ngf, ngf // 2)

    def forward(self, h, condition):
        joint = torch.cat((tile(condition, h.shape[2]), h), dim=1)
        return self.upsample(self.residual(self.jointConv(joint)))


class ImageHead(nn.Module):
    """`img_netK`: features -> RGB in [-1, 1]."""

    def __init__(self, channels: int):
        super().__init__()
        self.img = image_head(channels)

    def forward(self, h):
        return self.img(h)


class V2Generator(nn.Module):
    """StackGAN-v2 tree generator: one image per branch (64, 128, 256 px).

    Conditional: `forward(z, text_embedding, eps)`; unconditional: `forward(z)`.
    Returns (images, mu, logvar); mu and logvar are None when unconditional.
    """

    def __init__(self, cfg: V2Config):
        super().__init__()
        if not 1 <= cfg.branch_num <= 3:
            raise ValueError(f"branch_num {cfg.branch_num} is not 1, 2 or 3")
        if cfg.gf_dim % 4:
            raise ValueError(f"gf_dim {cfg.gf_dim} must be a multiple of 4")
        self.cfg = cfg
        gf = cfg.gf_dim
        if cfg.conditional:
            self.ca_net = CondAugment(cfg.text_dim, cfg.embedding_dim, gated=True)
        first_in = cfg.z_dim + (cfg.embedding_dim if cfg.conditional else 0)
        self.h_net1 = V2FirstStage(first_in, gf * 16)
        self.img_net1 = ImageHead(gf)
        if cfg.branch_num > 1:
            self.h_net2 = V2NextStage(gf, cfg.condition_dim, cfg.r_num)
            self.img_net2 = ImageHead(gf // 2)
        if cfg.branch_num > 2:
            self.h_net3 = V2NextStage(gf // 2, cfg.condition_dim, cfg.r_num)
            self.img_net3 = ImageHead(gf // 4)

    def forward(self, z, text_embedding=None, eps=None):
        if self.cfg.conditional:
            condition, mu, logvar = self.ca_net(text_embedding, eps)
            h = self.h_net1(torch.cat((condition, z), dim=1))
        else:
            condition, mu, logvar = z, None, None
            h = self.h_net1(z)
        images = [self.img_net1(h)]
        for k in range(2, self.cfg.branch_num + 1):
            h = getattr(self, f"h_net{k}")(h, condition)
            images.append(getattr(self, f"img_net{k}")(h))
        return images, mu, logvar


# ---------------------------------------------------------------- StackGAN-v1 (PyTorch port)


@dataclass(frozen=True)
class V1Config:
    """Hyper-parameters of the v1 PyTorch port (GAN.GF_DIM, Z_DIM, GAN.CONDITION_DIM, ...)."""

    gf_dim: int = 128
    z_dim: int = 100
    condition_dim: int = 128
    text_dim: int = 1024
    r_num: int = 4


class V1ResBlock(nn.Module):
    """ReLU(x + BN(conv(ReLU(BN(conv(x))))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(conv3x3(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(),
                                   conv3x3(channels, channels), nn.BatchNorm2d(channels))

    def forward(self, x):
        return torch.relu(x + self.block(x))


class V1Stage1(nn.Module):
    """`STAGE1_G`: cat(z, c) -> Linear -> BN1d -> ReLU -> (8*gf, 4, 4) -> four up-blocks -> 64x64 image.

    `forward(text_embedding, z, eps)` -> (img64, mu, logvar).
    """

    def __init__(self, cfg: V1Config):
        super().__init__()
        if cfg.gf_dim % 2:
            raise ValueError(f"Stage-I gf_dim {cfg.gf_dim} must be even")
        self.cfg = cfg
        ngf = cfg.gf_dim * 8
        self.ngf = ngf
        self.ca_net = CondAugment(cfg.text_dim, cfg.condition_dim, gated=False)
        self.fc = nn.Sequential(nn.Linear(cfg.z_dim + cfg.condition_dim, ngf * 16, bias=False),
                                nn.BatchNorm1d(ngf * 16), nn.ReLU())
        self.upsample1 = relu_up_block(ngf, ngf // 2)
        self.upsample2 = relu_up_block(ngf // 2, ngf // 4)
        self.upsample3 = relu_up_block(ngf // 4, ngf // 8)
        self.upsample4 = relu_up_block(ngf // 8, ngf // 16)
        self.img = image_head(ngf // 16)

    def forward(self, text_embedding, z, eps):
        condition, mu, logvar = self.ca_net(text_embedding, eps)
        h = self.fc(torch.cat((z, condition), dim=1)).reshape(-1, self.ngf, 4, 4)
        for up in (self.upsample1, self.upsample2, self.upsample3, self.upsample4):
            h = up(h)
        return self.img(h), mu, logvar


class V1Stage2(nn.Module):
    """`STAGE2_G`: Stage-I image -> encoder (16x16) -> cat(features, c) -> residual -> 256x256 image.

    Holds Stage-I as `STAGE1_G` (hence its keys). Stage-II draws its own
    condition from the same text with a second noise `eps2`; it takes no z.
    `forward(text_embedding, z, eps1, eps2)` -> (img64, img256, mu, logvar), mu
    and logvar being Stage-II's (what upstream returns).
    """

    def __init__(self, cfg: V1Config, stage1_cfg: V1Config | None = None):
        super().__init__()
        if cfg.gf_dim % 4:
            raise ValueError(f"Stage-II gf_dim {cfg.gf_dim} must be a multiple of 4")
        self.cfg = cfg
        gf = cfg.gf_dim
        self.STAGE1_G = V1Stage1(stage1_cfg or cfg)
        self.ca_net = CondAugment(cfg.text_dim, cfg.condition_dim, gated=False)
        self.encoder = nn.Sequential(
            conv3x3(3, gf), nn.ReLU(),
            nn.Conv2d(gf, gf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(gf * 2), nn.ReLU(),
            nn.Conv2d(gf * 2, gf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(gf * 4), nn.ReLU())
        self.hr_joint = nn.Sequential(conv3x3(cfg.condition_dim + gf * 4, gf * 4), nn.BatchNorm2d(gf * 4),
                                      nn.ReLU())
        self.residual = nn.Sequential(*[V1ResBlock(gf * 4) for _ in range(cfg.r_num)])
        self.upsample1 = relu_up_block(gf * 4, gf * 2)
        self.upsample2 = relu_up_block(gf * 2, gf)
        self.upsample3 = relu_up_block(gf, gf // 2)
        self.upsample4 = relu_up_block(gf // 2, gf // 4)
        self.img = image_head(gf // 4)

    def forward(self, text_embedding, z, eps1, eps2):
        img64, _, _ = self.STAGE1_G(text_embedding, z, eps1)
        features = self.encoder(img64)
        condition, mu, logvar = self.ca_net(text_embedding, eps2)
        h = self.hr_joint(torch.cat((features, tile(condition, features.shape[2])), dim=1))
        h = self.residual(h)
        for up in (self.upsample1, self.upsample2, self.upsample3, self.upsample4):
            h = up(h)
        return img64, self.img(h), mu, logvar
