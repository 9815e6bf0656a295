"""Peak resident memory (and wall time) of `stats`, `fid` and `kid` against the
number of images, and of the full 29,280-sample StackGAN-v2 CUB protocol run
through `eval` (three branches; FID, IS, KID).

The image folders hold 64x64 PNGs: `--distinct` different seeded pictures,
hard-linked over and over up to the count (the walker lists every link; the
decoder reads each as its own file), so a 100k folder takes seconds to make
and little disk. The extractor is the 32x32 test stand-in (16-d pool) unless
`--extractor` names another: what is measured is what the tool keeps per
image, not the network.

Peak RSS comes from `/usr/bin/time -f %M` (GNU time, kilobytes). Uses only
the Python standard library. Example:

    python3 benches/peer/memory_scale.py --bin target/release/stackgan-eval \
        --counts 10000 100000 --eval

Measured on 2 shared cores (wall times inflated by other jobs; the eval's
ran at a load average of ~12), tiny extractor:

    command    images  peak RSS MiB   wall s
    stats       10000            43      1.1
    fid         10000            44      2.0
    kid         10000            93      4.4
    stats      100000            44      2.3
    fid        100000            48      9.9
    kid        100000           109     23.3   (+12.8 MB: 16-d vectors kept, 2 sides)
    eval        29280           719    939.4   (cub protocol, 3 branches, fid+is+kid)

Before the compact listing, the spill store and the KID/IS fixes: stats
43 -> 52, fid 45 -> 71, kid 110 -> 300 MiB from 10k to 100k. `eval` of the
demo generator peaks at 662 MiB for 1,000 samples and 667 for 4,000 (the
generator's 256x256 batch and ONNX Runtime's arena): 719 at 29,280 is 8%
more. With the 2048-d Inception, KID/PRDC keep 8 KiB an image per side
(800 MB at 100k): above 128 MiB per array they go to a mapped temporary
file (src/features/store.rs).
"""
from __future__ import annotations

import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def png(width: int, height: int, rng: random.Random) -> bytes:
    """An RGB PNG of seeded noise (stdlib only)."""
    rows = b"".join(
        b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def make_folder(folder: Path, count: int, distinct: int, seed: int) -> None:
    """`count` PNGs in `folder`: `distinct` pictures, hard-linked to fill it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    originals = []
    for i in range(min(distinct, count)):
        path = folder / f"{i:07d}.png"
        path.write_bytes(png(64, 64, rng))
        originals.append(path)
    for i in range(len(originals), count):
        os.link(originals[i % len(originals)], folder / f"{i:07d}.png")


def measured(cmd: list[str]) -> tuple[int, float]:
    """(peak RSS in MiB, wall seconds) of one run; exits on failure."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %e", *cmd], capture_output=True, text=True, cwd=REPO
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    kib, seconds = done.stderr.strip().splitlines()[-1].split()
    return int(kib) // 1024, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="target/release/stackgan-eval")
    parser.add_argument("--extractor", default="tests/fixtures/models/tiny-extractor.onnx")
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--distinct", type=int, default=256)
    parser.add_argument("--metrics", nargs="+", default=["stats", "fid", "kid"])
    parser.add_argument("--eval", action="store_true", help="also the 29,280-sample cub protocol through eval")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    common = ["--extractor", args.extractor, "--quiet"]
    if args.threads:
        common += ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        print(f"{'command':<8} {'images':>8} {'peak RSS MiB':>13} {'wall s':>8}")
        for count in args.counts:
            folder = tmp / f"images-{count}"
            make_folder(folder, count, args.distinct, seed=count)
            runs = {
                "stats": [args.bin, "stats", "--images", str(folder), "--out", str(tmp / "s.npz")],
                "fid": [args.bin, "fid", "--real", str(folder), "--fake", str(folder)],
                "kid": [args.bin, "kid", "--real", str(folder), "--fake", str(folder)],
            }
            for name in args.metrics:
                rss, wall = measured(runs[name] + common)
                print(f"{name:<8} {count:>8} {rss:>13} {wall:>8.1f}", flush=True)
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
        if args.eval:
            eval_protocol(args, tmp, common)


def eval_protocol(args, tmp: Path, common: list[str]) -> None:
    """The paper's protocol: 2,928 test embeddings x 10 captions = 29,280
    samples per branch, three branches, FID + IS + KID against a real folder."""
    real = tmp / "real"
    make_folder(real, 2_933, args.distinct, seed=1)
    cmd = [
        args.bin, "eval",
        "--model", "models/demo/demo-generator.onnx",
        "--embeddings", str(tmp / "embeddings.npy"),
        "--sampling", "stackgan-v2-cub",
        "--real", str(real),
        "--metrics", "fid,is,kid",
        "--json", str(tmp / "eval.json"),
    ]
    embeddings(tmp / "embeddings.npy", 2_933)
    rss, wall = measured(cmd + common)
    print(f"{'eval':<8} {29_280:>8} {rss:>13} {wall:>8.1f}   (cub protocol, 3 branches, fid+is+kid)")


def embeddings(path: Path, images: int, captions: int = 10, dim: int = 1024) -> None:
    """A [images, captions, dim] float32 .npy (one seeded image's captions repeated)."""
    rng = random.Random(0)
    one = struct.pack(f"<{captions * dim}f", *(rng.gauss(0, 1) for _ in range(captions * dim)))
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({images}, {captions}, {dim}), }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with path.open("wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        for _ in range(images):
            f.write(one)


if __name__ == "__main__":
    main()
