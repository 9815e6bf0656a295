"""Build the bundled demo generator and demo text embeddings.

    python3 models/make_demo_generator.py

models/demo/demo-generator.onnx (+ .toml): the StackGAN-v2 conditional
architecture (`G_NET` with `ca_net`, three branches: img64, img128, img256,
plus mu and logvar) at the real interface (Z_DIM 100, TEXT.DIMENSION 1024)
but narrow (GF_DIM 4, EMBEDDING_DIM 16, R_NUM 2), with SEEDED RANDOM WEIGHTS:
it is untrained, so its images are coloured textures, not birds
(BatchNorm statistics are calibrated on one random batch so samples vary). It exists to
run `generate` and the metrics end to end without downloading anything. It is
produced the way a real model is: a checkpoint in the released format (keys
under `module.`, legacy serialisation) exported by export_stackgan.py.

models/demo/demo-generator-v1.onnx (+ .toml): the StackGAN-v1 Stage-I+II
architecture (PyTorch port: img64, img256, mu, logvar) at the same interface
(Z_DIM 100, TEXT.DIMENSION 1024), narrow (Stage-I GF_DIM 4, Stage-II GF_DIM 8,
CONDITION_DIM 16, R_NUM 1), seeded and calibrated the same way: the demo's
"v1 against v2" comparison runs both.

models/demo/demo-embeddings.npy: [8, 10, 1024] float32 standard-normal
"text embeddings" (8 images x 10 captions, the char-CNN-RNN layout).

    --only v1    writes only the v1 model (the v2 files stay as they are)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import export_stackgan  # noqa: E402
from stackgan_nets import V1Config, V1Stage2, V2Config, V2Generator  # noqa: E402

CONFIG = V2Config(gf_dim=4, z_dim=100, embedding_dim=16, text_dim=1024, r_num=2, branch_num=3, conditional=True)
SEED = 2017
# Image heads are scaled up so the untrained images use more of the tanh range.
IMAGE_HEAD_GAIN = 3.0
CALIBRATION_BATCH = 64
# Smaller than v2's: v1's ReLU stages already span the tanh range.
V1_IMAGE_HEAD_GAIN = 1.0
V1_STAGE1 = V1Config(gf_dim=4, z_dim=100, condition_dim=16, text_dim=1024, r_num=1)
V1_STAGE2 = V1Config(gf_dim=8, z_dim=100, condition_dim=16, text_dim=1024, r_num=1)
EMBEDDINGS_SHAPE = (8, 10, 1024)


def seeded_generator() -> V2Generator:
    """Default-initialised weights; BatchNorm running statistics calibrated on one random batch.

    Calibrating the statistics (rather than keeping mean 0 / var 1) keeps every
    layer's activations near unit scale, so samples differ visibly in colour and
    texture with z, eps and the text embedding instead of all looking alike.
    """
    torch.manual_seed(SEED)
    net = V2Generator(CONFIG)
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.momentum = None  # cumulative average over the calibration pass
            module.reset_running_stats()
    net.train()
    with torch.no_grad():
        net(torch.randn(CALIBRATION_BATCH, CONFIG.z_dim), torch.randn(CALIBRATION_BATCH, CONFIG.text_dim),
            torch.randn(CALIBRATION_BATCH, CONFIG.embedding_dim))
    for name, module in net.named_modules():
        if name.endswith("img.0"):
            module.weight.data.mul_(IMAGE_HEAD_GAIN)
    return net.eval()


def calibrated(net: torch.nn.Module, gain: float, *inputs_shape: int) -> torch.nn.Module:
    """BatchNorm running statistics from one random batch, image heads scaled (see seeded_generator)."""
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.momentum = None
            module.reset_running_stats()
    net.train()
    with torch.no_grad():
        net(*(torch.randn(CALIBRATION_BATCH, d) for d in inputs_shape))
    for name, module in net.named_modules():
        if name.endswith("img.0"):
            module.weight.data.mul_(gain)
    return net.eval()


def write_v1(demo: Path) -> None:
    torch.manual_seed(SEED + 1)
    net = calibrated(V1Stage2(V1_STAGE2, V1_STAGE1), V1_IMAGE_HEAD_GAIN, V1_STAGE2.text_dim, V1_STAGE2.z_dim,
                     V1_STAGE1.condition_dim, V1_STAGE2.condition_dim)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "demo-netG-v1.pth"
        torch.save(net.state_dict(), ckpt, _use_new_zipfile_serialization=False)
        manifest, diff = export_stackgan.export(ckpt, "v1-stage2", demo / "demo-generator-v1.onnx",
                                                name="demo-generator-v1-untrained")
    print(f"wrote {demo / 'demo-generator-v1.onnx'} and {manifest} (torch vs onnxruntime {diff:.2e})")


def main() -> int:
    torch.set_num_threads(1)
    demo = HERE / "demo"
    demo.mkdir(exist_ok=True)
    if sys.argv[1:] == ["--only", "v1"]:
        write_v1(demo)
        return 0
    write_v1(demo)
    net = seeded_generator()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "demo-netG.pth"
        torch.save({"module." + k: v for k, v in net.state_dict().items()}, ckpt,
                   _use_new_zipfile_serialization=False)
        manifest, diff = export_stackgan.export(ckpt, "v2-birds", demo / "demo-generator.onnx",
                                                name="demo-generator-untrained")
    print(f"wrote {demo / 'demo-generator.onnx'} and {manifest} (torch vs onnxruntime {diff:.2e})")
    rng = np.random.default_rng(SEED)
    embeddings = rng.standard_normal(EMBEDDINGS_SHAPE).astype(np.float32)
    np.save(demo / "demo-embeddings.npy", embeddings)
    print(f"wrote {demo / 'demo-embeddings.npy'} {list(EMBEDDINGS_SHAPE)} float32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
