"""Build the bundled demo model: a small CNN with the Inception export's interface.

    python3 models/make_demo_models.py

models/demo/demo-extractor.onnx (+ .toml): input `images` [-1,3,64,64] in
[-1, 1], outputs `pool` [-1,64], `logits` [-1,10], `logits_unbiased` [-1,10].
It is trained for about a minute of CPU on generated pictures of ten classes
(five colours × {disc, square} on noisy backgrounds): it learns colour well and
shape partly (held-out accuracy 0.63, chance 0.10), so its features respond to
what the demo's generated images show and FID / IS move when they change.
Seeded and single-threaded: rerunning gives the same weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import manifest as mf  # noqa: E402

SIZE = 64
COLOURS = np.array(
    [[220, 40, 40], [40, 180, 60], [40, 80, 220], [230, 200, 40], [200, 60, 200]], dtype=np.float32
) / 255.0
CLASSES = 2 * len(COLOURS)
STEPS = 600
# The exported `pool` output is scaled so features sit near Inception pool3's
# range (mean ~0.4): KID's cubic kernel (x·y/d + 1)^3 then behaves as it does
# on Inception features. Logits are computed from the unscaled pool.
POOL_SCALE = 1 / 16
BATCH = 64


class DemoExtractor(nn.Module):
    """Three strided conv+ReLU stages, global average pool (64-d), linear head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        pool = self.features(x).mean(dim=(2, 3))
        unbiased = pool @ self.fc.weight.t()
        return pool * POOL_SCALE, unbiased + self.fc.bias, unbiased


def synthetic_batch(rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n pictures in [-1, 1] (N×3×64×64) and their class: colour index × 2 + (square ? 1 : 0)."""
    labels = rng.integers(0, CLASSES, n)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    images = np.empty((n, SIZE, SIZE, 3), dtype=np.float32)
    for i, label in enumerate(labels):
        colour, square = divmod(int(label), 2)
        background = rng.uniform(0.0, 0.6, 3).astype(np.float32)
        img = background + rng.normal(0, 0.08, (SIZE, SIZE, 3)).astype(np.float32)
        cy, cx = rng.uniform(16, 48, 2)
        r = rng.uniform(8, 20)
        if square:
            mask = (np.abs(yy - cy) < r * 0.85) & (np.abs(xx - cx) < r * 0.85)
        else:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        tint = np.clip(COLOURS[colour] + rng.normal(0, 0.06, 3), 0, 1).astype(np.float32)
        img[mask] = tint
        images[i] = np.clip(img, 0, 1)
    x = torch.from_numpy(images).permute(0, 3, 1, 2) * 2 - 1
    return x, torch.from_numpy(labels)


def train(model: DemoExtractor, seed: int = 0) -> float:
    """A few hundred Adam steps; returns accuracy on a fresh batch."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    model.train()
    for step in range(STEPS):
        x, y = synthetic_batch(rng, BATCH)
        loss = F.cross_entropy(model(x)[1], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.3f}")
    model.eval()
    x, y = synthetic_batch(rng, 256)
    with torch.no_grad():
        return float((model(x)[1].argmax(1) == y).float().mean())


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = DemoExtractor()
    accuracy = train(model)
    print(f"held-out accuracy on synthetic classes: {accuracy:.3f}")

    out = HERE / "demo" / "demo-extractor.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    names = ["pool", "logits", "logits_unbiased"]
    with torch.no_grad():
        torch.onnx.export(
            model, (torch.zeros(2, 3, SIZE, SIZE),), str(out),
            input_names=["images"], output_names=names,
            dynamic_axes={n: {0: "batch"} for n in ["images", *names]},
            opset_version=17, dynamo=False,
        )
    manifest = mf.build_manifest(
        out, role="extractor", name="demo-extractor",
        description=f"demo CNN (3 convs, 64-d pool, 10 colour x shape classes, accuracy {accuracy:.2f}); "
                    "not Inception: its numbers are not comparable to published FID/IS",
        protocol="demo", weights="trained by models/make_demo_models.py (seed 0)",
        inputs=mf.input_spec("images", [-1, 3, SIZE, SIZE], [0.5] * 3, [0.5] * 3, "legacy-pytorch"),
        outputs=[
            mf.output_spec("pool", "pool", [-1, 64]),
            mf.output_spec("logits", "logits", [-1, CLASSES]),
            mf.output_spec("logits_unbiased", "logits_unbiased", [-1, CLASSES]),
        ],
        inception_score={"logits": "logits_unbiased", "drop_columns": []},
    )
    mf.write_manifest(out, manifest)
    print(f"wrote {out} ({out.stat().st_size} bytes) and its manifest")


if __name__ == "__main__":
    main()
