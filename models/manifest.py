"""Model manifests: the TOML file written beside every exported `.onnx`.

`model.onnx` -> `model.toml`. The Rust tool reads the manifest to learn the
model's role, its input (name, shape, colour, normalisation, default resize
mode), what each output means and which scoring protocols it serves
(`protocol`: the default; `protocols`: all of them), and checks the ONNX file
against it.
Generators (role "generator") have several inputs instead (`[[inputs]]`:
noise and text embedding), image outputs with a resolution, and a
`[generator]` table with the architecture's hyper-parameters.

Python's `tomllib` only reads TOML, so this module has a tiny writer for the
few value types a manifest holds (strings, ints, floats, bools, flat lists,
one level of tables and arrays of tables).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

FORMAT_VERSION = 1
ROLES = ("extractor", "classifier", "generator")
OUTPUT_KINDS = ("pool", "logits", "logits_unbiased")
GENERATOR_INPUT_KINDS = ("noise_z", "noise_eps", "text_embedding")
GENERATOR_OUTPUT_KINDS = ("image", "mu", "logvar")
# Generator images are tanh outputs.
GENERATOR_VALUE_RANGE = [-1.0, 1.0]
RESIZE_MODES = ("legacy-pytorch", "clean", "legacy-tf", "pil-bilinear")

# The named scoring protocols, as src/models/protocol.rs defines them (keep the
# two in step): resize, input mapping (pixel/255 - mean) / std, the logits the
# Inception Score reads, and the network they run. pytorch-fid maps 2x - 1;
# clean-fid and torch-fidelity (x - 128) / 128, i.e. mean = std = 128/255.
_TF_128 = (128 / 255,) * 3
PROTOCOLS = {
    "pytorch-fid": dict(resize="legacy-pytorch", mean=(0.5,) * 3, std=(0.5,) * 3, is_logits="logits_unbiased",
                        network="fid-inception"),
    "clean-fid": dict(resize="clean", mean=_TF_128, std=_TF_128, is_logits="logits_unbiased",
                      network="fid-inception"),
    "torch-fidelity": dict(resize="legacy-tf", mean=_TF_128, std=_TF_128, is_logits="logits_unbiased",
                           network="fid-inception"),
    "stackgan-is": dict(resize="pil-bilinear", mean=(0.5,) * 3, std=(0.5,) * 3, is_logits="logits",
                        network="classifier"),
}
# Every protocol that runs the TF-2015 FID Inception (they differ only before the network).
FID_PROTOCOLS = [name for name, p in PROTOCOLS.items() if p["network"] == "fid-inception"]
# Names the exporters wrote before the protocols had one spelling.
LEGACY_PROTOCOL_NAMES = {"stackgan-inception-score": "stackgan-is"}


class ManifestError(ValueError):
    """A manifest field has a value the tool would reject."""


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path_for(onnx_path: str | Path) -> Path:
    """`m.onnx` -> `m.toml`."""
    return Path(onnx_path).with_suffix(".toml")


def check_protocol_name(name: str) -> None:
    """A named protocol, or a model's own name (lowercase letters, digits, '-', '_', '.')."""
    if name in PROTOCOLS:
        return
    if not name or not all(c.islower() or c.isdigit() or c in "-_." for c in name) or not name.isascii():
        raise ManifestError(
            f"protocol {name!r} is not a protocol name; use one of {sorted(PROTOCOLS)} or a lowercase name of the model's own"
        )


def protocol_input_spec(name, shape, protocol) -> dict:
    """The `[input]` table of a named protocol (its resize and input mapping)."""
    p = PROTOCOLS[protocol]
    return input_spec(name, shape, p["mean"], p["std"], p["resize"])


def input_spec(name, shape, mean, std, resize, layout="NCHW", color="RGB") -> dict:
    """The `[input]` table: value fed = (pixel/255 - mean[c]) / std[c]."""
    if resize not in RESIZE_MODES:
        raise ManifestError(f"resize {resize!r} is not one of {RESIZE_MODES}")
    if len(mean) != 3 or len(std) != 3:
        raise ManifestError("mean and std need exactly 3 values (R, G, B)")
    if any(s == 0 for s in std):
        raise ManifestError("std values must be non-zero")
    return {
        "name": name,
        "shape": [int(d) for d in shape],
        "layout": layout,
        "color": color,
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "resize": resize,
    }


def output_spec(name, kind, shape) -> dict:
    """One `[[outputs]]` entry."""
    if kind not in OUTPUT_KINDS:
        raise ManifestError(f"output kind {kind!r} is not one of {OUTPUT_KINDS}")
    return {"name": name, "kind": kind, "shape": [int(d) for d in shape]}


def build_manifest(
    onnx_path,
    role,
    name,
    description,
    inputs: dict,
    outputs: list,
    protocol="",
    weights="",
    inception_score: dict | None = None,
    protocols: list | None = None,
) -> dict:
    """Assemble the manifest dict for `onnx_path` (hashes the file).

    `protocol` is the default scoring protocol, `protocols` every one the network
    serves (it must hold the default; only named protocols besides it). A named
    default protocol must agree with `inputs` (its resize and input mapping)."""
    if role not in ROLES:
        raise ManifestError(f"role {role!r} is not one of {ROLES}")
    check_protocols(protocol, protocols, inputs)
    names = [o["name"] for o in outputs]
    if len(set(names)) != len(names):
        raise ManifestError(f"output names repeat: {names}")
    if inception_score is not None and inception_score["logits"] not in names:
        raise ManifestError(
            f"[inception_score] logits = {inception_score['logits']!r} is not an output ({names})"
        )
    manifest = {
        "format": FORMAT_VERSION,
        "role": role,
        "name": name,
        "description": description,
        "onnx_sha256": sha256_of(onnx_path),
        "protocol": protocol,
        **({"protocols": list(protocols)} if protocols is not None else {}),
        "weights": weights,
        "input": inputs,
        "outputs": outputs,
    }
    if inception_score is not None:
        manifest["inception_score"] = {
            "logits": inception_score["logits"],
            "drop_columns": [int(c) for c in inception_score.get("drop_columns", [])],
        }
    return manifest


def check_protocols(protocol, protocols, inputs) -> None:
    """The same checks as the Rust reader (src/models/manifest.rs, `check_protocols`)."""
    if protocol:
        check_protocol_name(protocol)
    if protocols is not None:
        for name in protocols:
            check_protocol_name(name)
        if protocol not in protocols:
            raise ManifestError(f"protocols {list(protocols)} does not list the default protocol {protocol!r}")
        strays = [p for p in protocols if p not in PROTOCOLS and p != protocol]
        if strays:
            raise ManifestError(f"protocols lists {strays}: neither named protocols nor the model's own {protocol!r}")
    spec = PROTOCOLS.get(LEGACY_PROTOCOL_NAMES.get(protocol, protocol))
    if spec is not None:
        close = lambda a, b: all(abs(x - y) <= 1e-6 for x, y in zip(a, b))  # noqa: E731
        if inputs["resize"] != spec["resize"] or not close(inputs["mean"], spec["mean"]) \
                or not close(inputs["std"], spec["std"]):
            raise ManifestError(
                f"protocol {protocol!r} resizes with {spec['resize']} and maps mean {spec['mean']} / std {spec['std']}, "
                f"but [input] says {inputs['resize']}, {inputs['mean']} / {inputs['std']}; give the model's own protocol name"
            )


def generator_input_spec(name, kind, shape) -> dict:
    """One `[[inputs]]` entry of a generator; noise inputs are standard normal draws."""
    if kind not in GENERATOR_INPUT_KINDS:
        raise ManifestError(f"generator input kind {kind!r} is not one of {GENERATOR_INPUT_KINDS}")
    spec = {"name": name, "kind": kind, "shape": [int(d) for d in shape]}
    if kind != "text_embedding":
        spec["distribution"] = "standard_normal"
    return spec


def generator_output_spec(name, kind, shape) -> dict:
    """One `[[outputs]]` entry of a generator; images (NCHW, RGB) also give their `resolution`."""
    if kind not in GENERATOR_OUTPUT_KINDS:
        raise ManifestError(f"generator output kind {kind!r} is not one of {GENERATOR_OUTPUT_KINDS}")
    spec = {"name": name, "kind": kind, "shape": [int(d) for d in shape]}
    if kind == "image":
        if len(shape) != 4 or shape[1] != 3 or shape[2] != shape[3]:
            raise ManifestError(f"image output {name!r} must be [N, 3, R, R], got {list(shape)}")
        spec["resolution"] = int(shape[2])
    return spec


def build_generator_manifest(
    onnx_path, name, description, inputs: list, outputs: list, generator: dict, protocol="", weights="",
) -> dict:
    """Assemble a role = "generator" manifest for `onnx_path` (hashes the file).

    `generator` is the `[generator]` table (family, config and hyper-parameters; ints, strings, bools).
    """
    for title, items in (("input", inputs), ("output", outputs)):
        names = [i["name"] for i in items]
        if len(set(names)) != len(names):
            raise ManifestError(f"{title} names repeat: {names}")
    if not any(o["kind"] == "image" for o in outputs):
        raise ManifestError("a generator needs at least one image output")
    if sum(i["kind"] == "noise_z" for i in inputs) > 1 or sum(i["kind"] == "text_embedding" for i in inputs) > 1:
        raise ManifestError("a generator has at most one noise_z and one text_embedding input")
    return {
        "format": FORMAT_VERSION,
        "role": "generator",
        "name": name,
        "description": description,
        "onnx_sha256": sha256_of(onnx_path),
        "protocol": protocol,
        "weights": weights,
        "value_range": list(GENERATOR_VALUE_RANGE),
        "generator": dict(generator),
        "inputs": inputs,
        "outputs": outputs,
    }


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ManifestError(f"non-finite float {value} cannot go in a manifest")
        return repr(value)
    if isinstance(value, str):
        escaped = (
            value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        )
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ManifestError(f"cannot write {type(value).__name__} to TOML")


def to_toml(manifest: dict) -> str:
    """Serialise a manifest: top-level scalars first, then tables and arrays of tables in order."""
    lines = []
    sections = []
    for key, value in manifest.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            sections.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in sections:
        for header, table in ([(f"[{key}]", value)] if isinstance(value, dict)
                              else [(f"[[{key}]]", item) for item in value]):
            lines += ["", header] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_manifest(onnx_path, manifest: dict) -> Path:
    """Write `manifest` beside `onnx_path`, check it reads back, return its path."""
    import tomllib

    path = manifest_path_for(onnx_path)
    text = to_toml(manifest)
    if tomllib.loads(text) != manifest:
        raise ManifestError("manifest did not round-trip through tomllib (writer bug)")
    path.write_text(text)
    return path
