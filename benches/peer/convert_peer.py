"""Side by side: `stackgan-eval models convert` vs the Python exporters, on full-size weights.

    cargo build --release
    python benches/peer/convert_peer.py [repeats] [kind ...]   # torch, torchvision, onnx, onnxruntime, numpy

Kinds (default: all): `fid` — the FID Inception's full-size stand-in
(tests/fixtures/convert/fid.json: the real file's 23.9 M values' layout,
seeded values, 96 MB); `v2-birds`, `v1-stage2` — StackGAN generators at the
released CUB widths (upstream's eval_birds.yml and the v1 birds config,
`models/stackgan_nets.py` defaults), torch's seeded initial values. Each
weight file is written with torch.save's legacy serialisation, as the
released files of 2015–2018 were. Each tool runs as its own process under
`/usr/bin/time` (wall seconds, peak resident memory), as users run it:

* python: `models/export_inception.py --weights X.pth` or
  `models/export_stackgan.py --checkpoint X.pth --config K` (import torch,
  load, export, verify against torch with onnxruntime, manifest);
* native: `stackgan-eval models convert --checkpoint X.pth --kind K`
  (read, check, build, write `.onnx` + `.toml`).

Prints the minimum over `repeats` runs of each and the ratios.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
sys.path.insert(0, str(REPO / "models"))

KINDS = ("fid", "v2-birds", "v1-stage2")


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process under /usr/bin/time."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    wall, kib = done.stderr.strip().splitlines()[-1].split()
    return float(wall), float(kib) / 1024


def save_weights(kind: str, path: Path) -> int:
    """Writes the weights of `kind` to `path` (legacy serialisation); returns their count."""
    import torch

    if kind == "fid":
        from stand_in import stand_in

        spec = json.loads((REPO / "tests" / "fixtures" / "convert" / "fid.json").read_text())
        state = {k: torch.from_numpy(v) for k, v in stand_in(spec["layout"], spec["seed"]).items()}
    else:
        from stackgan_nets import V1Config, V1Stage2, V2Config, V2Generator

        torch.manual_seed(0)
        net = V2Generator(V2Config()) if kind == "v2-birds" else V1Stage2(V1Config())
        state = net.state_dict()
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return sum(t.numel() for t in state.values())


def commands(kind: str, weights: Path, tmp: Path) -> dict[str, list[str]]:
    if kind == "fid":
        python = [sys.executable, str(REPO / "models" / "export_inception.py"), "--weights", str(weights)]
    else:
        python = [sys.executable, str(REPO / "models" / "export_stackgan.py"), "--checkpoint", str(weights),
                  "--config", kind]
    native = [str(REPO / "target" / "release" / "stackgan-eval"), "models", "convert", "--checkpoint", str(weights),
              "--kind", kind]
    return {"python": python + ["--out", str(tmp / "python.onnx")], "native": native + ["--out", str(tmp / "native.onnx")]}


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    kinds = sys.argv[2:] or list(KINDS)
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            weights = tmp / f"{kind}.pth"
            count = save_weights(kind, weights)
            size = weights.stat().st_size / 2**20
            runs = {tool: [timed(cmd) for _ in range(repeats)] for tool, cmd in commands(kind, weights, tmp).items()}
        best = {tool: (min(r[0] for r in rs), min(r[1] for r in rs)) for tool, rs in runs.items()}
        print(f"{kind}: {count / 1e6:.1f} M weights, {size:.0f} MiB file")
        for tool, (wall, peak) in best.items():
            print(f"  {tool}: {wall:.2f} s wall, peak {peak:.0f} MiB (min of {repeats})")
        print(f"  ratio python/native: wall {best['python'][0] / best['native'][0]:.1f}x, "
              f"peak memory {best['python'][1] / best['native'][1]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
