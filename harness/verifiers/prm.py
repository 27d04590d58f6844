"""`prm`: a Hugging Face process reward model scoring every step, batched across problems.

Two families are supported, chosen by `style` (or a `preset`):
- `token` (Math-Shepherd, Wang et al. 2024): a causal LM; a step tag follows each step and the
  step's score is P(good) / (P(good) + P(bad)) of the next-token distribution at the tag.
- `classifier` (Qwen2.5-Math-PRM, Zhang et al. 2025): a token-classification head; steps are
  separated by `<extra_0>` and the score is the positive-class probability at each separator.

Two backends, chosen by `options: {backend: transformers | vllm}`, build the same input ids (one
`StepEncoder`) and read the same positions, so they give the same scores:
- `transformers` (default): a forward pass in a worker thread behind a `MicroBatcher`, so the step
  scores of all problems in flight go through one padded forward pass. Runs anywhere, slowly.
- `vllm`: vLLM's pooling runner in-process (`AsyncLLM`, task `token_classify`, raw logits of every
  token), continuously batching every request in flight; the faster route on GPUs. A `token`-style
  PRM is served as vLLM's online "ForCausalLM -> classifier" conversion whose two-row head is the LM
  head's rows of the good and bad tokens, so only those two logits leave the engine. It needs vLLM
  (`pip install thinkbench[gpu]`, or the CPU build), its own share of the GPU
  (`gpu_memory_utilization`, default 0.3, beside the policy engine), and `max_length` bounds vLLM's
  `max_model_len`. On CPU it runs in float32, eager, with `cpu_kv_cache_gib` of KV cache.

Point `model` at a local directory or hub id, e.g. `peiyi9979/math-shepherd-mistral-7b-prm` with
`preset: math-shepherd`, or `Qwen/Qwen2.5-Math-PRM-7B` with `preset: qwen2.5-math-prm` (on a GPU:
`options: {preset: qwen2.5-math-prm, backend: vllm, dtype: bfloat16}`).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Sequence

from core.errors import UserError
from core.records import Question
from harness.engines.vllm_engine import prepare_cpu
from harness.verifiers.base import Candidate, ScoreResult, Verifier
from harness.verifiers.batching import MicroBatcher
from harness.verifiers.spec import VERIFIERS, VerifierInputs, VerifierSpec

if TYPE_CHECKING:
    import torch

PRESETS: dict[str, dict[str, Any]] = {
    "math-shepherd": {"style": "token", "step_tag": "ки", "good_token": "+", "bad_token": "-", "template": "plain"},
    "qwen2.5-math-prm": {"style": "classifier", "step_tag": "<extra_0>", "template": "chat", "trust_remote_code": True,
                         "system": "Please reason step by step, and put your final answer within \\boxed{}."},
}
BACKENDS = ("transformers", "vllm")


@dataclass(frozen=True)
class PRMSettings:
    model: str
    style: Literal["token", "classifier"] = "token"
    step_tag: str = "ки"
    good_token: str = "+"
    bad_token: str = "-"
    template: Literal["plain", "chat"] = "plain"  # plain: "question\n" then steps; chat: the model's chat template
    system: str | None = None
    trust_remote_code: bool = False
    backend: Literal["transformers", "vllm"] = "transformers"
    device: str = "cpu"  # transformers only; vLLM uses its platform's device
    dtype: str = "float32"
    max_batch: int = 32  # transformers only: the micro-batcher's batch
    max_wait_ms: float = 5.0  # transformers only
    max_length: int = 4096  # input tokens kept per candidate; also vLLM's max_model_len
    gpu_memory_utilization: float = 0.3  # vLLM only: the PRM's share of the GPU, beside the policy engine's
    cpu_kv_cache_gib: int = 1  # vLLM on CPU only (VLLM_CPU_KVCACHE_SPACE)

    @classmethod
    def from_options(cls, model: str, options: dict[str, Any]) -> "PRMSettings":
        options = dict(options)
        preset = options.pop("preset", None)
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown PRM preset {preset!r}; choose one of {', '.join(PRESETS)}")
        s = cls(model=model, **{**(PRESETS[preset] if preset else {}), **options})
        if s.backend not in BACKENDS:
            raise ValueError(f"unknown PRM backend {s.backend!r}; choose one of {', '.join(BACKENDS)}")
        if s.style not in ("token", "classifier"):
            raise ValueError(f"unknown PRM style {s.style!r}; choose token or classifier")
        return s


class StepEncoder:
    """Question + tagged steps as token ids, and where each step's tag sits: shared by both backends,
    so they score the very same tokens at the very same positions."""

    def __init__(self, settings: PRMSettings) -> None:
        from transformers import AutoTokenizer  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        self.s = settings
        self.tok = AutoTokenizer.from_pretrained(settings.model, trust_remote_code=settings.trust_remote_code)
        self.tag_ids: list[int] = self.tok.encode(settings.step_tag, add_special_tokens=False)
        if not self.tag_ids:
            raise ValueError(f"step tag {settings.step_tag!r} encodes to no tokens")
        self.good_id = self.bad_id = -1
        if settings.style == "token":
            self.good_id = self.tok.encode(settings.good_token, add_special_tokens=False)[-1]
            self.bad_id = self.tok.encode(settings.bad_token, add_special_tokens=False)[-1]

    def encode(self, problem: str, steps: Sequence[str]) -> tuple[list[int], list[int]]:
        """Token ids of question + tagged steps, and the position of each step's tag (its last token)."""
        if self.s.template == "chat":
            messages = ([{"role": "system", "content": self.s.system}] if self.s.system else []) + [
                {"role": "user", "content": problem}]
            head = self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = self.tok.encode(head, add_special_tokens=False)
        else:
            ids = self.tok.encode(problem + "\n")
        positions = []
        for step in steps:
            ids += self.tok.encode(step.strip(), add_special_tokens=False) + self.tag_ids
            positions.append(len(ids) - 1)
        if len(ids) > self.s.max_length:  # keep the question's start and the latest steps' ends intact
            cut = len(ids) - self.s.max_length
            ids = ids[:1] + ids[1 + cut:]
            positions = [max(0, p - cut) for p in positions]
        return ids, positions


def step_probs(logits_at_tags: "torch.Tensor", pair: Sequence[int] | None) -> list[float]:
    """Step scores from the logits at the tags: softmax over the (good, bad) columns `pair` for
    `token` style, else the positive (second) class of a classifier head."""
    if pair is not None:
        return [float(p) for p in logits_at_tags[:, list(pair)].float().softmax(-1)[:, 0]]
    return [float(p) for p in logits_at_tags.float().softmax(-1)[:, 1]]


def hf_class(settings: PRMSettings) -> Any:
    """The transformers auto class a PRM of this style loads with."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForTokenClassification  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

    if settings.style == "token":
        return AutoModelForCausalLM
    return AutoModel if settings.trust_remote_code else AutoModelForTokenClassification  # Qwen2.5-Math-PRM: own class


def count_parameters(settings: PRMSettings) -> int:
    """Parameters of the PRM as transformers builds it, on the meta device (no weights read), for FLOPs."""
    import torch  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
    from transformers import AutoConfig  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

    config = AutoConfig.from_pretrained(settings.model, trust_remote_code=settings.trust_remote_code)
    with torch.device("meta"):
        model = hf_class(settings).from_config(config, trust_remote_code=settings.trust_remote_code)
    return sum(p.numel() for p in model.parameters())


class _PRM:
    """What both backends share: the verifier's labels and the one encoding of question + tagged steps."""

    name = "prm"
    oracle = False
    needs_logprobs = False

    def __init__(self, settings: PRMSettings) -> None:
        self.s = settings
        self.encoder = StepEncoder(settings)
        self.tok = self.encoder.tok
        self.encode = self.encoder.encode


class TransformersPRM(_PRM):
    def __init__(self, settings: PRMSettings) -> None:
        import torch  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        super().__init__(settings)
        model = hf_class(settings).from_pretrained(settings.model, dtype=getattr(torch, settings.dtype),
                                                   trust_remote_code=settings.trust_remote_code)
        self.model = model.to(settings.device).eval()
        self.parameters: int | None = sum(p.numel() for p in self.model.parameters())
        self.pair = (self.encoder.good_id, self.encoder.bad_id) if settings.style == "token" else None
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else (self.tok.eos_token_id or 0)
        self.batcher: MicroBatcher[tuple[str, tuple[str, ...]], tuple[list[float], int]] = MicroBatcher(
            self._forward, settings.max_batch, settings.max_wait_ms / 1000)

    def _forward(self, items: list[tuple[str, tuple[str, ...]]]) -> list[tuple[list[float], int]]:
        """Step scores and input token count of each (problem, steps) item, in one padded forward pass."""
        import torch  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        encoded = [self.encode(problem, steps) for problem, steps in items]
        width = max(len(ids) for ids, _ in encoded)
        input_ids = torch.full((len(encoded), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for i, (ids, _) in enumerate(encoded):  # right padding: causal positions of real tokens are unchanged
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        with torch.no_grad():
            out = self.model(input_ids=input_ids.to(self.s.device), attention_mask=mask.to(self.s.device))
        logits = (out.logits if hasattr(out, "logits") else out[0]).float().cpu()
        return [(step_probs(logits[i, positions], self.pair), len(ids)) for i, (ids, positions) in enumerate(encoded)]

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        items = [(problem, tuple(c.step_list())) for c in candidates]
        outs = await self.batcher.submit(items)
        return ScoreResult([s for s, _ in outs], tokens=sum(n for _, n in outs), calls=1)

    def info(self) -> dict[str, Any]:
        return {"kind": "prm", "model": self.s.model, "style": self.s.style, "backend": "transformers",
                "parameters": self.parameters}

    async def close(self) -> None:
        return None


class VLLMPRM(_PRM):
    """The same PRM on vLLM's pooling runner: every candidate is one `token_classify` request with the
    raw (pre-activation) logits of every token, and vLLM's scheduler batches all requests in flight."""

    def __init__(self, settings: PRMSettings) -> None:

        super().__init__(settings)
        self._ids = itertools.count()
        self.cpu = prepare_cpu(settings.cpu_kv_cache_gib)
        try:
            from vllm import AsyncEngineArgs  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
            from vllm.config import PoolerConfig  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
            from vllm.v1.engine.async_llm import AsyncLLM  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
        except ImportError:
            need = "prm backend vllm needs vLLM: `pip install thinkbench[gpu]` (GPU) or `make` (CPU build)"
            raise UserError(need) from None
        overrides: dict[str, Any] = {}
        if settings.style == "token":  # the LM head's good/bad rows become a two-class head: [good, bad] logits
            good, bad = self.tok.convert_ids_to_tokens([self.encoder.good_id, self.encoder.bad_id])
            overrides = {"classifier_from_token": [good, bad], "method": "no_post_processing"}
        args = AsyncEngineArgs(
            model=settings.model,
            runner="pooling",
            convert="classify" if settings.style == "token" else "auto",
            hf_overrides=overrides,
            pooler_config=PoolerConfig(tok_pooling_type="ALL", use_activation=False),
            trust_remote_code=settings.trust_remote_code,
            dtype="float32" if self.cpu else settings.dtype,
            enforce_eager=self.cpu,
            max_model_len=settings.max_length,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            enable_prefix_caching=False,  # token-level pooling never reads the prefix cache
            disable_log_stats=True,
            **({"block_size": 32} if self.cpu else {}),
        )
        try:
            self._llm = AsyncLLM.from_engine_args(args)
        except Exception as e:  # noqa: BLE001 - vLLM raises many kinds on a bad checkpoint; all become one line
            raise UserError(f"vLLM could not load PRM {settings.model!r}: {str(e).splitlines()[0][:200]}") from None
        self.parameters: int | None = count_parameters(settings)
        self.pair = (0, 1) if settings.style == "token" else None  # the converted head's [good, bad] columns

    async def _one(self, problem: str, steps: Sequence[str]) -> tuple[list[float], int]:
        from vllm import PoolingParams  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        ids, positions = self.encode(problem, steps)
        params = PoolingParams(task="token_classify", use_activation=False)
        final = None
        async for out in self._llm.encode({"prompt_token_ids": ids}, params, request_id=f"prm-{next(self._ids)}"):
            final = out
        assert final is not None
        return step_probs(final.outputs.data[positions], self.pair), len(ids)

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        outs = await asyncio.gather(*(self._one(problem, c.step_list()) for c in candidates))
        return ScoreResult([s for s, _ in outs], tokens=sum(n for _, n in outs), calls=1)

    def info(self) -> dict[str, Any]:
        import vllm  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        return {"kind": "prm", "model": self.s.model, "style": self.s.style, "backend": "vllm",
                "engine_version": vllm.__version__, "device": "cpu" if self.cpu else "cuda",
                "parameters": self.parameters}

    async def close(self) -> None:
        self._llm.shutdown()


def _build(v: VerifierInputs) -> Verifier:
    settings = PRMSettings.from_options(v.model or "", v.options)
    return VLLMPRM(settings) if settings.backend == "vllm" else TransformersPRM(settings)


VERIFIERS.register(VerifierSpec("prm", _build, "a process reward model scoring each step (transformers or vLLM)",
                                needs_model="a PRM checkpoint directory or hub id"))
