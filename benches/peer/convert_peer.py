"""Side by side: converting the FID Inception's weights natively vs with the Python exporter.

    cargo build --release --example convert_stand_in
    python benches/peer/convert_peer.py [repeats]    # torch, torchvision, onnx, onnxruntime, numpy

The weights are the full-size stand-ins of tests/fixtures/convert/fid.json
(23.9 M values, 96 MB: the real file's layout, seeded values), saved with
`torch.save` for the exporter. Each tool runs as its own process under
`/usr/bin/time` (wall seconds, peak resident memory):

* python: `models/export_inception.py --weights X.pth --out Y.onnx` as users
  run it (import torch, load, export, verify against torch with onnxruntime,
  manifest); its phases are timed apart in one more in-process run;
* native: `convert_stand_in fid.json Y.onnx` (draws the same weights from
  numpy's RandomState in place of reading the file, converts, writes
  `.onnx` + `.toml`); it prints its own phases.

Prints the minimum over `repeats` runs of each and the ratios.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "convert"))
sys.path.insert(0, str(REPO / "models"))

PHASES = """
import sys, time
t = time.perf_counter()
import torch
sys.path.insert(0, {models!r})
import export_inception as ex
marks = [("import torch", time.perf_counter() - t)]
t = time.perf_counter(); state = ex.load_state_dict({weights!r}); marks.append(("torch.load", time.perf_counter() - t))
t = time.perf_counter(); model = ex.build_model(state, "fid", 1008); marks.append(("build", time.perf_counter() - t))
t = time.perf_counter(); ex.export_onnx(model, __import__("pathlib").Path({out!r}), 17); marks.append(("torch.onnx.export", time.perf_counter() - t))
t = time.perf_counter(); ex.verify_onnx(model, __import__("pathlib").Path({out!r})); marks.append(("verify", time.perf_counter() - t))
print("; ".join(f"{{k}} {{v:.2f}} s" for k, v in marks))
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one process under /usr/bin/time."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True, check=True)
    wall, kib = done.stderr.strip().splitlines()[-1].split()
    return float(wall), float(kib) / 1024, done.stdout.strip()


def main() -> int:
    import torch
    from make import stand_in

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    fixture = REPO / "tests" / "fixtures" / "convert" / "fid.json"
    spec = json.loads(fixture.read_text())
    example = REPO / "target" / "release" / "examples" / "convert_stand_in"
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / spec["weights"]
        torch.save({k: torch.from_numpy(v) for k, v in stand_in(spec["layout"], spec["seed"]).items()}, weights)
        python = [sys.executable, str(REPO / "models" / "export_inception.py"), "--weights", str(weights),
                  "--out", str(Path(tmp) / "python.onnx")]
        native = [str(example), str(fixture), str(Path(tmp) / "native.onnx")]
        runs = {"python": [timed(python) for _ in range(repeats)], "native": [timed(native) for _ in range(repeats)]}
        phases = subprocess.run([sys.executable, "-c", PHASES.format(models=str(REPO / "models"), weights=str(weights),
                                                                    out=str(Path(tmp) / "phases.onnx"))],
                                capture_output=True, text=True, check=True).stdout.strip()
    best = {tool: (min(r[0] for r in rs), min(r[1] for r in rs)) for tool, rs in runs.items()}
    for tool, (wall, peak) in best.items():
        print(f"{tool}: {wall:.2f} s wall, peak {peak:.0f} MiB (min of {repeats})")
    print(f"python exporter phases: {phases}")
    print(f"native run: {runs['native'][-1][2]}")
    print(f"ratio python/native: wall {best['python'][0] / best['native'][0]:.1f}x, "
          f"peak memory {best['python'][1] / best['native'][1]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
