"""The one settings schema: every default, bound and description lives here.

The settings dialog and the CLI read field titles, descriptions and bounds from this schema
instead of repeating them.  Settings persist as TOML (`paths.settings_file()`); a file with
unknown keys or bad values is reported with the key that is wrong, never silently reset.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import paths
from app.errors import SettingsError

ChatTemplate = Literal["auto", "chatml", "llama-2", "llama-3", "alpaca", "vicuna", "chatglm3", "mistral-instruct", "gemma", "qwen"]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSettings(_Group):
    """The chat model (llama.cpp) and how it runs."""

    model_path: str = Field("", title="Model file (GGUF)", description="A .gguf file; empty uses the built-in model chosen below.")
    builtin: Literal["qwen2.5-1.5b", "smollm2-135m"] = Field("qwen2.5-1.5b", title="Built-in model", description="Used when no model file is set: Qwen2.5-1.5B (Chinese and English, default) or SmolLM2-135M (English, fast, low memory, answers poorly).")
    models_folder: str = Field("", title="Models folder", description="Folder scanned for .gguf files on the models page; empty uses LOCALKB_HOME/models.")
    chat_template: ChatTemplate = Field("auto", title="Chat template", description="'auto' uses the template stored in the GGUF file; pick one for old conversions that lack it.")
    n_ctx: int = Field(4096, ge=512, le=131072, title="Context length", description="Tokens the model sees at once: passages, history, question and answer.")
    n_threads: int = Field(0, ge=0, le=256, title="Threads", description="CPU threads for the model; 0 picks the number of physical cores.")
    n_gpu_layers: int = Field(0, ge=-1, le=1000, title="GPU layers", description="Layers offloaded to the GPU; -1 offloads all, 0 runs on the CPU.")
    temperature: float = Field(0.2, ge=0.0, le=2.0, title="Temperature", description="Higher is more varied; low keeps answers close to the passages.")
    repeat_penalty: float = Field(0.0, ge=0.0, le=2.0, title="Repeat penalty", description="Discourages repeating recent tokens; 0 uses the model's own default (1.05 for Qwen, 1.15 for SmolLM2, 1.1 for other files).")
    max_tokens: int = Field(512, ge=16, le=8192, title="Max answer tokens", description="Longest answer, in tokens; also reserved out of the context for the answer.")
    lora_path: str = Field("", title="LoRA adapter (GGUF)", description="Optional LoRA adapter applied to the model.")


class EmbeddingSettings(_Group):
    """The sentence-transformers model that turns text into vectors."""

    embedder_path: str = Field("", title="Embedding model folder", description="A local sentence-transformers model folder; empty uses the built-in all-MiniLM-L6-v2.")
    embedder_languages: str = Field("", title="Embedder languages", description="Comma-separated ISO codes the embedder understands (en, zh, ...); empty reads them from the model card.")
    batch_size: int = Field(32, ge=1, le=1024, title="Embedding batch size", description="Chunks embedded per batch.")
    runtime: Literal["openvino", "onnx-int8", "onnx", "torch"] = Field("openvino", title="Embedding runtime", description="openvino (default): the same vectors as torch, computed in bfloat16 on CPUs that support it (3.5 times torch's speed on a recent Xeon). onnx-int8: faster than torch on older CPUs, but a different embedder as far as a knowledge base is concerned, so switching to or from it re-indexes. onnx: the same vectors as torch through onnxruntime. torch: needs PyTorch installed.")

    def identity(self) -> tuple[str, bool]:
        """What decides whether a knowledge base's vectors still fit: the model folder, and
        whether it runs quantised (int8 vectors differ from torch's; fp32 ONNX matches them)."""
        return self.embedder_path, self.runtime == "onnx-int8"


class IngestSettings(_Group):
    """How files become chunks."""

    chunk_size: int = Field(800, ge=100, le=8000, title="Chunk size (characters)", description="Longest chunk, in characters.")
    chunk_overlap: int = Field(120, ge=0, le=2000, title="Chunk overlap (characters)", description="Characters repeated between neighbouring chunks of the same page.")
    max_file_mb: int = Field(200, ge=1, le=10000, title="Largest file (MB)", description="Files above this size are refused.")
    file_timeout_s: int = Field(300, ge=5, le=7200, title="Time per file (s)", description="A file that takes longer to read fails alone.")
    max_pages: int = Field(5000, ge=1, le=100000, title="Most pages per file", description="Pages beyond this are not read; the document notes it.")
    ocr: bool = Field(True, title="OCR scanned pages", description="Read images and PDF pages without a text layer with offline OCR.")
    parse_workers: int = Field(1, ge=1, le=32, title="Parser processes", description="Processes that read files while the embedder runs.")


class RetrievalSettings(_Group):
    """How passages are found for a question."""

    top_k: int = Field(5, ge=1, le=100, title="Passages per answer", description="Passages given to the model.")
    candidates: int = Field(50, ge=5, le=1000, title="Candidates per retriever", description="Passages each retriever proposes before fusion and reranking.")
    score_threshold: float = Field(0.2, ge=0.0, le=1.0, title="Score threshold", description="Passages scoring below this (0-1 after fusion) are dropped; none left means 'not in your documents'.")
    reranker_path: str = Field("", title="Reranker model folder", description="Optional local cross-encoder model folder; empty turns reranking off.")
    merge_neighbours: bool = Field(True, title="Merge neighbouring chunks", description="Join adjacent chunks of the same page into one passage.")


class AnswerSettings(_Group):
    """How answers are written."""

    when_not_found: Literal["say_not_found", "model_knowledge"] = Field("say_not_found", title="When documents lack the answer", description="Say so plainly, or answer from the model's own knowledge, clearly marked.")
    prompt_en: str = Field("", title="English prompt template", description="Empty uses assets/prompts/answer_en.txt.")
    prompt_zh: str = Field("", title="Chinese prompt template", description="Empty uses assets/prompts/answer_zh.txt.")
    prompt_tokens: int = Field(800, ge=256, le=131072, title="Prompt budget (tokens)", description="Most tokens of instructions, passages, history and question sent to the model; passages beyond it are left out (and listed). On 2 cores a 1.5B model reads about 40 tokens/s, so each 400 tokens adds about 10 s before the first word.")
    check_question_terms: bool = Field(True, title="Say \"not found\" when the passages miss the question's subject", description="When most of the distinctive words of the question occur in none of the passages found, answer that the documents do not contain it and name the missing words, without asking the model. Turn off for a strong model that handles paraphrased questions.")
    history_turns: int = Field(4, ge=0, le=50, title="History turns kept", description="Earlier question/answer pairs kept in the conversation, within the token budget.")


class SyncSettings(_Group):
    """Folders that knowledge bases follow."""

    watch: bool = Field(True, title="Watch followed folders", description="Apply changes in followed folders while the app runs; off, they are applied only on 'Sync now' or localkb sync.")
    debounce_s: float = Field(1.0, ge=0.1, le=60.0, title="Quiet time before reading (s)", description="A changed file is read once it has been left alone this long, so a file being saved is read once, complete.")
    rescan_minutes: int = Field(10, ge=1, le=1440, title="Full rescan every (minutes)", description="Followed folders are compared with the index this often, for network drives and changes the watcher missed.")


class StoreSettings(_Group):
    """Where knowledge bases keep their vectors: on this computer, or on a team's Chroma server."""

    backend: Literal["embedded", "server"] = Field("embedded", title="Vector store", description="'embedded' keeps everything on this computer; 'server' shares knowledge bases with a team through a Chroma server.")
    host: str = Field("127.0.0.1", title="Server host", description="Name or address of the Chroma server.")
    port: int = Field(8000, ge=1, le=65535, title="Server port", description="Port of the Chroma server (or of its token gate).")
    token: str = Field("", title="Access token", description="Sent as 'Authorization: Bearer ...'; ask whoever runs the server.")
    tls: bool = Field(False, title="Use TLS (https)", description="Connect with https; the server must be started with a certificate.")
    tls_ca_path: str = Field("", title="CA certificate file", description="PEM file that verifies the server's certificate; empty uses the system's certificates.")
    writer: bool = Field(False, title="This computer writes shared knowledge bases", description="One computer adds, changes and removes the documents of shared knowledge bases; the others read them and see each change once it is complete.")


class UISettings(_Group):
    """The desktop window."""

    language: Literal["system", "en", "zh_CN"] = Field("system", title="Interface language", description="Follows the system locale unless set.")


class Settings(_Group):
    model: ModelSettings = Field(default_factory=ModelSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        path = path or paths.settings_file()
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"Cannot read settings file {path}: {exc}") from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise SettingsError(f"Settings file {path}: '{key}': {first['msg']}") from exc

    def save(self, path: Path | None = None) -> Path:
        path = path or paths.settings_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(self.model_dump(mode="json")), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash never leaves a half-written settings file
        return path
