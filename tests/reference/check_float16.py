"""Independent references for the float16 conversion (tests/suite/convert_float16.rs).

Run from the repository root with numpy, onnx 1.17, onnxruntime 1.31.1 and
onnxconverter-common (pip, in a virtualenv of your own: it is the reference,
never a dependency of the project):

    python tests/reference/check_float16.py

It builds the stand-in FID Inception with the Rust example `convert_stand_in`
(as tests/fixtures/convert/make.py does; its SHA-256 must be fid.json's
`native_sha256`, so it is the very model the Rust test builds) and writes
tests/fixtures/fp16/:

- edge.onnx: y = x * edge, `edge` a float32 initializer of rounding edge
  cases (ties to even, subnormals, the largest float16, values beyond it,
  infinities, NaN, -0).
- reference.json, per model (the demo extractor and both demo generators,
  the tiny extractor, the FID Inception, edge.onnx), for every float32
  initializer: the SHA-256 of `np.clip(w, -65504, 65504).astype(np.float16)`
  (finite values beyond float16's range clipped, as the converter documents;
  NaN and infinities pass), little-endian; for edge.onnx also each expected
  float16 bit pattern. And the inputs' rule and batch of each model.
- onnxconverter.npz: `<model>/<output>`, the outputs of onnxconverter-common's
  `convert_float_to_float16` (keep_io_types=False, min_positive_val=2**-24,
  max_finite_val=65504: numpy's float16 range, so its weights are numpy's too)
  run by ONNX Runtime's CPU provider on one thread. Its conversion makes the
  inputs and outputs float16 as well, so it is fed the inputs rounded to
  float16 (what the converter's first Cast does) and its float16 outputs are
  saved as float32 (exactly). It keeps Resize in float32 by design (its default block
  list); the nearest-neighbour Resize of the demo generators is exact either way.

Inputs: one numpy RandomState(seed) per model; for each graph input in order,
`random_sample((batch, *dims)) * 2 - 1` as float32 (the Rust test draws the
same with stackgan_eval::rng::NumpyRandomState).
"""
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxconverter_common import float16

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "fp16"

# name → (path, or None for the Inception built below; seed; batch)
MODELS = {
    "demo-extractor": ("models/demo/demo-extractor.onnx", 1, 2),
    "demo-generator": ("models/demo/demo-generator.onnx", 2, 1),
    "demo-generator-v1": ("models/demo/demo-generator-v1.onnx", 3, 1),
    "tiny-extractor": ("tests/fixtures/models/tiny-extractor.onnx", 4, 2),
    "fid-inception": (None, 7, 2),
}

EDGE = np.array(
    [
        1 + 2**-11,  # tie between 1 and 1 + 2^-10: to even (1)
        1 + 3 * 2**-11,  # tie: to even (1 + 2^-9)
        2**-24,  # smallest subnormal
        2**-25,  # half of it: tie to even (0)
        1.5 * 2**-25,  # above half: the smallest subnormal
        2**-26,
        6.097555160522461e-05,  # largest subnormal
        6.103515625e-05,  # smallest normal
        65504,  # largest float16
        65519.99,  # rounds down to 65504
        65520,  # would round to infinity: clipped
        1e9,
        -1e9,
        np.inf,
        -np.inf,
        np.nan,
        -0.0,
        0.1,
        1 / 3,
        -2.5e-8,
        3.14159265,
    ],
    dtype=np.float32,
)


def to_half(w: np.ndarray) -> np.ndarray:
    """The converter's rule, in numpy: clip finite values to ±65504, then astype."""
    finite = np.isfinite(w)
    clipped = np.where(finite, np.clip(w, -65504, 65504), w)
    return clipped.astype(np.float16)


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(a.astype("<f2").tobytes()).hexdigest()


def edge_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "edge"], ["y"], name="scale")],
        "edge",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", len(EDGE)])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", len(EDGE)])],
        [numpy_helper.from_array(EDGE, "edge")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_inception(work: Path) -> Path:
    fixture = REPO / "tests" / "fixtures" / "convert" / "fid.json"
    out = work / "fid.onnx"
    subprocess.run(["cargo", "build", "--release", "--example", "convert_stand_in"], cwd=REPO, check=True)
    example = REPO / "target" / "release" / "examples" / "convert_stand_in"
    subprocess.run([str(example), str(fixture), str(out)], cwd=REPO, check=True)
    want = json.loads(fixture.read_text())["native_sha256"]
    got = hashlib.sha256(out.read_bytes()).hexdigest()
    if got != want:
        sys.exit(f"the native Inception is not fid.json's ({got} != {want}); rerun tests/fixtures/convert/make.py first")
    return out


def inputs(model: onnx.ModelProto, seed: int, batch: int) -> dict:
    rng = np.random.RandomState(seed)
    feeds = {}
    for value in model.graph.input:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim[1:]]
        feeds[value.name] = (rng.random_sample((batch, *dims)) * 2 - 1).astype(np.float32)
    return feeds


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    edge = edge_model()
    onnx.save(edge, OUT / "edge.onnx")
    reference = {
        "edge": {
            "initializers": {"edge": sha256(to_half(EDGE))},
            "edge_bits": [int(b) for b in to_half(EDGE).view(np.uint16)],
        }
    }
    outputs = {}
    with tempfile.TemporaryDirectory() as work:
        for name, (path, seed, batch) in MODELS.items():
            path = build_inception(Path(work)) if path is None else REPO / path
            model = onnx.load(path)
            hashes = {
                t.name: sha256(to_half(numpy_helper.to_array(t)))
                for t in model.graph.initializer
                if t.data_type == onnx.TensorProto.FLOAT
            }
            converted = float16.convert_float_to_float16(
                model, keep_io_types=False, min_positive_val=2**-24, max_finite_val=65504
            )
            feeds = inputs(model, seed, batch)
            half_feeds = {k: v.astype(np.float16) for k, v in feeds.items()}
            got = session(converted).run(None, half_feeds)
            want = session(model).run(None, feeds)
            drift = {}
            for value, g, w in zip(model.graph.output, got, want):
                outputs[f"{name}/{value.name}"] = g.astype(np.float32)
                scale = float(np.abs(w).max())
                drift[value.name] = float(np.abs(g.astype(np.float32) - w).max()) / scale
            reference[name] = {"seed": seed, "batch": batch, "initializers": hashes, "onnxconverter_drift": drift}
            print(name, {k: f"{v:.2e}" for k, v in drift.items()})
    (OUT / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    np.savez_compressed(OUT / "onnxconverter.npz", **outputs)
    print("wrote", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
