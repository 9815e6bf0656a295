"""torch.load of the full-size FID Inception stand-in, side by side with `cargo bench --bench checkpoint`.

Run `cargo bench --bench checkpoint` first (it decompresses
tests/fixtures/checkpoints/fid-inception-legacy.pth.gz to
target/bench-data/fid-inception-legacy.pth), then, with torch installed:

    python benches/peer/checkpoint_peer.py [repeats]

This writes the same state dict in torch's zip serialisation to
target/bench-data/fid-inception-zip.pth (the Rust bench reads it when it is
there: run it again) and prints, for each file, the fastest of `repeats`
torch.load calls (map_location='cpu', weights_only=True, the default) and
the peak resident memory of the first load in a fresh process, above that
process's memory after `import torch` (Linux: VmHWM, reset through
/proc/self/clear_refs before the load; the Rust bench measures its first
read the same way). One thread, as the Rust reader uses
(torch.set_num_threads(1)).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch

DATA = Path("target/bench-data")


def status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def one_load(path: Path) -> tuple[float, float, float]:
    """Seconds, peak RSS and RSS before, in MiB, of one torch.load."""
    before = status_mib("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")
    start = time.perf_counter()
    state = torch.load(path, map_location="cpu")
    seconds = time.perf_counter() - start
    peak = status_mib("VmHWM:")
    del state
    return seconds, peak, before


def measure(path: Path, repeats: int) -> None:
    """In this (fresh) process: memory of the first load, then the fastest of `repeats`."""
    torch.set_num_threads(1)
    seconds, peak, before = one_load(path)
    times = [seconds] + [one_load(path)[0] for _ in range(repeats - 1)]
    print(f"torch.load {path.name}: {path.stat().st_size / 1e6:.1f} MB in {min(times):.3f} s "
          f"(fastest of {repeats}); peak RSS {peak:.0f} MiB (before the load {before:.0f} MiB, "
          f"so +{peak - before:.0f} MiB); torch {torch.__version__}", flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        measure(Path(sys.argv[2]), int(sys.argv[3]))
        return
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    legacy = DATA / "fid-inception-legacy.pth"
    if not legacy.is_file():
        sys.exit(f"{legacy} is missing: run `cargo bench --bench checkpoint` first")
    zipped = DATA / "fid-inception-zip.pth"
    if not zipped.is_file():
        torch.save(torch.load(legacy, map_location="cpu"), zipped)
    for path in (legacy, zipped):
        subprocess.run([sys.executable, __file__, "--one", str(path), str(repeats)], check=True)


if __name__ == "__main__":
    main()
