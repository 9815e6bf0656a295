"""Write the TOML manifest for an ONNX model exported elsewhere (e.g. converted from TF).

    python models/write_manifest.py --onnx inception-cub.onnx --role classifier \
        --name stackgan-cub-inception --protocol stackgan-is --resize pil-bilinear \
        --kind logits=logits --is-logits logits --drop-columns 0

`--protocol` names the default scoring protocol: a named one (pytorch-fid,
clean-fid, torch-fidelity, stackgan-is: `--mean`, `--std` and `--resize` then
default to, and must agree with, that protocol's) or a name of the model's own.
`--protocols` lists every protocol the network serves (default: the one).

Input and output names and shapes come from the ONNX graph (a symbolic or
missing dimension becomes -1). Each graph output needs a kind (`--kind
NAME=pool|logits|logits_unbiased`); outputs without one are left out of the
manifest (the tool ignores them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import manifest as mf  # noqa: E402


def dims(value_info) -> list[int]:
    """Static dimensions as ints, symbolic or unknown ones as -1."""
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else -1 for d in shape.dim]


def graph_inputs(model: onnx.ModelProto):
    """Real inputs (initializers listed as inputs by old exporters are skipped)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def parse_kinds(pairs: list[str]) -> dict[str, str]:
    kinds = {}
    for pair in pairs:
        name, sep, kind = pair.partition("=")
        if not sep or kind not in mf.OUTPUT_KINDS:
            raise mf.ManifestError(f"--kind {pair!r} must be NAME=KIND with KIND in {mf.OUTPUT_KINDS}")
        kinds[name] = kind
    return kinds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True)
    p.add_argument("--role", choices=mf.ROLES, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--protocol", default="", help="default scoring protocol (named, or the model's own name)")
    p.add_argument("--protocols", nargs="+", help="every protocol the network serves (must include --protocol)")
    p.add_argument("--weights", default="", help="source weight file name (informational)")
    p.add_argument("--mean", type=float, nargs=3, help="default: the protocol's, else 0.5 0.5 0.5")
    p.add_argument("--std", type=float, nargs=3, help="default: the protocol's, else 0.5 0.5 0.5")
    p.add_argument("--resize", choices=mf.RESIZE_MODES, help="default: the protocol's, else legacy-pytorch")
    p.add_argument("--color", choices=("RGB", "BGR"), default="RGB")
    p.add_argument("--kind", action="append", default=[], metavar="OUTPUT=KIND",
                   help="what an output means; repeat per output")
    p.add_argument("--is-logits", help="output the Inception Score uses (adds [inception_score])")
    p.add_argument("--drop-columns", type=int, nargs="*", default=[])
    args = p.parse_args(argv)

    model = onnx.load(args.onnx)
    inputs = graph_inputs(model)
    if len(inputs) != 1:
        raise mf.ManifestError(f"{args.onnx} has {len(inputs)} inputs ({[i.name for i in inputs]}); expected one image input")
    image = inputs[0]
    in_shape = dims(image)
    if len(in_shape) != 4 or in_shape[1] != 3:
        raise mf.ManifestError(f"input {image.name!r} has shape {in_shape}; expected NCHW with 3 channels")
    kinds = parse_kinds(args.kind)
    available = {o.name: o for o in model.graph.output}
    unknown = sorted(set(kinds) - set(available))
    if unknown:
        raise mf.ManifestError(f"--kind names outputs the graph lacks: {unknown} (graph has {sorted(available)})")
    outputs = [mf.output_spec(name, kind, dims(available[name])) for name, kind in kinds.items()]
    if not outputs:
        raise mf.ManifestError(f"give each output a kind with --kind (graph outputs: {sorted(available)})")
    spec = mf.PROTOCOLS.get(args.protocol, dict(mean=[0.5] * 3, std=[0.5] * 3, resize="legacy-pytorch"))
    manifest = mf.build_manifest(
        args.onnx, role=args.role, name=args.name, description=args.description,
        protocol=args.protocol, weights=args.weights, protocols=args.protocols,
        inputs=mf.input_spec(image.name, in_shape, args.mean or spec["mean"], args.std or spec["std"],
                             args.resize or spec["resize"], color=args.color),
        outputs=outputs,
        inception_score=(
            {"logits": args.is_logits, "drop_columns": args.drop_columns} if args.is_logits else None
        ),
    )
    path = mf.write_manifest(args.onnx, manifest)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mf.ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
