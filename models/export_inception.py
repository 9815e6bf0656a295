"""Export an Inception-v3 checkpoint to ONNX plus its TOML manifest.

    python models/export_inception.py --weights pt_inception-2015-12-05-6726825d.pth --out inception-fid.onnx
    python models/export_inception.py --kind imagenet --weights inception_v3_google-0cc3c7bd.pth --out inception-imagenet.onnx
    python models/export_inception.py --kind classifier --weights cub_inception.pth --out inception-cub.onnx \
        --drop-columns 0

The graph takes a resized N×3×299×299 batch already mapped to the network's
value range (the manifest says how: value = (pixel/255 - mean[c]) / std[c]) and
returns `pool` (N×2048), `logits` (N×C, with the fc bias) and `logits_unbiased`
(N×C, pool @ fc.weight.T). After export, onnxruntime and torch run the same
random batch and the export fails if they disagree.

The manifest names the scoring protocols the network serves: `--kind fid`
serves pytorch-fid, clean-fid and torch-fidelity (default pytorch-fid, or
`--protocol`), `--kind classifier` stackgan-is (or a protocol of the model's
own, `--protocol NAME --resize MODE`), `--kind imagenet` its own (dm-gan or
torchvision). `[input]` describes the default protocol.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import manifest as mf  # noqa: E402
from inception_net import VARIANTS, InceptionV3Features  # noqa: E402

# DM-GAN's eval/FID/inception.py applies torchvision's `transform_input` formula
# (x * std/0.5 + (mean - 0.5)/0.5) to pixels in [0, 1] rather than to ImageNet-
# normalised input. Written as (x - m)/s: s = 0.5/std, m = (0.5 - mean)/std.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DMGAN_MEAN = tuple((0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD))
DMGAN_STD = tuple(0.5 / s for s in IMAGENET_STD)

INPUT_SIZE = 299
# torch vs onnxruntime on the same batch, relative to the output's magnitude
# (float32 summation order differs; real weights give ~1e-5 absolute).
MAX_REL_DIFF = 1e-5


class ExportError(RuntimeError):
    """The checkpoint or the exported graph is not what the exporter expects."""


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A plain state dict from a checkpoint file (unwraps `state_dict`/`model`, strips `module.`)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"weights file {path} does not exist; see models/README.md for where to get it")
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ExportError(f"{path} does not hold a state dict of tensors (got {type(obj).__name__})")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _comparable(keys, ignore_prefixes):
    return {
        k for k in keys
        if not k.endswith("num_batches_tracked") and not any(k.startswith(p) for p in ignore_prefixes)
    }


def check_keys(model: torch.nn.Module, state: dict, ignore_prefixes=()) -> None:
    """Raise one error listing every missing key, unexpected key and shape mismatch."""
    expected = model.state_dict()
    want = _comparable(expected, ())
    have = _comparable(state, ignore_prefixes)
    missing = sorted(want - have)
    unexpected = sorted(have - want)
    mismatched = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in want & have
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or mismatched:
        parts = []
        for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
            if items:
                shown = ", ".join(items[:20]) + (f", ... ({len(items)} in all)" if len(items) > 20 else "")
                parts.append(f"{title}: {shown}")
        raise ExportError("weights do not fit the Inception-v3 layout; " + "; ".join(parts))


def build_model(state: dict, variant: str, num_classes: int) -> InceptionV3Features:
    """The network with `state` loaded, in eval mode."""
    model = InceptionV3Features(num_classes, variant)
    check_keys(model, state, ignore_prefixes=("AuxLogits.",))
    kept = {k: v for k, v in state.items() if k in model.state_dict()}
    model.load_state_dict(kept, strict=False)
    return model.eval()


def export_onnx(model: torch.nn.Module, out: Path, opset: int) -> None:
    """Write the graph with input `images` and a dynamic batch axis."""
    dummy = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.no_grad():
        torch.onnx.export(
            model, (dummy,), str(out),
            input_names=["images"],
            output_names=["pool", "logits", "logits_unbiased"],
            dynamic_axes={n: {0: "batch"} for n in ("images", "pool", "logits", "logits_unbiased")},
            opset_version=opset,
            dynamo=False,
        )


def verify_onnx(model: torch.nn.Module, out: Path, batch: int = 3, seed: int = 0) -> tuple[float, float]:
    """(largest |torch - onnxruntime|, largest |torch|) over all outputs on one random batch in [-1, 1]."""
    import onnxruntime as ort

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, INPUT_SIZE, INPUT_SIZE, generator=gen) * 2 - 1
    with torch.no_grad():
        expected = [t.numpy() for t in model(x)]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": x.numpy()})
    diff = max(float(np.max(np.abs(e - g))) for e, g in zip(expected, got))
    scale = max(float(np.max(np.abs(e))) for e in expected)
    return diff, scale


def named_protocol(protocol: str, resize: str | None) -> dict:
    """Input mapping, resize and IS logits of a named protocol; `--resize` may not contradict it."""
    spec = mf.PROTOCOLS[protocol]
    if resize is not None and resize != spec["resize"]:
        raise ExportError(
            f"--resize {resize} contradicts protocol {protocol} (which resizes with {spec['resize']}); "
            "drop --resize, or give the model's own protocol with --protocol NAME"
        )
    return dict(protocol=protocol, mean=spec["mean"], std=spec["std"], resize=spec["resize"],
                is_logits=spec["is_logits"])


def kind_settings(args, num_classes: int) -> dict:
    """Variant, manifest fields, protocols and input normalisation for each `--kind`."""
    if args.kind == "fid":
        protocol = args.protocol or "pytorch-fid"
        if protocol not in mf.FID_PROTOCOLS:
            raise ExportError(f"--kind fid serves {mf.FID_PROTOCOLS}; --protocol {protocol} is not one of them")
        return dict(
            variant="fid", role="extractor", name="pytorch-fid-inception-v3",
            description="TF-2015 Inception-v3 ported by pytorch-fid (FID blocks), pool3 + 1008 logits",
            protocols=list(mf.FID_PROTOCOLS), **named_protocol(protocol, args.resize),
        )
    if args.kind == "imagenet":
        if args.input_map == "dm-gan":
            mean, std = DMGAN_MEAN, DMGAN_STD
            note = "pixels/255 mapped by transform_input's formula as in DM-GAN's eval/FID"
        else:
            mean, std = (0.5,) * 3, (0.5,) * 3
            note = "pixels mapped to [-1, 1] (what transform_input=True makes of ImageNet-normalised input)"
        protocol = args.protocol or ("dm-gan" if args.input_map == "dm-gan" else "torchvision")
        if protocol in mf.PROTOCOLS:
            raise ExportError(f"--kind imagenet runs its own protocol, not {protocol}; give it a name of its own")
        return dict(
            variant="torchvision", role="extractor", name="torchvision-inception-v3-imagenet",
            description=f"torchvision ImageNet Inception-v3 ({num_classes} classes), pool3; {note}",
            protocol=protocol, protocols=[protocol],
            mean=mean, std=std, resize=args.resize or "pil-bilinear", is_logits="logits",
        )
    common = dict(
        variant=args.variant, role="classifier", name=args.name or f"inception-v3-classifier-{num_classes}",
        description=f"fine-tuned Inception-v3 classifier, {num_classes} classes ({args.variant} blocks)",
    )
    protocol = args.protocol or "stackgan-is"
    if protocol in mf.FID_PROTOCOLS:
        raise ExportError(f"a fine-tuned classifier does not serve {protocol} (the TF-2015 FID Inception does)")
    if protocol == "stackgan-is":
        return dict(common, protocols=[protocol], **named_protocol(protocol, args.resize))
    mf.check_protocol_name(protocol)
    return dict(common, protocol=protocol, protocols=[protocol], mean=(0.5,) * 3, std=(0.5,) * 3,
                resize=args.resize or "pil-bilinear", is_logits="logits")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint (.pth) with torchvision inception_v3 keys")
    p.add_argument("--out", required=True, help="output .onnx; the manifest goes beside it as .toml")
    p.add_argument("--kind", choices=("fid", "imagenet", "classifier"), default="fid")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--input-map", choices=("dm-gan", "tf"), default="dm-gan",
                   help="--kind imagenet: value mapping of the input (default: DM-GAN's protocol)")
    p.add_argument("--variant", choices=VARIANTS, default="torchvision",
                   help="--kind classifier: pooling semantics of the blocks")
    p.add_argument("--drop-columns", type=int, nargs="*", default=[],
                   help="logit columns the Inception Score drops (e.g. 0 for StackGAN's background class)")
    p.add_argument("--protocol", help="default scoring protocol: --kind fid: pytorch-fid (default), clean-fid or "
                   "torch-fidelity; --kind classifier: stackgan-is (default) or a name of the model's own")
    p.add_argument("--resize", choices=mf.RESIZE_MODES,
                   help="resize of a protocol of the model's own (--kind imagenet, or classifier with --protocol NAME)")
    p.add_argument("--is-logits", choices=("logits", "logits_unbiased"), help="override the IS logits output")
    p.add_argument("--name", help="override the manifest name")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if out.suffix != ".onnx":
        raise ExportError(f"--out {out} must end in .onnx")
    state = load_state_dict(args.weights)
    if "fc.weight" not in state:
        raise ExportError(f"{args.weights} has no fc.weight; is it an Inception-v3 state dict?")
    num_classes = int(state["fc.weight"].shape[0])
    expected_classes = {"fid": 1008, "imagenet": 1000}.get(args.kind)
    if expected_classes is not None and num_classes != expected_classes:
        raise ExportError(
            f"--kind {args.kind} expects {expected_classes} classes but fc.weight has {num_classes}; "
            "use --kind classifier for fine-tuned models"
        )
    settings = kind_settings(args, num_classes)
    if settings["protocol"] in mf.PROTOCOLS and args.is_logits not in (None, settings["is_logits"]):
        raise ExportError(f"protocol {settings['protocol']} reads {settings['is_logits']} for IS; drop --is-logits")
    model = build_model(state, settings["variant"], num_classes)

    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out, args.opset)
    diff, scale = verify_onnx(model, out)
    print(f"torch vs onnxruntime max abs diff: {diff:.3e} (largest output magnitude {scale:.3e})")
    if not diff <= MAX_REL_DIFF * max(1.0, scale):
        raise ExportError(
            f"exported graph disagrees with torch (max abs diff {diff:.3e} > {MAX_REL_DIFF} x {max(1.0, scale):.3e})"
        )

    manifest = mf.build_manifest(
        out, role=settings["role"], name=args.name or settings["name"],
        description=settings["description"], protocol=settings["protocol"], protocols=settings["protocols"],
        weights=Path(args.weights).name,
        inputs=mf.input_spec("images", [-1, 3, INPUT_SIZE, INPUT_SIZE], settings["mean"], settings["std"],
                             settings["resize"]),
        outputs=[
            mf.output_spec("pool", "pool", [-1, 2048]),
            mf.output_spec("logits", "logits", [-1, num_classes]),
            mf.output_spec("logits_unbiased", "logits_unbiased", [-1, num_classes]),
        ],
        inception_score={"logits": args.is_logits or settings["is_logits"], "drop_columns": args.drop_columns},
    )
    path = mf.write_manifest(out, manifest)
    print(f"wrote {out} and {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ExportError, mf.ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
