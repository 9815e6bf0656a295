"""Developer check: `export_inception.py --kind imagenet` against torchvision.

Seeded random weights in torchvision's `inception_v3` layout (1000 classes,
AuxLogits present) are exported; then, on a few random [0, 1] images at 299:

* reference: torchvision's modules run the way DM-GAN's eval/FID/inception.py
  runs them (its `normalize_input`: x·(std/0.5) + (mean − 0.5)/0.5 on [0, 1]
  pixels, then Conv2d_1a … Mixed_7c, max pools between, global average pool);
* candidate: onnxruntime on the export, fed (x − mean)/std with the manifest's
  mean/std.

Prints the max abs difference of the pool features; exit 1 above 1e-4 relative.

    python3 tests/reference/check_imagenet_export.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
import torchvision

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def dmgan_pool(net, x01: torch.Tensor) -> np.ndarray:
    """pool3 the way DM-GAN computes it from [0, 1] images already at 299×299."""
    x = x01.clone()
    for c in range(3):
        x[:, c] = x[:, c] * (IMAGENET_STD[c] / 0.5) + (IMAGENET_MEAN[c] - 0.5) / 0.5
    with torch.no_grad():
        x = net.Conv2d_2b_3x3(net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, 2)
        x = net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, 2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                     "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(net, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1).numpy()


def main() -> int:
    torch.manual_seed(0)
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True, num_classes=1000)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.8, 1.2)
            m.bias.data.normal_(0, 0.1)
            m.momentum = None  # running stats = plain average of the calibration pass
    # Batch-norm statistics from one pass over smooth random pictures keep the
    # activations well scaled through the network.
    net.train()
    coarse = torch.rand(6, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    dmgan_pool(net, F.interpolate(coarse, size=(299, 299), mode="bilinear", align_corners=False))
    net.eval()
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "inception_v3_google-fake.pth"
        onnx_path = Path(tmp) / "inception-imagenet.onnx"
        torch.save(net.state_dict(), weights)
        subprocess.run([sys.executable, str(REPO / "models" / "export_inception.py"), "--kind", "imagenet",
                        "--weights", str(weights), "--out", str(onnx_path)], check=True)
        spec = tomllib.loads(onnx_path.with_suffix(".toml").read_text())["input"]
        x01 = torch.rand(3, 3, 299, 299, generator=torch.Generator().manual_seed(1))
        mean = torch.tensor(spec["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(spec["std"]).view(1, 3, 1, 1)
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        got = session.run(["pool"], {"images": ((x01 - mean) / std).numpy()})[0]
    ref = dmgan_pool(net, x01)
    diff = float(np.max(np.abs(ref - got)))
    scale = float(np.max(np.abs(ref)))
    print(f"DM-GAN-style torchvision pool3 vs ORT(export): max abs diff {diff:.3e} (magnitude {scale:.3e})")
    return 0 if diff <= TOLERANCE * max(1.0, scale) else 1


if __name__ == "__main__":
    sys.exit(main())
