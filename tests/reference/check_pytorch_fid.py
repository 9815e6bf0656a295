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
4. pytorch-fid's CLI `--save-stats` on each folder (batch size 1 when sizes
   are mixed: its data loader cannot stack images of different sizes), timed,
   then its `calculate_frechet_distance` on those statistics;
5. `stackgan-eval stats --images X --extractor M.onnx --out x.npz` per folder
   (mu, sigma compared with pytorch-fid's) and `stackgan-eval fid --real A
   --fake B --extractor M.onnx --json out.json`, timed; exit 1 if the FIDs
   differ by more than 1e-3 relative (or mu by 1e-3 absolute, sigma by 1e-3
   of its largest entry).

2048-d FID needs more images than dimensions per folder: with fewer, the
covariances are singular and pytorch-fid's scipy `sqrtm` usually stops with
"Imaginary component" (the default, 2100 per folder, avoids that); with
fewer images the script still compares mu and sigma. On a
2-core CPU pytorch-fid runs at roughly 0.3-4 s per image, so the full check is
an overnight job there; `--pytorch-fid-device cuda` makes it minutes.

    python3 tests/reference/check_pytorch_fid.py [--bin target/release/stackgan-eval] [--skip-cli]
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


MIXED_SIZES = [(64, 64), (128, 96), (299, 299), (50, 80), (256, 256), (32, 32)]


def make_images(folder: Path, n: int, seed: int, warm: bool, sizes: list | None = None) -> None:
    """`n` PNGs of coloured shapes; sizes vary (or all one size), every 7th an RGBA icon, every 5th greyscale."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = sizes or MIXED_SIZES
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


def pytorch_fid_stats(folder: Path, out: Path, env: dict, device: str) -> float:
    """pytorch-fid's CLI `--save-stats` (mu, sigma of pool3) for one folder; returns seconds.

    Batch size 1 when sizes are mixed: its data loader cannot stack images of
    different sizes (the per-image result is the same, only slower)."""
    batch = "1" if len(image_sizes(folder)) > 1 else "50"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytorch_fid", "--save-stats", str(folder), str(out), "--device", device,
           "--batch-size", batch, "--dims", "2048", "--num-workers", "0"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pytorch-fid failed on {folder}:\n{done.stderr[-3000:]}")
    print(f"pytorch-fid --save-stats {folder.name} (batch size {batch}): {elapsed:.1f} s")
    return elapsed


def pytorch_fid_distance(a_npz: Path, b_npz: Path) -> float | None:
    """pytorch-fid's `calculate_frechet_distance` on the saved statistics (what its CLI
    does after computing them); None when scipy's sqrtm gives up on singular covariances."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    with np.load(a_npz) as fa, np.load(b_npz) as fb:
        try:
            return float(calculate_frechet_distance(fa["mu"], fa["sigma"], fb["mu"], fb["sigma"]))
        except ValueError as err:
            print(f"pytorch-fid: {err}: too few images for 2048-d covariances (use --images 2100)")
            return None


def compare_stats(ref_npz: Path, got_npz: Path) -> tuple[float, float]:
    """(max |mu diff|, max |sigma diff| relative to max |sigma|) between two stats files."""
    with np.load(ref_npz) as r, np.load(got_npz) as g:
        dmu = float(np.max(np.abs(r["mu"] - g["mu"])))
        dsigma = float(np.max(np.abs(r["sigma"] - g["sigma"])) / max(np.max(np.abs(r["sigma"])), 1e-12))
    return dmu, dsigma


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


def run_cli(args: list[str]) -> float:
    """Run stackgan-eval; returns seconds."""
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    p.add_argument("--images", type=int, default=2100, help="images per folder (> 2048 for a defined FID)")
    p.add_argument("--pytorch-fid-device", default="cpu", help="device pytorch-fid runs on (cpu, cuda)")
    p.add_argument("--workdir", help="keep everything here instead of a temporary folder")
    p.add_argument("--skip-cli", action="store_true", help="only the pytorch-fid half (no Rust binary)")
    p.add_argument("--uniform-size", metavar="WxH",
                   help="all images one size (pytorch-fid can then batch 50 at a time; much faster)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        torch_home = work / "torch-home"
        weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
        os.environ["TORCH_HOME"] = str(torch_home)
        env = dict(os.environ)
        make_fake_fid_weights(weights)
        a, b = work / "real", work / "fake"
        sizes = [tuple(int(v) for v in args.uniform_size.split("x"))] if args.uniform_size else None
        make_images(a, args.images, seed=1, warm=False, sizes=sizes)
        make_images(b, args.images, seed=2, warm=True, sizes=sizes)
        n_images = 2 * args.images

        onnx_path = work / "inception-fid.onnx"
        export(weights, onnx_path)
        diff = compare_features(b, onnx_path)
        print(f"pool3 features, pytorch-fid InceptionV3 vs ORT(export): max abs diff {diff:.3e}")
        if not diff <= FEATURE_TOLERANCE:
            print(f"FAIL: feature difference above {FEATURE_TOLERANCE}")
            return 1
        stats_ref = {f: work / f"{f.name}-pytorch-fid.npz" for f in (a, b)}
        t_ref = sum(pytorch_fid_stats(f, out, env, args.pytorch_fid_device) for f, out in stats_ref.items())
        fid_ref = pytorch_fid_distance(stats_ref[a], stats_ref[b])
        if fid_ref is not None:
            print(f"pytorch-fid: FID {fid_ref:.9f}")
        print(f"pytorch-fid: {n_images / t_ref:.2f} images/s on {args.pytorch_fid_device}")
        if args.skip_cli:
            print("--skip-cli given: Rust CLI not run")
            return 0 if fid_ref is not None or args.images <= 2048 else 1

        binary = Path(args.bin)
        if not binary.is_file():
            print(f"FAIL: {binary} not found; build it (cargo build --release) or pass --bin / --skip-cli")
            return 1
        ok = True
        for folder, ref in stats_ref.items():
            got = work / f"{folder.name}-stackgan-eval.npz"
            run_cli([str(binary), "stats", "--images", str(folder), "--extractor", str(onnx_path),
                     "--out", str(got)])
            dmu, dsigma = compare_stats(ref, got)
            print(f"stats {folder.name}: max |mu diff| {dmu:.3e}, max |sigma diff| / max |sigma| {dsigma:.3e}")
            ok &= dmu <= FEATURE_TOLERANCE and dsigma <= REL_TOLERANCE
        out_json = work / "out.json"
        t_cli = run_cli([str(binary), "fid", "--real", str(a), "--fake", str(b), "--extractor", str(onnx_path),
                         "--json", str(out_json)])
        fid_cli = find_fid(json.loads(out_json.read_text()))
        if fid_cli is None:
            print(f"FAIL: no `fid` number in {out_json}")
            return 1
        print(f"stackgan-eval: FID {fid_cli:.9f} in {t_cli:.2f} s")
        if fid_ref is not None:
            rel = abs(fid_cli - fid_ref) / max(abs(fid_ref), 1e-12)
            print(f"FID relative difference {rel:.3e} (tolerance {REL_TOLERANCE})")
            ok &= rel <= REL_TOLERANCE
        print(f"throughput: pytorch-fid {n_images / t_ref:.2f} images/s, stackgan-eval {n_images / t_cli:.2f} "
              f"images/s, ratio {t_ref / t_cli:.2f}x (wall time incl. start-up)")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
