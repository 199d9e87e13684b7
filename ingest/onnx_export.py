"""ONNX exports of a sentence-transformers model folder, made locally and cached by content hash.

The fast embedder (`ingest.embedder`, runtime "openvino", "onnx" or "onnx-int8") runs the model's
transformer through OpenVINO or onnxruntime.  Its export is made here from the local model folder, never downloaded:

  fp32  -- torch.onnx export of the transformer (eager attention, so onnxruntime's BERT optimizer
           can fuse attention, LayerNorm and GELU), then fused: the same maths as torch, faster;
  int8  -- the fused fp32 graph with its MatMul weights dynamically quantised to uint8 per
           channel (u8u8: on AVX2 machines without VNNI the u8s8 kernels saturate and lose
           accuracy; see onnxruntime's quantization docs).

An export folder holds `export.json` (the model folder's content hash and the files made) beside
the .onnx files.  It is looked for first in `<model folder>/onnx/` (a pre-made export the
installed app ships, since the bundle has no torch to make one), then in the cache
(`<models dir>/embedders/<hash>/`), and made into the cache when neither matches.  A changed model
folder has another hash, so a stale export is never used.

Making an export needs torch, transformers and onnx (present in a pip install); using one needs
only onnxruntime and tokenizers.  The packaging build makes the bundle's export ahead of time:

    python -m ingest.onnx_export [--model DIR] [--out DIR]     # default out: <model>/onnx
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_DIRNAME = "onnx"  # a pre-made export inside the model folder
MANIFEST = "export.json"
FORMAT_VERSION = 1  # bump when the export recipe changes, so old caches are remade
VARIANTS = {"fp32": "model_fp32.onnx", "int8": "model_int8.onnx"}


class ExportUnavailable(RuntimeError):
    """No matching export exists and this installation cannot make one."""


# The files an export depends on: weights, configs, tokenizer.  A model card or .gitattributes
# left out of a packaged copy must not make a pre-made export look stale.
_HASHED_SUFFIXES = (".json", ".txt", ".safetensors", ".bin", ".model")


def model_hash(model_dir: Path) -> str:
    """SHA-256 over the model folder's weights, configs and tokenizer files (names and contents)."""
    h = hashlib.sha256(f"localkb-onnx-v{FORMAT_VERSION}".encode())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = f.relative_to(model_dir)
        if rel.parts[0] == EXPORT_DIRNAME or any(part.startswith(".") for part in rel.parts) \
                or f.suffix not in _HASHED_SUFFIXES:
            continue
        h.update(str(rel.as_posix()).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def default_cache_dir() -> Path:
    """Where exports made on this computer live: beside the built-in chat models."""
    override = os.environ.get("LOCALKB_MODELS_DIR")
    if override:
        return Path(override).expanduser() / "embedders"
    from app import paths  # the one place that knows LOCALKB_HOME and the platform's data folder

    return paths.models_dir() / "embedders"


def can_export() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "onnx"))


def _matching(folder: Path, digest: str, variant: str) -> Path | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = manifest.get("files", {}).get(variant)
    if manifest.get("model_hash") != digest or not name or not (folder / name).is_file():
        return None
    return folder / name


def find_export(model_dir: Path, variant: str, cache_dir: Path | None = None, digest: str | None = None) -> Path | None:
    """An existing export of this exact model folder, pre-made or cached; None if there is none."""
    digest = digest or model_hash(model_dir)
    for folder in (model_dir / EXPORT_DIRNAME, (cache_dir or default_cache_dir()) / digest):
        found = _matching(folder, digest, variant)
        if found is not None:
            return found
    return None


def ensure_onnx(model_dir: Path, cache_dir: Path | None = None, quantize: bool = True) -> Path:
    """The .onnx file for `model_dir` (int8 when `quantize`), made into the cache if missing.

    Raises ExportUnavailable when none exists and torch/transformers/onnx are not installed."""
    variant = "int8" if quantize else "fp32"
    digest = model_hash(model_dir)
    found = find_export(model_dir, variant, cache_dir, digest)
    if found is not None:
        return found
    if not can_export():
        raise ExportUnavailable(f"no ONNX export of {model_dir} and torch/onnx are not installed to make one")
    target = (cache_dir or default_cache_dir()) / digest
    log.info("making the ONNX export of %s in %s (once per model)", model_dir, target)
    _export_in_child(model_dir, target, digest)
    found = _matching(target, digest, variant)
    assert found is not None, "export() wrote a manifest naming every variant"
    return found


def _export_in_child(model_dir: Path, out_dir: Path, digest: str) -> None:
    """export() in a fresh process that exits afterwards.

    The export needs torch and transformers, about 500 MB resident once imported; in the calling
    process (the app's engine, a benchmark) they would stay loaded for its whole life although
    only onnxruntime is used from then on.  An error in the child is raised here as it was there.
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(export, (model_dir, out_dir, digest))


def export(model_dir: Path, out_dir: Path, digest: str | None = None) -> Path:
    """Write the fp32 and int8 exports of `model_dir` and their manifest into `out_dir`.

    Built in a temporary folder beside `out_dir` and moved in at the end, so a crash or a second
    process exporting at the same time never leaves a half-written export that looks complete."""
    digest = digest or model_hash(model_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        from ingest.embedder import onnx_recipe

        recipe = onnx_recipe(model_dir)
        transformer_dir = model_dir if isinstance(recipe, str) else recipe.transformer_dir
        raw = tmp / "raw.onnx"
        _export_transformer(transformer_dir, raw)
        _fuse(raw, tmp / VARIANTS["fp32"], transformer_dir)
        raw.unlink()
        _quantize(tmp / VARIANTS["fp32"], tmp / VARIANTS["int8"])
        import onnxruntime

        (tmp / MANIFEST).write_text(json.dumps({
            "model_hash": digest, "format": FORMAT_VERSION, "files": VARIANTS,
            "model_dir": str(model_dir), "onnxruntime": onnxruntime.__version__,
        }, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a pre-made export is read by every user
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _export_transformer(model_dir: Path, out: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar would interleave with our progress output

    # Eager attention exports as plain MatMul/Softmax, which onnxruntime's optimizer fuses into
    # its Attention kernel; the SDPA export, which it cannot fuse, ran about 1.5x slower here.
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        names.append("token_type_ids")  # BERT has them; DistilBERT and XLM-R models do not

    class LastHiddenState(torch.nn.Module):
        # Keyword arguments: transformers 5 moved BertModel.forward's positional parameters.
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    dummy = tuple(torch.ones(2, 16, dtype=torch.long) for _ in names)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(LastHiddenState(model), dummy, str(out), input_names=names,
                          output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                          opset_version=17, dynamo=False)


def _fuse(src: Path, out: Path, model_dir: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    optimized = optimize_model(str(src), model_type="bert", num_heads=int(config.get("num_attention_heads", 0)),
                               hidden_size=int(config.get("hidden_size", 0)), opt_level=1)
    optimized.save_model_to_file(str(out))


def _quantize(src: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused contrib ops (Attention, SkipLayerNormalization) have no ONNX shape inference, so the
    # quantizer is told their outputs are float.
    # The quantizer logs a line per tensor, and advice that does not apply, on the root logger.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.onnx_export",
                                     description="Make the ONNX exports (fp32 and int8) of a sentence-transformers model folder.")
    parser.add_argument("--model", default="", metavar="DIR", help="model folder (default: the built-in all-MiniLM-L6-v2)")
    parser.add_argument("--out", default="", metavar="DIR", help="export folder (default: DIR/onnx inside the model folder, "
                        "where the embedder finds a pre-made export)")
    args = parser.parse_args(argv)
    from ingest.embedder import default_embedder_path, find_model_folder

    model_dir = find_model_folder(Path(args.model).expanduser()) if args.model else default_embedder_path()
    if model_dir is None:
        print(f"No sentence-transformers model found in {args.model}", file=sys.stderr)
        return 2
    if not can_export():
        print("Making an export needs torch, transformers and onnx: pip install localkb's dependencies.", file=sys.stderr)
        return 2
    out = Path(args.out).expanduser() if args.out else model_dir / EXPORT_DIRNAME
    export(model_dir, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
