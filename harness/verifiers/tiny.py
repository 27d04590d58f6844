"""Tiny randomly initialised PRMs for tests: real code paths, weights written locally (none downloaded).

Both families are built on the embedded model's tokenizer: a causal LM for Math-Shepherd-style
good/bad token scoring, and a token-classification model for Qwen2.5-Math-PRM-style heads.
Heads are 64 wide because vLLM's CPU attention kernels only take a few head sizes, so the same
weights serve both PRM backends.
"""

from __future__ import annotations

from pathlib import Path


def make_tiny_prm(out: Path, tokenizer_dir: str, style: str = "token", seed: int = 0) -> Path:
    import torch  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, LlamaForTokenClassification  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                      pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                      num_labels=2)
    model = LlamaForCausalLM(cfg) if style == "token" else LlamaForTokenClassification(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out
