"""A GGUF chat model run in process by llama-cpp-python, loaded once and kept.

The chat template comes from the file's metadata (`tokenizer.chat_template`, rendered with
llama-cpp's Jinja2ChatFormatter); files converted before templates were stored -- or a user who
knows better -- pick a named format instead (settings: model.chat_template).  Generation streams
token by token and checks the cancel flag before every next token, so cancelling stops within
one token.  Prompts are sent as token lists: llama.cpp keeps the evaluated state of the previous
prompt and re-evaluates only from the first token that differs, so a stable system prompt and
unchanged earlier turns cost nothing on the next question.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.errors import CancelledError, ModelError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"

# Named fallbacks (settings: model.chat_template) -> llama-cpp formatter function names.
FALLBACK_FORMATS = {
    "chatml": "format_chatml",
    "llama-2": "format_llama2",
    "llama-3": "format_llama3",
    "alpaca": "format_alpaca",
    "vicuna": "format",  # llama-cpp registers vicuna under this plain name
    "chatglm3": "format_chatglm3",
    "mistral-instruct": "format_mistral_instruct",
    "gemma": "format_gemma",
    "qwen": "format_qwen",
}
DEFAULT_FALLBACK = "chatml"


def default_model_path(builtin: str = "", progress=None) -> Path:
    """The built-in model's GGUF file (joined and verified on first use; see app.llm.builtin)."""
    from app.llm import builtin as builtins

    return builtins.ensure(builtin or builtins.DEFAULT, progress)


def check_gguf(path: Path) -> None:
    """Raise ModelError with words a user can act on unless `path` is a readable GGUF file."""
    if not path.exists():
        raise ModelError(f"Model file not found: {path}. Choose an existing .gguf file (settings: model.model_path, or --model).")
    if path.is_dir():
        raise ModelError(f"{path} is a folder; choose a .gguf model file inside it.")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read model file {path}: {exc.strerror or exc}.") from exc
    if magic != GGUF_MAGIC:
        hint = " (old GGML/.bin models must be converted to GGUF with llama.cpp's convert scripts)" if magic[:4] in (b"ggml", b"ggjt", b"lmgg") else ""
        raise ModelError(f"{path.name} is not a GGUF model file{hint}. Choose a .gguf file.")


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, (os.cpu_count() or 2))


def physical_memory() -> int | None:
    """Bytes of RAM in this computer; None where the platform does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def keep_mapped(model_bytes: int, n_gpu_layers: int, ram_bytes: int | None) -> bool:
    """Whether llama.cpp should map the model file rather than read it into memory.

    llama.cpp repacks quantised weights for the CPU's vector units into a buffer of its own; with
    the file mapped, the pages it read to do so stay resident as well: the 1.1 GB Qwen2.5-1.5B
    Q4_K_M took 1.82 GB of RSS mapped and 1.23 GB read in, prompts evaluated as fast.  A model that
    is large for this computer's memory stays mapped, so the kernel can drop its pages under
    pressure instead of the load failing; so does a model offloaded to a GPU.
    """
    if n_gpu_layers != 0 or not ram_bytes:
        return True
    return model_bytes > ram_bytes // 3


@dataclass
class Generation:
    """What one streamed generation produced and how long it took."""

    text: str = ""
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the previous evaluation
    ttft_s: float | None = None  # time to first token
    total_s: float = 0.0
    cancelled: bool = False
    finish_reason: str = ""
    token_times: list[float] = field(default_factory=list, repr=False)

    @property
    def tokens_per_s(self) -> float | None:
        if self.tokens < 2 or self.ttft_s is None:
            return None
        gen_time = self.total_s - self.ttft_s
        return (self.tokens - 1) / gen_time if gen_time > 0 else None


class ChatModel:
    """One GGUF model, loaded lazily on first use (thread-safe) and kept until `close()`."""

    def __init__(self, model_path: str | Path = "", *, chat_template: str = "auto", n_ctx: int = 4096,
                 n_threads: int = 0, n_gpu_layers: int = 0, temperature: float = 0.2, max_tokens: int = 512,
                 lora_path: str = "", seed: int = 0, builtin: str = "", repeat_penalty: float = 0.0,
                 on_prepare: Callable[[int, int], None] | None = None) -> None:
        self.path = Path(model_path).expanduser() if model_path else None
        self.builtin = builtin
        self._repeat_penalty = repeat_penalty  # 0: the model's own default, known once the path is
        self.on_prepare = on_prepare  # (bytes done, bytes in all) while a built-in model is joined
        self.chat_template = chat_template
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_gpu_layers = n_gpu_layers
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.lora_path = lora_path
        self.seed = seed
        self.template_source = ""  # "gguf" or the fallback name, once loaded
        self.last_prompt: tuple[list[int], list[str], object] | None = None  # what the last generation was given
        self._llm = None
        self._formatter = None
        self._state = "not loaded"
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @classmethod
    def from_settings(cls, model_settings, model_path: str | None = None) -> "ChatModel":
        s = model_settings
        return cls(model_path or s.model_path, chat_template=s.chat_template, n_ctx=s.n_ctx, n_threads=s.n_threads,
                   n_gpu_layers=s.n_gpu_layers, temperature=s.temperature, max_tokens=s.max_tokens,
                   lora_path=s.lora_path, builtin=s.builtin, repeat_penalty=s.repeat_penalty)

    @property
    def repeat_penalty(self) -> float:
        """The setting, else the built-in model's own default, else 1.1 (enough to stop most loops)."""
        if self._repeat_penalty > 0:
            return self._repeat_penalty
        from app.llm import builtin as builtins

        key = builtins.key_for_path(self.path) if self.path else (self.builtin or builtins.DEFAULT)
        return builtins.MODELS[key].repeat_penalty if key else 1.1

    # -- loading -----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self):
        """Load the model if it is not loaded yet; returns the llama_cpp.Llama object."""
        if self._llm is not None:
            return self._llm
        with self._load_lock:
            if self._llm is not None:
                return self._llm
            self._state = "loading"
            try:
                self._llm = self._load()
            except ModelError as exc:
                self._state = f"error: {exc}"
                raise
            self._state = "ready"
            return self._llm

    def _load(self):
        path = self.path or default_model_path(self.builtin, self.on_prepare)
        self.path = path
        check_gguf(path)
        if self.lora_path:
            from app.llm.gguf import read_lora

            # llama.cpp refuses an adapter that is not a LoRA made for this model, and
            # llama-cpp-python 0.3.x misses the refusal (it compares a NULL pointer with None):
            # the first token then crashes the process.  So the adapter is checked first.
            read_lora(self.lora_path, path)
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelError(f"llama-cpp-python is not installed or failed to import ({exc}); reinstall LocalKB.") from exc
        size = path.stat().st_size
        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads, n_threads_batch=self.n_threads,
                n_gpu_layers=self.n_gpu_layers, lora_path=str(Path(self.lora_path).expanduser()) if self.lora_path else None,
                seed=self.seed, verbose=False, use_mmap=keep_mapped(size, self.n_gpu_layers, physical_memory()),
            )
        except MemoryError as exc:
            raise ModelError(f"Not enough memory to load {path.name} ({size / 2**30:.1f} GB) with a {self.n_ctx}-token "
                             "context: choose a smaller quantization or lower the context length.") from exc
        except Exception as exc:  # llama.cpp reports every failure as a bare ValueError
            raise ModelError(
                f"llama.cpp could not load {path.name} ({size / 2**30:.1f} GB): the file may be damaged or truncated, "
                f"its architecture unsupported by this llama.cpp, or memory too small for a {self.n_ctx}-token context "
                f"({exc}). Try another file, a smaller quantization, or a lower context length."
            ) from exc
        if self.lora_path and not llm._lora_adapter:  # refused for a reason read_lora does not know
            llm.close()
            raise ModelError(f"llama.cpp refused the LoRA adapter {Path(self.lora_path).name} for {path.name}: "
                             "choose an adapter made for this model, or clear model.lora_path.")
        self._formatter, self.template_source = self._make_formatter(llm)
        log.info("model %s loaded in %.1fs (template: %s)", path, time.perf_counter() - started, self.template_source)
        return llm

    def _make_formatter(self, llm):
        from llama_cpp import llama_chat_format

        template = llm.metadata.get("tokenizer.chat_template") if self.chat_template == "auto" else None
        if template:
            eos_id, bos_id = llm.token_eos(), llm.token_bos()
            eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
            bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
            try:
                return llama_chat_format.Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos,
                                                             stop_token_ids=[eos_id]), "gguf"
            except Exception as exc:  # a template llama-cpp's Jinja cannot parse: fall back, say so
                log.warning("chat template in %s unusable (%s); using %s", self.path, exc, DEFAULT_FALLBACK)
        name = self.chat_template if self.chat_template in FALLBACK_FORMATS else DEFAULT_FALLBACK
        if name == "alpaca":
            return format_alpaca, name
        return getattr(llama_chat_format, FALLBACK_FORMATS[name]), name

    def close(self) -> None:
        with self._load_lock, self._run_lock:
            if self._llm is not None:
                try:
                    self._llm.close()
                except Exception:  # closing is best effort
                    pass
            self._llm = None
            self._state = "not loaded"

    # -- tokens ------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def render(self, messages: list[dict]) -> tuple[list[int], list[str], object]:
        """Prompt tokens, stop strings and stopping criteria for chat messages."""
        llm = self.load()
        result = self._formatter(messages=messages)
        tokens = llm.tokenize(result.prompt.encode("utf-8"), add_bos=not getattr(result, "added_special", False),
                              special=True)
        stop = result.stop if isinstance(result.stop, list) else ([result.stop] if result.stop else [])
        return tokens, [s for s in stop if s], getattr(result, "stopping_criteria", None)

    def prompt_tokens(self, messages: list[dict]) -> int:
        return len(self.render(messages)[0])

    # -- generation --------------------------------------------------------------------------

    def stream(self, messages: list[dict], *, on_token: Callable[[str], None] | None = None, cancel=None,
               max_tokens: int | None = None, temperature: float | None = None,
               on_prompt: Callable[[int, int], None] | None = None,
               stop_when: Callable[[str], bool] | None = None) -> Generation:
        """Generate a reply, calling `on_token` with each piece of text as it is produced.

        `cancel` is any object with a `cancelled` attribute (ingest.progress.CancelToken); it is
        checked before each next token is computed.  A cancelled generation returns what was
        produced so far with `cancelled=True`.  `on_prompt(done, total)` reports the prompt's
        evaluation; `stop_when(text so far)` returning True ends the generation
        (finish_reason "loop": the loop detector).
        """
        tokens, stop, criteria = self.render(messages)
        return self.stream_tokens(tokens, stop=stop, stopping_criteria=criteria, on_token=on_token, cancel=cancel,
                                  max_tokens=max_tokens, temperature=temperature, on_prompt=on_prompt,
                                  stop_when=stop_when)

    def stream_tokens(self, tokens: list[int], *, stop: list[str] | None = None, stopping_criteria=None,
                      on_token: Callable[[str], None] | None = None, cancel=None, max_tokens: int | None = None,
                      temperature: float | None = None, on_prompt: Callable[[int, int], None] | None = None,
                      stop_when: Callable[[str], bool] | None = None) -> Generation:
        llm = self.load()
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        room = self.n_ctx - len(tokens)
        if room <= 0:
            raise ModelError(f"The prompt ({len(tokens)} tokens) does not fit the model's context ({self.n_ctx}); "
                             "raise model.n_ctx or lower retrieval.top_k.")
        gen = Generation(prompt_tokens=len(tokens))
        self.last_prompt = (list(tokens), list(stop or []), stopping_criteria)
        with self._run_lock:
            gen.cached_tokens = _common_prefix(llm, tokens)
            started = time.perf_counter()
            if cancel is not None and cancel.cancelled:
                gen.cancelled = True
                return gen
            if not _prefill(llm, tokens, gen.cached_tokens, on_prompt, cancel):
                gen.cancelled = True
                gen.finish_reason = "cancelled"
                gen.total_s = time.perf_counter() - started
                return gen
            stream = llm.create_completion(
                tokens, max_tokens=min(max_tokens, room), temperature=self.temperature if temperature is None else temperature,
                stop=stop or None, stopping_criteria=stopping_criteria, stream=True, seed=self.seed,
                repeat_penalty=self.repeat_penalty,
            )
            pieces: list[str] = []
            try:
                for chunk in stream:
                    choice = chunk["choices"][0]
                    piece = choice.get("text") or ""
                    now = time.perf_counter()
                    if piece:
                        if gen.ttft_s is None:
                            gen.ttft_s = now - started
                        gen.tokens += 1
                        pieces.append(piece)
                        if on_token is not None:
                            on_token(piece)
                    if choice.get("finish_reason"):
                        gen.finish_reason = choice["finish_reason"]
                    if piece and stop_when is not None and gen.tokens % 4 == 0 and stop_when("".join(pieces)):
                        gen.finish_reason = "loop"
                        break
                    if cancel is not None and cancel.cancelled:
                        # Leaving the loop closes the generator: the next token is never computed.
                        gen.cancelled = True
                        gen.finish_reason = "cancelled"
                        break
            finally:
                stream.close()
            gen.total_s = time.perf_counter() - started
            gen.text = "".join(pieces)
        return gen


def format_alpaca(messages: list[dict], **_kwargs):
    """Stanford Alpaca layout.  llama-cpp's own 'alpaca' format ends without the '### Response:'
    line, so the model never learns it is its turn; this one ends with it."""
    from llama_cpp.llama_chat_format import ChatFormatterResponse

    parts: list[str] = []
    for m in messages:
        content = (m.get("content") or "").strip()
        if m["role"] == "system":
            parts.append(content + "\n\n")
        elif m["role"] == "user":
            parts.append(f"### Instruction:\n{content}\n\n")
        else:
            parts.append(f"### Response:\n{content}\n\n")
    parts.append("### Response:\n")
    return ChatFormatterResponse(prompt="".join(parts), stop=["### Instruction:"])


# Prompt tokens evaluated per step while reporting progress: small enough that a 7B model on 2
# cores reports every few seconds and a Stop lands between steps, large enough to keep the
# matrix products efficient.
PREFILL_STEP = 128


def _prefill(llm, tokens: list[int], cached: int, on_prompt, cancel) -> bool:
    """Evaluate all but the last prompt token in steps, reporting progress; False if cancelled.

    llama-cpp-python evaluates the whole prompt inside its first `next()` with no progress and no
    way to stop.  Evaluating it here first, through the same `Llama.eval`, leaves the KV cache
    holding the prompt, so `create_completion` finds it as a cached prefix and evaluates only
    the last token before sampling.
    """
    total = len(tokens)
    if on_prompt is not None:
        on_prompt(min(cached, total), total)
    end = total - 1
    if cached >= end or (on_prompt is None and cancel is None):
        return True
    llm._ctx.kv_cache_seq_rm(-1, cached, -1)
    llm.n_tokens = cached
    pos = cached
    while pos < end:
        if cancel is not None and cancel.cancelled:
            return False
        step = tokens[pos:min(end, pos + PREFILL_STEP)]
        llm.eval(step)
        pos += len(step)
        if on_prompt is not None:
            on_prompt(pos, total)
    return True


def _common_prefix(llm, tokens: list[int]) -> int:
    try:
        previous = llm._input_ids.tolist()
    except AttributeError:
        return 0
    n = 0
    for a, b in zip(previous, tokens):
        if a != b:
            break
        n += 1
    return n


__all__ = ["ChatModel", "Generation", "default_model_path", "check_gguf", "CancelledError"]
