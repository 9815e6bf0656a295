"""Export a released StackGAN generator checkpoint to ONNX plus its TOML manifest.

    python models/export_stackgan.py --checkpoint birds_3stages.zip --config v2-birds --out stackgan-v2-birds.onnx
    python models/export_stackgan.py --checkpoint netG_210000.pth --config v2-uncond --out stackgan-v2-dog.onnx
    python models/export_stackgan.py --checkpoint netG_epoch_120.pth --config v1-stage1 --out stackgan-v1-s1.onnx
    python models/export_stackgan.py --checkpoint netG_epoch_90.pth --config v1-stage2 --out stackgan-v1.onnx

Configs: `v2-birds` (StackGAN-v2 conditional, `G_NET` with `ca_net`),
`v2-uncond` (StackGAN-v2 unconditional: LSUN, ImageNet dog/cat), `v1-stage1`
and `v1-stage2` (the StackGAN-v1 PyTorch port; `v1-stage1` also accepts a
Stage-II checkpoint and exports its nested `STAGE1_G`).

Hyper-parameters (GF_DIM, R_NUM, BRANCH_NUM, EMBEDDING_DIM, Z_DIM, TEXT_DIM)
are read from the tensor shapes; flags override them. The conditioning noise
drawn inside upstream's CA_NET becomes explicit inputs (`eps`, or `eps1` and
`eps2` for v1 Stage-II), so the graph is deterministic. After export,
onnxruntime and torch run the same random inputs and the export fails if any
output differs by more than 1e-4.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import manifest as mf  # noqa: E402
from stackgan_nets import V1Config, V1Stage1, V1Stage2, V2Config, V2Generator  # noqa: E402

CONFIGS = ("v2-birds", "v2-uncond", "v1-stage1", "v1-stage2")
MAX_ABS_DIFF = 1e-4


class ExportError(RuntimeError):
    """The checkpoint or the exported graph is not what the exporter expects."""


# ---------------------------------------------------------------- reading checkpoints


def _torch_load(source, label: str):
    """torch.load for legacy (Python 2 era) pickles as well as current files."""
    for encoding in ("utf-8", "latin1"):
        if hasattr(source, "seek"):
            source.seek(0)
        try:
            return torch.load(source, map_location="cpu", weights_only=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
            raise ExportError(f"{label} is not a readable PyTorch checkpoint ({err})") from err
    raise ExportError(f"{label} could not be unpickled as utf-8 or latin1")


def _archived_checkpoint(path: Path, member: str | None):
    """If `path` is a zip holding .pth files (e.g. birds_3stages/netG_210000.pth), the bytes of one of them."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            return None  # a checkpoint in torch's own zip format
        candidates = [n for n in names if n.endswith((".pth", ".pt"))]
        if member is not None:
            if member not in names:
                raise ExportError(f"--member {member} is not in {path} (it holds {', '.join(candidates)})")
            chosen = member
        else:
            generators = [n for n in candidates if Path(n).name.startswith("netG")] or candidates
            if len(generators) != 1:
                raise ExportError(
                    f"{path} holds {len(generators)} checkpoints ({', '.join(generators) or 'none'}); "
                    "pick one with --member")
            chosen = generators[0]
        return chosen, archive.read(chosen)


def load_state_dict(path: str | Path, member: str | None = None) -> dict[str, torch.Tensor]:
    """A plain state dict from a checkpoint (.pth, or a .zip holding one); strips `module.`."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"checkpoint {path} does not exist; see models/README.md for where to get it")
    archived = _archived_checkpoint(path, member)
    if archived is not None:
        name, data = archived
        obj = _torch_load(io.BytesIO(data), f"{path}:{name}")
    else:
        obj = _torch_load(path, str(path))
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "netG", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ExportError(f"{path} does not hold a state dict of tensors (got {type(obj).__name__})")
    return {k.removeprefix("module."): v.float() if v.is_floating_point() else v for k, v in obj.items()}


# ---------------------------------------------------------------- hyper-parameters from shapes


def _shape(state, key, label):
    if key not in state:
        raise ExportError(f"checkpoint has no {key}; is it a {label} generator? (keys: {', '.join(list(state)[:8])}, ...)")
    return tuple(state[key].shape)


def _count_indexed(state, prefix) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    return max(found) + 1 if found else 0


def _pick(overrides: dict, name: str, value: int) -> int:
    return overrides[name] if overrides.get(name) is not None else value


def v2_config(state: dict, conditional: bool, overrides: dict) -> V2Config:
    """V2Config read from tensor shapes (`overrides` holds the command-line flags, None = read)."""
    label = "StackGAN-v2 " + ("conditional" if conditional else "unconditional")
    if conditional != ("ca_net.fc.weight" in state):
        hint = "--config v2-uncond" if conditional else "--config v2-birds"
        raise ExportError(f"checkpoint {'lacks' if conditional else 'has'} ca_net.fc.weight: it is not a {label} "
                          f"generator; try {hint}")
    fc_out, fc_in = _shape(state, "h_net1.fc.0.weight", label)
    gf_dim = fc_out // (16 * 16 * 2)
    if conditional:
        ca_out, text_dim = _shape(state, "ca_net.fc.weight", label)
        embedding_dim = ca_out // 4
    else:
        text_dim, embedding_dim = 0, 0
    branch_num = sum(1 for k in (1, 2, 3) if f"h_net{k}.fc.0.weight" in state or f"h_net{k}.jointConv.0.weight" in state)
    r_num = _count_indexed(state, "h_net2.residual.")
    return V2Config(
        gf_dim=_pick(overrides, "gf_dim", gf_dim),
        z_dim=_pick(overrides, "z_dim", fc_in - embedding_dim),
        embedding_dim=_pick(overrides, "embedding_dim", embedding_dim),
        text_dim=_pick(overrides, "text_dim", text_dim),
        r_num=_pick(overrides, "r_num", r_num),
        branch_num=_pick(overrides, "branch_num", branch_num),
        conditional=conditional,
    )


def _v1_stage1_config(state: dict, overrides: dict, prefix: str = "") -> V1Config:
    """Stage-I config; `--gf-dim` applies to Stage-I only when it is the exported top stage (no prefix)."""
    label = "StackGAN-v1 Stage-I"
    ca_out, text_dim = _shape(state, prefix + "ca_net.fc.weight", label)
    fc_out, fc_in = _shape(state, prefix + "fc.0.weight", label)
    gf_dim = fc_out // (8 * 16)
    return V1Config(gf_dim=gf_dim if prefix else _pick(overrides, "gf_dim", gf_dim),
                    z_dim=_pick(overrides, "z_dim", fc_in - ca_out // 2),
                    condition_dim=_pick(overrides, "embedding_dim", ca_out // 2),
                    text_dim=_pick(overrides, "text_dim", text_dim), r_num=0)


def v1_configs(state: dict, stage: int, overrides: dict) -> tuple[V1Config, V1Config | None]:
    """(Stage-I config, Stage-II config or None) read from tensor shapes."""
    if stage == 1:
        return _v1_stage1_config(stage1_of(state), overrides), None
    if not any(k.startswith("STAGE1_G.") for k in state):
        raise ExportError("checkpoint has no STAGE1_G.* keys: it is not a StackGAN-v1 Stage-II generator; "
                          "try --config v1-stage1")
    stage1 = _v1_stage1_config(state, overrides, prefix="STAGE1_G.")
    ca_out, text_dim = _shape(state, "ca_net.fc.weight", "StackGAN-v1 Stage-II")
    gf_dim = _shape(state, "encoder.0.weight", "StackGAN-v1 Stage-II")[0]
    stage2 = V1Config(gf_dim=_pick(overrides, "gf_dim", gf_dim), z_dim=stage1.z_dim,
                      condition_dim=_pick(overrides, "embedding_dim", ca_out // 2),
                      text_dim=_pick(overrides, "text_dim", text_dim),
                      r_num=_pick(overrides, "r_num", _count_indexed(state, "residual.")))
    return stage1, stage2


def stage1_of(state: dict) -> dict:
    """A Stage-I state dict: as is, or the `STAGE1_G.` part of a Stage-II checkpoint."""
    if any(k.startswith("STAGE1_G.") for k in state):
        return {k.removeprefix("STAGE1_G."): v for k, v in state.items() if k.startswith("STAGE1_G.")}
    return state


# ---------------------------------------------------------------- building and checking


def check_keys(model: torch.nn.Module, state: dict, label: str) -> None:
    """Raise one error listing every missing key, unexpected key and shape mismatch."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    have = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(have))
    unexpected = sorted(set(have) - set(expected))
    mismatched = sorted(f"{k}: file {have[k]} vs model {expected[k]}"
                        for k in set(expected) & set(have) if have[k] != expected[k])
    parts = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if items:
            shown = ", ".join(items[:12]) + (f", ... ({len(items)} in all)" if len(items) > 12 else "")
            parts.append(f"{title}: {shown}")
    if parts:
        raise ExportError(f"checkpoint does not fit {label}; " + "; ".join(parts)
                          + " (check --config and the dimension flags)")


class V2Graph(torch.nn.Module):
    """Flat-signature wrapper of V2Generator for export: (z[, text_embedding, eps]) -> images[, mu, logvar]."""

    def __init__(self, net: V2Generator):
        super().__init__()
        self.net = net

    def forward(self, z, text_embedding=None, eps=None):
        images, mu, logvar = self.net(z, text_embedding, eps)
        return (*images, mu, logvar) if self.net.cfg.conditional else tuple(images)


def build(config: str, state: dict, overrides: dict):
    """(network in eval mode, input specs, output specs, [generator] table) for `config`."""
    if config.startswith("v2-"):
        cfg = v2_config(state, config == "v2-birds", overrides)
        net = V2Generator(cfg)
        label = f"StackGAN-v2 G_NET {cfg}"
        inputs = [("z", "noise_z", [-1, cfg.z_dim])]
        if cfg.conditional:
            inputs += [("text_embedding", "text_embedding", [-1, cfg.text_dim]),
                       ("eps", "noise_eps", [-1, cfg.embedding_dim])]
        outputs = [(f"img{r}", "image", [-1, 3, r, r]) for r in cfg.resolutions()]
        if cfg.conditional:
            outputs += [("mu", "mu", [-1, cfg.embedding_dim]), ("logvar", "logvar", [-1, cfg.embedding_dim])]
        table = {"family": "stackgan-v2", "config": config, "conditional": cfg.conditional, "gf_dim": cfg.gf_dim,
                 "z_dim": cfg.z_dim, "embedding_dim": cfg.embedding_dim, "text_dim": cfg.text_dim,
                 "r_num": cfg.r_num, "branch_num": cfg.branch_num}
        graph = V2Graph(net)
    else:
        stage1_cfg, stage2_cfg = v1_configs(state, 1 if config == "v1-stage1" else 2, overrides)
        if stage2_cfg is None:
            state = stage1_of(state)
            net = graph = V1Stage1(stage1_cfg)
            label = f"StackGAN-v1 STAGE1_G {stage1_cfg}"
            top = stage1_cfg
            outputs = [("img64", "image", [-1, 3, 64, 64])]
            eps_names = ["eps1"]
        else:
            net = graph = V1Stage2(stage2_cfg, stage1_cfg)
            label = f"StackGAN-v1 STAGE2_G {stage2_cfg} with Stage-I {stage1_cfg}"
            top = stage2_cfg
            outputs = [("img64", "image", [-1, 3, 64, 64]), ("img256", "image", [-1, 3, 256, 256])]
            eps_names = ["eps1", "eps2"]
        inputs = [("text_embedding", "text_embedding", [-1, top.text_dim]), ("z", "noise_z", [-1, stage1_cfg.z_dim])]
        inputs += [(n, "noise_eps", [-1, top.condition_dim]) for n in eps_names]
        outputs += [("mu", "mu", [-1, top.condition_dim]), ("logvar", "logvar", [-1, top.condition_dim])]
        table = {"family": "stackgan-v1", "config": config, "conditional": True, "gf_dim": top.gf_dim,
                 "z_dim": stage1_cfg.z_dim, "embedding_dim": top.condition_dim, "text_dim": top.text_dim,
                 "r_num": top.r_num, "branch_num": len(outputs) - 2}
        if stage2_cfg is not None:
            table["stage1_gf_dim"] = stage1_cfg.gf_dim
    check_keys(net, state, label)
    net.load_state_dict({k: v for k, v in state.items() if k in net.state_dict()}, strict=False)
    graph.eval()
    table["resolutions"] = [shape[2] for _, kind, shape in outputs if kind == "image"]
    return graph, inputs, outputs, table


# ---------------------------------------------------------------- export and verification


def random_inputs(inputs, batch: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs: standard normal noise and text embeddings."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((batch, shape[1])).astype(np.float32) for name, _, shape in inputs}


def run_torch(graph, inputs, feed: dict) -> list[np.ndarray]:
    with torch.no_grad():
        out = graph(*[torch.from_numpy(feed[name]) for name, _, _ in inputs])
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def export_onnx(graph, inputs, outputs, out: Path, opset: int) -> None:
    """Write the graph with the manifest's input/output names and a dynamic batch axis."""
    dummy = tuple(torch.zeros(2, shape[1]) for _, _, shape in inputs)
    names_in = [n for n, _, _ in inputs]
    names_out = [n for n, _, _ in outputs]
    with torch.no_grad():
        torch.onnx.export(graph, dummy, str(out), input_names=names_in, output_names=names_out,
                          dynamic_axes={n: {0: "batch"} for n in names_in + names_out},
                          opset_version=opset, dynamo=False)


def verify_onnx(graph, inputs, out: Path) -> float:
    """Largest |torch - onnxruntime| over all outputs on one seeded random batch."""
    import onnxruntime as ort

    feed = random_inputs(inputs)
    expected = run_torch(graph, inputs, feed)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, feed)
    return max(float(np.max(np.abs(e - g))) for e, g in zip(expected, got))


def export(checkpoint, config: str, out, overrides: dict | None = None, opset: int = 17, member=None,
           name: str | None = None) -> tuple[Path, float]:
    """Checkpoint -> `out` (.onnx) and its manifest; returns (manifest path, verified max abs diff)."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise ExportError(f"--out {out} must end in .onnx")
    if config not in CONFIGS:
        raise ExportError(f"--config {config} is not one of {', '.join(CONFIGS)}")
    state = load_state_dict(checkpoint, member)
    graph, inputs, outputs, table = build(config, state, overrides or {})
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(graph, inputs, outputs, out, opset)
    diff = verify_onnx(graph, inputs, out)
    if not diff <= MAX_ABS_DIFF:
        raise ExportError(f"exported graph disagrees with torch (max abs diff {diff:.3e} > {MAX_ABS_DIFF})")
    family = table["family"]
    manifest = mf.build_generator_manifest(
        out, name=name or out.stem,
        description=(f"{family} generator ({config}), outputs {', '.join(n for n, _, _ in outputs)}; "
                     "conditioning noise is an explicit input"),
        protocol=family, weights=Path(checkpoint).name,
        inputs=[mf.generator_input_spec(n, k, s) for n, k, s in inputs],
        outputs=[mf.generator_output_spec(n, k, s) for n, k, s in outputs],
        generator=table,
    )
    return mf.write_manifest(out, manifest), diff


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="netG .pth (legacy pickles are fine) or a .zip holding one")
    p.add_argument("--config", required=True, choices=CONFIGS)
    p.add_argument("--out", required=True, help="output .onnx; the manifest goes beside it as .toml")
    p.add_argument("--member", help="which .pth inside a .zip (default: the only netG*.pth)")
    p.add_argument("--name", help="manifest name (default: the output file's stem)")
    p.add_argument("--opset", type=int, default=17)
    for flag, what in (("gf-dim", "GAN.GF_DIM"), ("r-num", "GAN.R_NUM"), ("branch-num", "TREE.BRANCH_NUM (v2)"),
                       ("embedding-dim", "GAN.EMBEDDING_DIM (v2) / GAN.CONDITION_DIM (v1)"),
                       ("z-dim", "GAN.Z_DIM"), ("text-dim", "TEXT.DIMENSION")):
        p.add_argument(f"--{flag}", type=int, help=f"{what}; default: read from the checkpoint's shapes")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    overrides = {k: getattr(args, k) for k in ("gf_dim", "r_num", "branch_num", "embedding_dim", "z_dim", "text_dim")}
    path, diff = export(args.checkpoint, args.config, args.out, overrides, args.opset, args.member, args.name)
    print(f"torch vs onnxruntime max abs diff: {diff:.3e}")
    print(f"wrote {args.out} and {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ExportError, mf.ManifestError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
