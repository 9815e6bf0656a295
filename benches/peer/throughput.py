"""Side-by-side end-to-end throughput: pytorch-fid vs stackgan-eval, same machine,
same images, same weights (a weight file in pytorch-fid's format with seeded
random values: speed does not depend on the values).

Prints images/s for
  - pytorch-fid 0.3.0 `--save-stats` (decode → resize → network → statistics),
  - stackgan-eval `stats` (the same work),
  - the network alone: onnxruntime on ready 299x299 batches (same library and
    threads as the Rust tool; the ceiling the pipeline can reach),
and the ratios: stackgan-eval / pytorch-fid, and stackgan-eval / network-only.

Needs torch, pytorch-fid 0.3.0 and onnxruntime (models/requirements.txt); not
run in CI. Example:
    python benches/peer/throughput.py --bin target/release/stackgan-eval --images 300
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reference"))
from check_pytorch_fid import WEIGHTS_NAME, export, make_fake_fid_weights  # noqa: E402


def make_photos(folder: Path, n: int, size: tuple[int, int], fmt: str, seed: int = 0) -> None:
    """`n` smooth random pictures of one size (CUB-like 500x375 by default)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    for i in range(n):
        coarse = rng.integers(0, 256, (h // 25 + 1, w // 25 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
        noisy = np.clip(np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"{i:05d}.{fmt}", quality=90) if fmt == "jpg" else Image.fromarray(noisy).save(folder / f"{i:05d}.{fmt}")


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def network_only(onnx_path: Path, batch: int, threads: int, batches: int) -> float:
    """images/s of onnxruntime alone on ready input batches."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 3, 299, 299)).astype(np.float32)
    session.run(["pool"], {"images": x})  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        session.run(["pool"], {"images": x})
    return batch * batches / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", default="500x375")
    parser.add_argument("--format", choices=["jpg", "png"], default="jpg")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--skip-pytorch-fid", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="throughput-"))
    w, h = (int(v) for v in args.size.split("x"))

    torch_home = work / "torch-home"
    weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
    if not weights.exists():
        make_fake_fid_weights(weights)
    onnx_path = work / "inception-fid.onnx"
    if not onnx_path.exists():
        export(weights, onnx_path)
    images = work / f"images-{args.images}-{args.size}-{args.format}"
    if not images.exists():
        make_photos(images, args.images, (w, h), args.format)
    n = args.images
    print(f"{n} {args.format} images of {w}x{h}, batch {args.batch_size}, {args.threads} threads, workdir {work}")

    rows = []
    ours = timed([args.bin, "stats", "--images", str(images), "--extractor", str(onnx_path), "--out",
                  str(work / "ours.npz"), "--device", "cpu", "--batch-size", str(args.batch_size),
                  "--threads", str(args.threads), "--quiet"])
    rows.append(("stackgan-eval stats", n / ours))
    net = network_only(onnx_path, args.batch_size, args.threads, max(2, n // args.batch_size))
    rows.append(("onnxruntime network only", net))
    if not args.skip_pytorch_fid:
        env = dict(os.environ, TORCH_HOME=str(torch_home))
        theirs = timed([sys.executable, "-m", "pytorch_fid", "--save-stats", str(images), str(work / "theirs.npz"),
                        "--device", "cpu", "--batch-size", str(args.batch_size), "--dims", "2048"], env)
        rows.append(("pytorch-fid --save-stats", n / theirs))
    for name, rate in rows:
        print(f"{name:28s} {rate:8.2f} images/s")
    print(f"stackgan-eval / network only: {rows[0][1] / net:.3f}")
    if not args.skip_pytorch_fid:
        print(f"stackgan-eval / pytorch-fid:  {rows[0][1] / rows[2][1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
