"""GPU throughput, end to end, on one prepared run (issue 10): is the GPU kept busy?

On a machine with an NVIDIA GPU, onnxruntime-gpu in .venv (CUDA provider),
and torch + pytorch-fid 0.3.0 + onnxruntime-gpu in the interpreter running this
script, it prints images/s of

  fid     stackgan-eval `fid --device cuda:0` (full float32, default batch
          for the GPU) over two folders of 256x256 PNGs, --images in all
          (25k + 25k by default): listing, decode, resize to 299, network,
          statistics, the distance; wall time of the whole command;
  torch   pytorch-fid 0.3.0 on the same folders and weights
          (`python -m pytorch_fid A B --device cuda:0`, its default workers
          and batch 50; note that PyTorch leaves TF32 on for cuDNN
          convolutions, so it computes in TF32 on Ampere and newer);
  net     ONNX Runtime's network-only rate on that GPU: the same ONNX file,
          the same provider options as the tool (no TF32, heuristic cuDNN
          search), input already on the device (I/O binding), same batch;

and the ratios fid/net (goal >= 0.9) and fid/torch (goal >= 2); then `fid`
again under each `--precision` of --precisions (images/s, the FID's relative
change from float32's and the drift warning the run printed in its JSON), and,
with --devices (e.g. 0,1 on a node of two GPUs), `fid --devices` (images/s
and whether the FID equals the one-GPU run's bit for bit). Then the same
for `eval`: a full-width StackGAN-v2 birds generator (GF_DIM 64; seeded random
weights, benches/peer/generate_peer.py) saved as a released checkpoint and
converted natively (`models convert --kind v2-birds`), --eval-samples samples
x 3 branches through `eval --metrics fid,is,kid` against the first folder,
against the generator + extractor network-only rate.

The weights are pytorch-fid's Inception in its own format with seeded random
values (speed does not depend on them), converted natively with
`models convert --kind fid`. Example (about 10 minutes on one H200):

    python benches/peer/gpu_throughput.py --bin target/release/stackgan-eval --json gpu.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reference"))
sys.path.insert(0, str(REPO / "benches" / "peer"))
from check_pytorch_fid import WEIGHTS_NAME, make_fake_fid_weights  # noqa: E402


def write_pngs(args: tuple[Path, int, int, int]) -> None:
    """PNGs `start`..`stop` of a folder: smooth seeded 256x256 pictures (as a generator's)."""
    folder, start, stop, seed = args
    for i in range(start, stop):
        rng = np.random.default_rng([seed, i])
        coarse = rng.integers(0, 256, (11, 11, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((256, 256), Image.BICUBIC)
        noisy = np.clip(np.asarray(img, dtype=np.int16) + rng.integers(-8, 9, (256, 256, 3)), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(folder / f"{i:06d}.png")


def make_folder(folder: Path, n: int, seed: int) -> None:
    if folder.exists() and len(list(folder.iterdir())) == n:
        return
    folder.mkdir(parents=True, exist_ok=True)
    step = 500
    with ProcessPoolExecutor() as pool:
        list(pool.map(write_pngs, [(folder, s, min(s + step, n), seed) for s in range(0, n, step)]))


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{done.stderr[-3000:]}")
    return elapsed


def cuda_session(onnx_path: Path, device: int):
    import onnxruntime as ort

    providers = [("CUDAExecutionProvider", {"device_id": device, "use_tf32": 0, "cudnn_conv_algo_search": "HEURISTIC"})]
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    if "CUDAExecutionProvider" not in session.get_providers():
        sys.exit("onnxruntime in this interpreter has no working CUDA provider: pip install onnxruntime-gpu")
    return session


def network_only(onnx_path: Path, feeds: dict, outputs: list[str], batches: int, device: int) -> float:
    """Batches/s of one session on inputs already on the GPU (I/O binding), outputs left on the GPU."""
    import onnxruntime as ort

    session = cuda_session(onnx_path, device)
    binding = session.io_binding()
    for name, array in feeds.items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, "cuda", device))
    for name in outputs:
        binding.bind_output(name, "cuda", device)
    session.run_with_iobinding(binding)  # warm-up
    binding.synchronize_outputs()
    start = time.perf_counter()
    for _ in range(batches):
        session.run_with_iobinding(binding)
    binding.synchronize_outputs()
    return batches / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / "target" / "release" / "stackgan-eval"))
    parser.add_argument("--images", type=int, default=50_000, help="PNGs in all, half per folder")
    parser.add_argument("--eval-samples", type=int, default=29_280)
    parser.add_argument("--batch-size", type=int, default=200, help="the tool's default on a GPU")
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--skip-pytorch-fid", action="store_true")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--precisions", default="tf32,fp16",
                        help="reduced precisions to time against fp32 ('' for none)")
    parser.add_argument("--devices", help="GPUs to spread one fid run over, e.g. 0,1 (default: not measured)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="gpu-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    cuda = f"cuda:{args.device}"
    results: dict = {"images": args.images, "batch_size": args.batch_size, "device": cuda}

    torch_home = work / "torch-home"
    weights = torch_home / "hub" / "checkpoints" / WEIGHTS_NAME
    if not weights.exists():
        make_fake_fid_weights(weights)
    inception = work / "inception-fid.onnx"
    if not inception.exists():
        timed([args.bin, "models", "convert", "--checkpoint", str(weights), "--kind", "fid", "--out", str(inception),
               "--quiet"])
    half = args.images // 2
    a, b = work / "a", work / "b"
    started = time.perf_counter()
    make_folder(a, half, 1)
    make_folder(b, args.images - half, 2)
    print(f"{args.images} PNGs of 256x256 in {work} ({time.perf_counter() - started:.0f} s to make)", flush=True)

    ours = timed([args.bin, "fid", "--real", str(a), "--fake", str(b), "--extractor", str(inception),
                  "--device", cuda, "--batch-size", str(args.batch_size), "--json", str(work / "fid.json"), "--quiet"])
    results["fid_images_per_s"] = args.images / ours
    x = np.random.default_rng(0).uniform(-1, 1, (args.batch_size, 3, 299, 299)).astype(np.float32)
    net = network_only(inception, {"images": x}, ["pool"], max(20, args.images // args.batch_size // 4), args.device)
    results["network_only_images_per_s"] = net * args.batch_size
    if not args.skip_pytorch_fid:
        env = dict(os.environ, TORCH_HOME=str(torch_home))
        theirs = timed([sys.executable, "-m", "pytorch_fid", str(a), str(b), "--device", cuda], env)
        results["pytorch_fid_images_per_s"] = args.images / theirs
    report(results, "fid")
    fid_run = [args.bin, "fid", "--real", str(a), "--fake", str(b), "--extractor", str(inception), "--quiet"]
    reduced_precision(args, work, fid_run, results)
    if args.devices:
        spread = work / "fid-devices.json"
        wall = timed(fid_run + ["--devices", args.devices, "--json", str(spread)])
        same = json.loads(spread.read_text())["fid"] == json.loads((work / "fid.json").read_text())["fid"]
        results["devices"] = {"devices": args.devices, "images_per_s": args.images / wall, "fid_equal_to_one_gpu": same}
        print(f"--devices {args.devices}: {args.images / wall:9.1f} images/s "
              f"({args.images / wall / results['fid_images_per_s']:.2f}x one GPU); FID equal bit for bit: {same}")

    if not args.skip_eval:
        evaluate(args, work, a, inception, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def reduced_precision(args, work: Path, fid_run: list[str], results: dict) -> None:
    """`fid` under each --precision of --precisions, against the float32 run."""
    full = json.loads((work / "fid.json").read_text())["fid"]
    for precision in filter(None, args.precisions.split(",")):
        out = work / f"fid-{precision}.json"
        wall = timed(fid_run + ["--device", f"cuda:{args.device}", "--batch-size", str(args.batch_size),
                                "--precision", precision, "--json", str(out)])
        report_json = json.loads(out.read_text())
        entry = {"images_per_s": args.images / wall, "fid": report_json["fid"],
                 "fid_relative_change": abs(report_json["fid"] - full) / abs(full),
                 "warnings": report_json.get("warnings", [])}
        results[f"precision_{precision}"] = entry
        print(f"--precision {precision:4}  {entry['images_per_s']:9.1f} images/s "
              f"({entry['images_per_s'] / results['fid_images_per_s']:.2f}x fp32); "
              f"FID {entry['fid']:.4f} vs {full:.4f} (relative {entry['fid_relative_change']:.1e})", flush=True)


def evaluate(args, work: Path, real: Path, inception: Path, results: dict) -> None:
    """`eval` of a full-width StackGAN-v2 birds generator, 3 branches, FID + IS + KID."""
    import torch
    from generate_peer import CONFIG, seeded_generator

    checkpoint = work / "netG_210000.pth"
    if not checkpoint.exists():
        state = {"module." + k: v for k, v in seeded_generator().state_dict().items()}
        torch.save(state, checkpoint, _use_new_zipfile_serialization=False)
    generator = work / "G.onnx"
    if not generator.exists():
        timed([args.bin, "models", "convert", "--checkpoint", str(checkpoint), "--kind", "v2-birds", "--out",
               str(generator), "--quiet"])
    embeddings = work / "emb.npy"
    samples = args.eval_samples
    np.save(embeddings, np.random.default_rng(0).standard_normal((samples, 1, CONFIG.text_dim)).astype(np.float32))
    cuda = f"cuda:{args.device}"
    wall = timed([args.bin, "eval", "--model", str(generator), "--embeddings", str(embeddings), "--real", str(real),
                  "--extractor", str(inception), "--metrics", "fid,is,kid", "--device", cuda,
                  "--batch-size", str(args.batch_size), "--json", str(work / "eval.json"), "--quiet"])
    results["eval_samples"] = samples
    results["eval_samples_per_s"] = samples / wall
    # Network-only for one sample: the generator once, the extractor on each of the 3 branches.
    batch = args.batch_size
    rng = np.random.default_rng(0)
    feeds = {"z": rng.standard_normal((batch, CONFIG.z_dim)).astype(np.float32),
             "text_embedding": rng.standard_normal((batch, CONFIG.text_dim)).astype(np.float32),
             "eps": rng.standard_normal((batch, CONFIG.embedding_dim)).astype(np.float32)}
    g = network_only(generator, feeds, ["img64", "img128", "img256"], 20, args.device)
    x = rng.uniform(-1, 1, (batch, 3, 299, 299)).astype(np.float32)
    e = network_only(inception, {"images": x}, ["pool", "logits_unbiased"], 20, args.device)
    results["eval_network_only_samples_per_s"] = batch / (1 / g + 3 / e)
    report(results, "eval")


def report(results: dict, what: str) -> None:
    if what == "fid":
        ours, net = results["fid_images_per_s"], results["network_only_images_per_s"]
        print(f"stackgan-eval fid (fp32)       {ours:9.1f} images/s")
        print(f"onnxruntime network only       {net:9.1f} images/s")
        print(f"stackgan-eval / network only   {ours / net:9.3f}   (goal >= 0.9)")
        if "pytorch_fid_images_per_s" in results:
            theirs = results["pytorch_fid_images_per_s"]
            print(f"pytorch-fid 0.3.0              {theirs:9.1f} images/s")
            print(f"stackgan-eval / pytorch-fid    {ours / theirs:9.2f}x  (goal >= 2)")
    else:
        ours, net = results["eval_samples_per_s"], results["eval_network_only_samples_per_s"]
        print(f"stackgan-eval eval (3 branches) {ours:8.1f} samples/s")
        print(f"generator + 3x extractor only   {net:8.1f} samples/s")
        print(f"eval / network only             {ours / net:8.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
