"""Developer check: stackgan-eval's FID against pytorch-fid 0.3.0 on the same images.

Needs torch, torchvision, pytorch-fid 0.3.0, onnxruntime (not run in CI). It
never downloads: it writes a weight file in pytorch-fid's format with seeded
random values (the real weights are not needed to compare two implementations
of the same network) into a temporary TORCH_HOME, where pytorch-fid finds it.

Steps:
1. fake `pt_inception-2015-12-05-6726825d.pth` from pytorch-fid's own
   `fid_inception_v3` architecture, batch-norm statistics calibrated on noise;
2. two PNG folders (mixed sizes, RGBA icons with transparency, greyscale);
3. models/export_inception.py on the fake weights, then pytorch-fid's
   InceptionV3 vs onnxruntime on the exported graph on the same resized input
   (max abs diff of the 2048-d pool features: proves the exporter);
4. pytorch-fid's CLI on the folders (batch size 1 when sizes are mixed: its
   data loader cannot stack images of different sizes), timed;
5. `stackgan-eval fid --real A --fake B --extractor M.onnx --json out.json`,
   timed; exit 1 if the FIDs differ by more than 1e-3 relative.

2048-d FID needs more images than dimensions per folder: with fewer, the
covariances are singular and pytorch-fid's scipy `sqrtm` usually stops with
"Imaginary component" (the default, 2100 per folder, avoids that). On a
2-core CPU pytorch-fid runs at roughly 0.3-4 s per image, so the full check is
an overnight job there; `--pytorch-fid-device cuda` makes it minutes.

    /work/devvenv/bin/python tests/reference/check_pytorch_fid.py [--bin target/release/stackgan-eval] [--skip-cli]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
REL_TOLERANCE = 1e-3
FEATURE_TOLERANCE = 1e-3


def make_fake_fid_weights(path: Path, seed: int = 0) -> None:
    """Seeded random weights in pytorch-fid's architecture and key layout."""
    import torch
    import torchvision
    from pytorch_fid import inception as pf

    torch.manual_seed(seed)
    net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=True)
    net.Mixed_5b = pf.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf.FIDInceptionE_1(1280)
    net.Mixed_7c = pf.FIDInceptionE_2(2048)
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = 1 + 0.2 * torch.randn_like(m.weight)
            m.bias.data = 0.2 * torch.randn_like(m.bias)
            m.momentum = None  # running stats = plain average over the calibration batches
    # Calibrate batch-norm statistics on smooth random pictures in [-1, 1] so
    # activations stay well scaled through the ~90 layers.
    net.train()
    with torch.no_grad():
        for _ in range(2):
            coarse = torch.rand(6, 3, 6, 6) * 2 - 1
            net(torch.nn.functional.interpolate(coarse, size=(299, 299), mode="bilinear", align_corners=False))
    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)


def make_images(folder: Path, n: int, seed: int, warm: bool) -> None:
    """`n` PNGs of coloured shapes; sizes vary, every 7th an RGBA icon, every 5th greyscale."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [(64, 64), (128, 96), (299, 299), (50, 80), (256, 256), (32, 32)]
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        rgba = i % 7 == 3
        mode = "RGBA" if rgba else "RGB"
        bg = (0, 0, 0, 0) if rgba else tuple(int(v) for v in rng.integers(0, 256, 3))
        img = Image.new(mode, (w, h), bg)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 5))):
            c = rng.integers(0, 256, 3)
            if warm:
                c[0] = 200 + c[0] % 56
            colour = tuple(int(v) for v in c) + ((int(rng.integers(60, 256)),) if rgba else ())
            x0, y0 = int(rng.integers(0, w - 4)), int(rng.integers(0, h - 4))
            x1, y1 = int(rng.integers(x0 + 2, w)), int(rng.integers(y0 + 2, h))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
        if i % 5 == 1 and not rgba:
            img = img.convert("L")
        img.save(folder / f"img_{i:03d}.png")


def image_sizes(folder: Path) -> set:
    return {Image.open(p).size for p in folder.glob("*.png")}


def run_pytorch_fid(a: Path, b: Path, env: dict, device: str) -> tuple[float, float] | None:
    """pytorch-fid's CLI: (FID, seconds), or None when its sqrtm gave up on singular covariances."""
    mixed = len(image_sizes(a)) > 1 or len(image_sizes(b)) > 1
    batch = "1" if mixed else "50"
    cmd = [sys.executable, "-m", "pytorch_fid", str(a), str(b), "--device", device,
           "--batch-size", batch, "--dims", "2048", "--num-workers", "0"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 and "Imaginary component" in done.stderr:
        print(f"pytorch-fid stopped with 'Imaginary component' after {elapsed:.1f} s: too few images for "
              "2048-d covariances; rerun with --images 2100 or more")
        return None
    if done.returncode != 0:
        sys.exit(f"pytorch-fid failed:\n{done.stderr[-3000:]}")
    found = re.search(r"FID:\s+([-+0-9.eE]+)", done.stdout)
    if not found:
        sys.exit(f"no FID in pytorch-fid's output:\n{done.stdout}")
    print(f"pytorch-fid (batch size {batch}): FID {float(found.group(1)):.9f} in {elapsed:.2f} s")
    return float(found.group(1)), elapsed


def export(weights: Path, onnx_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "models" / "export_inception.py"),
           "--weights", str(weights), "--out", str(onnx_path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    print(done.stdout.strip())
    if done.returncode != 0:
        sys.exit(f"export failed:\n{done.stderr[-3000:]}")


def compare_features(folder: Path, onnx_path: Path) -> float:
    """Max |pytorch-fid InceptionV3 - onnxruntime(export)| of pool3 over a few images."""
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F
    import torchvision.transforms.functional as TF
    from pytorch_fid.inception import InceptionV3

    model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = scale = 0.0
    for p in sorted(folder.glob("*.png"))[:8]:
        x = TF.to_tensor(Image.open(p).convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            ref = model(x)[0].squeeze(3).squeeze(2).numpy()
        fed = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
        got = session.run(["pool"], {"images": fed.numpy()})[0]
        worst = max(worst, float(np.max(np.abs(ref - got))))
        scale = max(scale, float(np.max(np.abs(ref))))
    print(f"largest pool3 feature magnitude {scale:.3e}")
    return worst


def find_fid(obj):
    """The first number under a key named `fid` anywhere in the CLI's JSON."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.lower() == "fid" and isinstance(v, (int, float)):
                return float(v)
        for v in obj.values():
            found = find_fid(v)
            if found is not None:
                return found
    if isinstance(obj, list):
        for v in obj:
            found = find_fid(v)
            if found is not None:
                return found
    return None


def run_cli(binary: Path, a: Path, b: Path, onnx_path: Path, out_json: Path) -> tuple[float, float]:
    cmd = [str(binary), "fid", "--real", str(a), "--fake", str(b), "--extractor", str(onnx_path),
           "--json", str(out_json)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"stackgan-eval failed ({done.returncode}):\n{done.stderr[-3000:]}")
    fid = find_fid(json.loads(out_json.read_text()))
    if fid is None:
        sys.exit(f"no `fid` number in {out_json}")
    print(f"stackgan-eval: FID {fid:.9f} in {elapsed:.2f} s")
    return fid, elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    p.add_argument("--images", type=int, default=2100, help="images per folder (> 2048 for a defined FID)")
    p.add_argument("--pytorch-fid-device", default="cpu", help="device pytorch-fid runs on (cpu, cuda)")
    p.add_argument("--workdir", help="keep everything here instead of a temporary folder")
    p.add_argument("--skip-cli", action="store_true", help="only the pytorch-fid half (no Rust binary)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        torch_home = work / "torch-home"
        weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
        os.environ["TORCH_HOME"] = str(torch_home)
        env = dict(os.environ)
        make_fake_fid_weights(weights)
        a, b = work / "real", work / "fake"
        make_images(a, args.images, seed=1, warm=False)
        make_images(b, args.images, seed=2, warm=True)
        n_images = 2 * args.images

        onnx_path = work / "inception-fid.onnx"
        export(weights, onnx_path)
        diff = compare_features(b, onnx_path)
        print(f"pool3 features, pytorch-fid InceptionV3 vs ORT(export): max abs diff {diff:.3e}")
        if not diff <= FEATURE_TOLERANCE:
            print(f"FAIL: feature difference above {FEATURE_TOLERANCE}")
            return 1
        result = run_pytorch_fid(a, b, env, args.pytorch_fid_device)
        if result is None:
            return 1
        fid_ref, t_ref = result
        if args.skip_cli:
            print(f"pytorch-fid: {n_images / t_ref:.1f} images/s; --skip-cli given, Rust CLI not run")
            return 0

        binary = Path(args.bin)
        if not binary.is_file():
            print(f"FAIL: {binary} not found; build it (cargo build --release) or pass --bin / --skip-cli")
            return 1
        fid_cli, t_cli = run_cli(binary, a, b, onnx_path, work / "out.json")
        rel = abs(fid_cli - fid_ref) / max(abs(fid_ref), 1e-12)
        print(f"relative difference {rel:.3e} (tolerance {REL_TOLERANCE})")
        print(f"throughput: pytorch-fid {n_images / t_ref:.1f} images/s, stackgan-eval {n_images / t_cli:.1f} "
              f"images/s, ratio {t_ref / t_cli:.2f}x (wall time incl. start-up)")
        return 0 if rel <= REL_TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
