"""Developer check: `stackgan-eval fid --protocol torch-fidelity|clean-fid` against those tools' own pipelines.

Needs torch, torchvision, torch-fidelity 0.4.0, clean-fid 0.1.35, pytorch-fid 0.3.0 (for the
network it shares with the exporter), scikit-image (its bundled photographs), numpy, scipy,
Pillow 12.x and onnxruntime; not run in CI. Nothing is downloaded.

Steps:
1. a stand-in `pt_inception-2015-12-05-6726825d.pth` (seeded random values in the published
   file's format, `check_pytorch_fid.make_fake_fid_weights`);
2. two folders of N real-looking images each (default 2112): crops of the colour photographs
   that scikit-image's wheel bundles (`skimage/data`: astronaut, chelsea, coffee, rocket, the
   motorcycle pair, hubble_deep_field, retina, ihc), in mixed sizes, alternately JPEG (quality
   70-95) and PNG; the second folder blurred and colour-shifted. Sizes change every 32 files (in
   name order), so torch-fidelity's data loader can stack a batch of 32 without resizing;
3. torch-fidelity's own `calculate_metrics(input1=A, input2=B, fid=True,
   feature_extractor_weights_path=stand-in, batch_size=32)`: its loader, its TF1 bilinear, its
   `(x - 128) / 128`, its network and its FID;
4. clean-fid's own `compute_fid(A, B, mode="clean")`: its loader and PIL-bicubic resize, its
   `InceptionV3W.forward` (which applies `(x - 128) / 128` before `layers`) and its FID, with
   the stand-in network put where clean-fid's downloaded TorchScript `layers` would be;
5. `models/export_inception.py` on the stand-in weights, then `stackgan-eval fid --protocol P`
   for P in torch-fidelity, clean-fid, pytorch-fid (and no `--protocol`: the manifest's
   default), plus `--resize legacy-tf` under pytorch-fid's input mapping, which shows how far
   the resize alone is from torch-fidelity's number. Exit 1 if a relative difference is above
   1e-4.

References are kept in WORKDIR/references.json, so a rerun with `--workdir` (e.g. after
rebuilding the binary) only reruns the CLI. Measured on the shared 2-core development
machine with 2 x 2112 images: torch-fidelity's pipeline 2631 s (under a load of ~9),
clean-fid's 1132 s, the CLI 3-5 minutes per protocol; relative differences 4.4e-7
(torch-fidelity) and 3.1e-7 (clean-fid).

    .venv-protocol/bin/python tests/reference/check_protocols.py --workdir /tmp/protocols \
        [--bin target/release/stackgan-eval] [--images 2112] [--baseline-bin OLD_BINARY]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageFilter

# clean-fid resizes with Pillow, and Pillow 13 reorders the passes of tall downscales.
assert PIL.__version__.startswith("12."), f"needs Pillow 12.x (pip install 'pillow==12.*'), found {PIL.__version__}"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_pytorch_fid import WEIGHTS_NAME, find_fid, make_fake_fid_weights  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
REL_TOLERANCE = 1e-4
GROUP = 32  # files of one size in a row: torch-fidelity's batch size
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
          "motorcycle_right.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png"]
# (width, height): square, landscape, portrait, smaller and larger than 299.
SIZES = [(299, 299), (500, 375), (375, 500), (128, 96), (64, 64), (256, 256), (200, 120), (96, 160),
         (320, 240), (413, 311), (150, 220), (640, 480)]


def photographs() -> list[Image.Image]:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    return [Image.open(folder / name).convert("RGB") for name in PHOTOS]


def make_images(folder: Path, n: int, seed: int, altered: bool) -> None:
    """`n` crops of the photographs; the size changes every GROUP files, JPEG and PNG alternate."""
    rng = np.random.default_rng(seed)
    photos = photographs()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = SIZES[(i // GROUP + seed) % len(SIZES)]
        photo = photos[int(rng.integers(len(photos)))]
        scale = float(rng.uniform(0.3, 1.0))
        cw = max(8, min(photo.width, int(photo.width * scale)))
        ch = max(8, min(photo.height, int(cw * h / w)))
        x0, y0 = int(rng.integers(0, photo.width - cw + 1)), int(rng.integers(0, photo.height - ch + 1))
        img = photo.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.LANCZOS)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        if altered:
            img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
            shift = np.array([18, -6, -14]) + rng.normal(0, 4, 3)
            img = Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) + shift, 0, 255).astype(np.uint8))
        name = f"g{i // GROUP:03d}_{i:05d}"
        if i % 2:
            img.save(folder / f"{name}.jpg", quality=int(rng.integers(70, 96)))
        else:
            img.save(folder / f"{name}.png")


def torch_fidelity_fid(a: Path, b: Path, weights: Path) -> float:
    import torch_fidelity

    metrics = torch_fidelity.calculate_metrics(
        input1=str(a), input2=str(b), fid=True, feature_extractor_weights_path=str(weights),
        batch_size=GROUP, cuda=False, cache=False, save_cpu_ram=True, verbose=False,
    )
    return float(metrics["frechet_inception_distance"])


def clean_fid_fid(a: Path, b: Path) -> float:
    """clean-fid's mode "clean" with the stand-in network in place of its TorchScript `layers`."""
    import torch
    from cleanfid import fid
    from cleanfid.inception_torchscript import InceptionV3W
    from pytorch_fid.inception import InceptionV3

    class Layers(torch.nn.Module):
        """The network from its first convolution to pool3, as the TorchScript's `layers`."""

        def __init__(self):
            super().__init__()
            self.net = InceptionV3([3], resize_input=False, normalize_input=False).eval()

        def forward(self, x):
            return self.net(x)[0]

    model = InceptionV3W.__new__(InceptionV3W)
    torch.nn.Module.__init__(model)
    model.layers = Layers()
    model.resize_inside = False
    model.eval()
    return float(fid.compute_fid(str(a), str(b), mode="clean", custom_feat_extractor=model, batch_size=GROUP,
                                 num_workers=0, device=torch.device("cpu"), verbose=False,
                                 use_dataparallel=False))


def references(work: Path, a: Path, b: Path, weights: Path) -> dict:
    path = work / "references.json"
    if path.is_file():
        return json.loads(path.read_text())
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    refs = {}
    for name, run in (("torch-fidelity", lambda: torch_fidelity_fid(a, b, weights)),
                      ("clean-fid", lambda: clean_fid_fid(a, b))):
        start = time.perf_counter()
        refs[name] = run()
        refs[f"{name}-seconds"] = time.perf_counter() - start
        print(f"{name}: FID {refs[name]:.9f} in {refs[f'{name}-seconds']:.0f} s", flush=True)
    path.write_text(json.dumps(refs, indent=2))
    return refs


def cli_fid(binary: Path, a: Path, b: Path, onnx: Path, work: Path, extra: list[str], tag: str) -> tuple[float, dict]:
    out = work / f"cli-{tag}.json"
    cmd = [str(binary), "fid", "--real", str(a), "--fake", str(b), "--extractor", str(onnx),
           "--json", str(out), "--quiet", *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(out.read_text())
    value = find_fid(report)
    print(f"stackgan-eval {' '.join(extra) or '(manifest default)'}: FID {value:.9f} "
          f"(protocol {report.get('protocol')}, resize {report.get('resize')}) in "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    return value, report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    p.add_argument("--baseline-bin", help="a binary from before --protocol existed: its default FID must not move")
    p.add_argument("--images", type=int, default=2112, help="images per folder (>= 2048)")
    p.add_argument("--workdir", help="keep images, weights and references here (reused on a rerun)")
    p.add_argument("--references-only", action="store_true", help="stop after the Python pipelines")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        torch_home = work / "torch-home"
        weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
        os.environ["TORCH_HOME"] = str(torch_home)  # where pytorch-fid's InceptionV3 finds the stand-in
        if not weights.is_file():
            make_fake_fid_weights(weights)
        a, b = work / "real", work / "fake"
        if not (a.is_dir() and b.is_dir()):
            make_images(a, args.images, seed=1, altered=False)
            make_images(b, args.images, seed=2, altered=True)
        refs = references(work, a, b, weights)
        if args.references_only:
            return 0

        onnx = work / "inception-fid.onnx"
        done = subprocess.run([sys.executable, str(REPO / "models" / "export_inception.py"),
                               "--weights", str(weights), "--out", str(onnx)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"export failed:\n{done.stderr[-3000:]}")
        binary = Path(args.bin)
        ok = True
        results = {}
        for protocol in ("torch-fidelity", "clean-fid"):
            value, report = cli_fid(binary, a, b, onnx, work, ["--protocol", protocol], protocol)
            rel = abs(value - refs[protocol]) / abs(refs[protocol])
            results[protocol] = rel
            print(f"  vs {protocol}'s own pipeline {refs[protocol]:.9f}: relative difference {rel:.3e} "
                  f"(tolerance {REL_TOLERANCE})")
            ok &= rel <= REL_TOLERANCE and report.get("protocol") == protocol
        default, _ = cli_fid(binary, a, b, onnx, work, [], "default")
        pytorch_fid, _ = cli_fid(binary, a, b, onnx, work, ["--protocol", "pytorch-fid"], "pytorch-fid")
        ok &= default == pytorch_fid
        resize_only, _ = cli_fid(binary, a, b, onnx, work, ["--resize", "legacy-tf"], "resize-legacy-tf")
        print(f"  --resize legacy-tf alone (pytorch-fid's 2x - 1): {abs(resize_only / refs['torch-fidelity'] - 1):.3e} "
              "from torch-fidelity's FID")
        if args.baseline_bin:
            # The same model with a manifest as the old exporter wrote it (no `protocols` list).
            old = work / "baseline" / onnx.name
            old.parent.mkdir(exist_ok=True)
            old.write_bytes(onnx.read_bytes())
            manifest = onnx.with_suffix(".toml").read_text().splitlines(keepends=True)
            old.with_suffix(".toml").write_text("".join(l for l in manifest if not l.startswith("protocols =")))
            out = work / "baseline.json"
            subprocess.run([args.baseline_bin, "fid", "--real", str(a), "--fake", str(b), "--extractor", str(old),
                            "--json", str(out), "--quiet"], check=True)
            baseline = find_fid(json.loads(out.read_text()))
            print(f"baseline binary (no --protocol): FID {baseline:.9f}; pytorch-fid protocol now {pytorch_fid:.9f}")
            ok &= baseline == pytorch_fid
        print("OK" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
