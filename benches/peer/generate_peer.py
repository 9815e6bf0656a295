"""Generation throughput, side by side: PyTorch vs stackgan-eval `generate`, same model,
same batch size, same thread count, same machine.

The model is a full-size StackGAN-v2 birds generator (GF_DIM 64, R_NUM 2,
BRANCH_NUM 3, Z_DIM 100, EMBEDDING_DIM 128, TEXT.DIMENSION 1024) built with
models/stackgan_nets.py and SEEDED RANDOM weights (speed does not depend on
the values; BatchNorm statistics are calibrated on one random batch so the
activations stay near unit scale, as in a trained net, and no denormal floats
skew the timing). It is saved as a checkpoint in the released format
(`netG_210000.pth`, keys under `module.`, legacy serialisation) and exported
with models/export_stackgan.py to `G.onnx`; `emb.npy` holds [samples, 1, 1024]
seeded standard-normal text embeddings (one caption per sample).

Reported in samples/s; one sample = all three branches (64, 128, 256 px):
  - torch forward: eval mode, torch.no_grad, torch.set_num_threads(--threads),
    z and eps drawn per batch as upstream does;
  - torch forward + PNGs: the same, and each branch written as PNG the way
    upstream's `save_singleimages` does (`(x + 1) / 2 * 255`, clamp, to uint8,
    HWC, PIL save with default settings) into 64/, 128/, 256/ of a temporary folder;
  - onnxruntime forward (`--ort-only`): the exported graph alone in
    onnxruntime's Python session (the library stackgan-eval uses; no PNGs);
  - stackgan-eval generate (`--stackgan-eval PATH`): the whole command, wall
    time around subprocess.run (process start, model load, PNGs, samples.csv
    included), after one untimed warm-up run into another folder.
Torch and onnxruntime time one untimed warm-up batch first. Ratios printed:
stackgan-eval / torch forward + PNGs, and stackgan-eval / torch forward.

Needs torch, onnx, onnxruntime, pillow (models/requirements.txt); not run in
CI. Example:
    python benches/peer/generate_peer.py --ort-only --json gen.json \\
        --stackgan-eval target/release/stackgan-eval
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "models"))
import export_stackgan  # noqa: E402
from stackgan_nets import V2Config, V2Generator  # noqa: E402

CONFIG = V2Config(gf_dim=64, z_dim=100, embedding_dim=128, text_dim=1024, r_num=2, branch_num=3, conditional=True)
SEED = 0
CALIBRATION_BATCH = 8
CHECKPOINT_NAME = "netG_210000.pth"


def seeded_generator() -> V2Generator:
    """Default-initialised weights; BatchNorm running statistics calibrated on one random batch."""
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
    return net.eval()


def write_model(net: V2Generator, work: Path) -> Path:
    """Released-format checkpoint of `net`, exported to work/G.onnx (+ G.toml); returns the .onnx path."""
    ckpt = work / CHECKPOINT_NAME
    torch.save({"module." + k: v for k, v in net.state_dict().items()}, ckpt, _use_new_zipfile_serialization=False)
    onnx_path = work / "G.onnx"
    _, diff = export_stackgan.export(ckpt, "v2-birds", onnx_path, name="peer-v2-birds-random")
    print(f"exported {onnx_path} (torch vs onnxruntime {diff:.1e})")
    return onnx_path


def batch_ranges(n: int, batch: int):
    return [(start, min(batch, n - start)) for start in range(0, n, batch)]


def save_branch_pngs(images: list[torch.Tensor], folder: Path, start: int) -> None:
    """Each branch's images as PNG, converted as upstream's save_singleimages converts them."""
    for img in images:
        size = img.shape[-1]
        pixels = img.add(1).div(2).mul(255).clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        for i, hwc in enumerate(pixels):
            Image.fromarray(hwc).save(folder / str(size) / f"{start + i:06d}.png")


def time_torch(net: V2Generator, emb: np.ndarray, batch: int, png_dir: Path | None) -> float:
    """Seconds for all samples (one untimed warm-up batch first); writes PNGs when `png_dir` is given."""
    text = torch.from_numpy(emb[:, 0, :])
    noise = torch.Generator().manual_seed(SEED)
    if png_dir is not None:
        for size in CONFIG.resolutions():
            (png_dir / str(size)).mkdir(parents=True, exist_ok=True)

    def run(start: int, size: int) -> None:
        z = torch.randn(size, CONFIG.z_dim, generator=noise)
        eps = torch.randn(size, CONFIG.embedding_dim, generator=noise)
        images, _, _ = net(z, text[start:start + size], eps)
        if png_dir is not None:
            save_branch_pngs(images, png_dir, start)

    with torch.no_grad():
        run(0, min(batch, len(emb)))
        start_t = time.perf_counter()
        for start, size in batch_ranges(len(emb), batch):
            run(start, size)
        return time.perf_counter() - start_t


def time_onnxruntime(onnx_path: Path, emb: np.ndarray, batch: int, threads: int) -> float:
    """Seconds for all samples through onnxruntime's Python session (one untimed warm-up batch first)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(SEED)

    def run(start: int, size: int) -> None:
        session.run(None, {"z": rng.standard_normal((size, CONFIG.z_dim), dtype=np.float32),
                           "text_embedding": emb[start:start + size, 0, :],
                           "eps": rng.standard_normal((size, CONFIG.embedding_dim), dtype=np.float32)})

    run(0, min(batch, len(emb)))
    start_t = time.perf_counter()
    for start, size in batch_ranges(len(emb), batch):
        run(start, size)
    return time.perf_counter() - start_t


def time_stackgan_eval(binary: str, onnx_path: Path, emb_path: Path, work: Path, batch: int, threads: int,
                       samples: int) -> float:
    """Wall seconds of `stackgan-eval generate` over all samples (after one untimed warm-up run)."""
    def run(out: Path) -> float:
        shutil.rmtree(out, ignore_errors=True)
        cmd = [binary, "generate", "--model", str(onnx_path), "--embeddings", str(emb_path), "--out", str(out),
               "--seed", "0", "--batch-size", str(batch), "--threads", str(threads), "--quiet"]
        start_t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start_t
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        for size in CONFIG.resolutions():
            written = len(list((out / str(size)).glob("*.png")))
            if written != samples:
                sys.exit(f"{' '.join(cmd)} wrote {written} PNGs in {out / str(size)}, expected {samples}")
        return elapsed

    run(work / "stackgan-eval-warmup")
    return run(work / "stackgan-eval-out")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=48, help="samples timed per mode (default 48)")
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="default: all cores")
    parser.add_argument("--workdir", type=Path, help="keep the model, embeddings and outputs here "
                        "(default: a temporary folder, removed at the end); an existing G.onnx is reused")
    parser.add_argument("--stackgan-eval", metavar="PATH", help="stackgan-eval binary to time `generate` of")
    parser.add_argument("--ort-only", action="store_true",
                        help="also time the graph alone in onnxruntime's Python session (network only)")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args()
    if args.samples < 1 or args.batch_size < 1 or args.threads < 1:
        parser.error("--samples, --batch-size and --threads must be at least 1")

    load_before = os.getloadavg()
    torch.set_num_threads(args.threads)
    keep = args.workdir is not None
    work = args.workdir or Path(tempfile.mkdtemp(prefix="generate-peer-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        net = seeded_generator()
        onnx_path = work / "G.onnx"
        if keep and onnx_path.exists():
            print(f"reusing {onnx_path}")
        else:
            onnx_path = write_model(net, work)
        emb = np.random.default_rng(SEED).standard_normal((args.samples, 1, CONFIG.text_dim)).astype(np.float32)
        emb_path = work / "emb.npy"
        np.save(emb_path, emb)
        print(f"StackGAN-v2 birds generator (GF_DIM {CONFIG.gf_dim}, R_NUM {CONFIG.r_num}, "
              f"{CONFIG.branch_num} branches), {args.samples} samples, batch {args.batch_size}, "
              f"{args.threads} threads ({os.cpu_count()} CPUs), load average {load_before[0]:.2f}, workdir {work}")

        seconds = {"torch_forward": time_torch(net, emb, args.batch_size, None)}
        with tempfile.TemporaryDirectory(dir=work, prefix="torch-png-") as png_dir:
            seconds["torch_forward_png"] = time_torch(net, emb, args.batch_size, Path(png_dir))
        if args.ort_only:
            seconds["onnxruntime_forward"] = time_onnxruntime(onnx_path, emb, args.batch_size, args.threads)
        if args.stackgan_eval:
            seconds["stackgan_eval_generate"] = time_stackgan_eval(
                args.stackgan_eval, onnx_path, emb_path, work, args.batch_size, args.threads, args.samples)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    rates = {k: args.samples / s for k, s in seconds.items()}
    labels = {"torch_forward": "torch forward", "torch_forward_png": "torch forward + PNGs",
              "onnxruntime_forward": "onnxruntime forward (Python)",
              "stackgan_eval_generate": "stackgan-eval generate"}
    for key, rate in rates.items():
        print(f"{labels[key]:30s} {rate:8.3f} samples/s  ({seconds[key]:.2f} s)")
    ratios = {}
    if "stackgan_eval_generate" in rates:
        ours = rates["stackgan_eval_generate"]
        ratios = {"stackgan_eval_over_torch_forward_png": ours / rates["torch_forward_png"],
                  "stackgan_eval_over_torch_forward": ours / rates["torch_forward"]}
        print(f"stackgan-eval / torch forward + PNGs: {ratios['stackgan_eval_over_torch_forward_png']:.3f}")
        print(f"stackgan-eval / torch forward:        {ratios['stackgan_eval_over_torch_forward']:.3f}")
    if args.json:
        import onnxruntime

        report = {
            "model": {"family": "stackgan-v2", "config": "v2-birds", "gf_dim": CONFIG.gf_dim, "r_num": CONFIG.r_num,
                      "branch_num": CONFIG.branch_num, "z_dim": CONFIG.z_dim,
                      "embedding_dim": CONFIG.embedding_dim, "text_dim": CONFIG.text_dim, "weights": "seeded random"},
            "samples": args.samples, "batch_size": args.batch_size, "threads": args.threads,
            "machine": {"cpu_count": os.cpu_count(), "load_average_before": list(load_before),
                        "load_average_after": list(os.getloadavg()), "platform": platform.platform(),
                        "processor": platform.processor(), "python": platform.python_version(),
                        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                        "onnxruntime": onnxruntime.__version__},
            "seconds": seconds, "samples_per_second": rates, "ratios": ratios,
            "stackgan_eval": args.stackgan_eval,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
