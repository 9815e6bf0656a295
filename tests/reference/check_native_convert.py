"""Developer check: `stackgan-eval models convert` (no Python) against pytorch-fid 0.3.0 and the Python exporter.

Needs torch, torchvision, pytorch-fid 0.3.0, onnx, onnxruntime (not run in CI;
the CI-level tests are tests/suite/convert_*.rs). It never downloads.

Steps:
1. a weight file in pytorch-fid's exact format (its architecture and keys,
   seeded values with calibrated batch-norm statistics:
   check_pytorch_fid.make_fake_fid_weights), saved by torch in EACH of the
   two serialisations: the zip archive (torch >= 1.6) and the legacy stream
   (`_use_new_zipfile_serialization=False`, the format of the published
   `pt_inception-2015-12-05-6726825d.pth`);
2. `stackgan-eval models convert --checkpoint W --kind fid --out M.onnx` on
   each, timed; the two converted files must be byte-identical (the same
   weights, whatever the serialisation);
3. `models/export_inception.py` on the same weights; the pool features of
   both ONNX files on every image of a folder (through `stackgan-eval extract`,
   so through the same preprocessing): max abs and relative RMS difference;
4. pytorch-fid's own statistics of two folders (its CLI `--save-stats`, its
   network loaded from the weight file in TORCH_HOME) and its
   `calculate_frechet_distance`, against `stackgan-eval fid --extractor
   M.onnx` on the same folders: relative difference, tolerance 1e-4.

With N images per folder below 2048 the covariances are singular; pytorch-fid
still gives a number on these folders (its imaginary-part check passes), and
both sides compute the same singular problem.

    .venv-with-torch/bin/python tests/reference/check_native_convert.py [--images 300] [--bin target/release/stackgan-eval]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_pytorch_fid import (  # noqa: E402  (the sibling script's helpers)
    REPO,
    WEIGHTS_NAME,
    export,
    make_fake_fid_weights,
    make_images,
    pytorch_fid_distance,
    pytorch_fid_stats,
)

FID_TOLERANCE = 1e-4


def run(args: list[str]) -> float:
    """Runs a command; returns its wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def resave(state_path: Path, out: Path, zip_format: bool) -> None:
    import torch

    state = torch.load(state_path, weights_only=True)
    torch.save(state, out, _use_new_zipfile_serialization=zip_format)


def pool(features: Path) -> np.ndarray:
    with np.load(features) as f:
        return f["pool"].astype(np.float64)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    p.add_argument("--images", type=int, default=300, help="images per folder")
    p.add_argument("--workdir", help="keep everything here instead of a temporary folder")
    args = p.parse_args()
    binary = str(Path(args.bin).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        torch_home = work / "torch-home"
        weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
        os.environ["TORCH_HOME"] = str(torch_home)
        env = dict(os.environ)
        if not weights.exists():
            make_fake_fid_weights(weights)
        forms = {"zip": work / "weights-zip.pth", "legacy": work / "weights-legacy.pth"}
        for name, path in forms.items():
            resave(weights, path, zip_format=name == "zip")
        a, b = work / "real", work / "fake"
        if not a.exists():
            make_images(a, args.images, seed=1, warm=False)
            make_images(b, args.images, seed=2, warm=True)

        ok = True
        converted = {}
        for name, path in forms.items():
            out = work / f"native-{name}.onnx"
            seconds = run([binary, "models", "convert", "--checkpoint", str(path), "--kind", "fid", "--out", str(out)])
            converted[name] = out
            print(f"models convert ({name} serialisation): {seconds:.2f} s")
        same = converted["zip"].read_bytes() == converted["legacy"].read_bytes()
        print(f"zip and legacy serialisations convert to byte-identical files: {same}")
        ok &= same
        native = converted["legacy"]

        exported = work / "exported.onnx"
        export(weights, exported)
        feats = {}
        for label, model in (("native", native), ("exporter", exported)):
            out = work / f"{label}-features.npz"
            run([binary, "extract", "--images", str(b), "--extractor", str(model), "--out", str(out), "--quiet"])
            feats[label] = pool(out)
        diff = feats["native"] - feats["exporter"]
        max_abs = float(np.max(np.abs(diff)))
        rel_rms = float(np.sqrt(np.mean(diff**2)) / np.sqrt(np.mean(feats["exporter"] ** 2)))
        scale = float(np.max(np.abs(feats["exporter"])))
        print(f"pool features, native vs exporter ONNX on {len(feats['native'])} images: "
              f"max abs {max_abs:.3e} (largest feature {scale:.3e}), relative RMS {rel_rms:.3e}")
        ok &= max_abs <= 1e-5 * scale and rel_rms <= 2e-6

        stats_ref = {f: work / f"{f.name}-pytorch-fid.npz" for f in (a, b)}
        for folder, npz in stats_ref.items():
            if not npz.exists():
                pytorch_fid_stats(folder, npz, env, "cpu")
        fid_ref = pytorch_fid_distance(stats_ref[a], stats_ref[b])
        for name, model in converted.items():
            out_json = work / f"fid-{name}.json"
            run([binary, "fid", "--real", str(a), "--fake", str(b), "--extractor", str(model),
                 "--json", str(out_json), "--quiet"])
            fid = json.loads(out_json.read_text())["fid"]
            if fid_ref is None:
                print(f"stackgan-eval ({name}): FID {fid:.9f}; pytorch-fid gave none")
                ok = False
                continue
            rel = abs(fid - fid_ref) / abs(fid_ref)
            print(f"FID: pytorch-fid {fid_ref:.9f}, native ({name}) {fid:.9f}, relative {rel:.3e} "
                  f"(tolerance {FID_TOLERANCE})")
            ok &= rel <= FID_TOLERANCE
        print("OK" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
