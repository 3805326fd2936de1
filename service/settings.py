"""All settings in one place; environment variables with the QA_ prefix override the defaults."""

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.chunking import LONGEST_SENTENCE_TOKENS, ChunkingSettings
from index.documents import BUNDLED_CORPUS
from index.embedding import DEFAULT_MODEL, EmbedderPrecision, IndexPrecision
from service.reader import READER_MODEL_DIR

MAX_TOP_K = 50  # passages a question may ask for: the setting's, /ask's and `qa ask --top-k`'s bound
MAX_QUESTION_CHARS = 1000  # the request schemas' bound; QA_MAX_QUESTION_CHARS may lower it, not raise it


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", frozen=True)

    @field_validator("index_dir", mode="before")
    @classmethod
    def _folder(cls, value: object) -> object:
        """QA_INDEX_DIR names a folder: empty would be the working directory, a file cannot hold an index."""
        if not isinstance(value, str | os.PathLike):
            return value  # pydantic says what it is not
        if isinstance(value, str) and not value.strip():
            raise ValueError("no folder given; unset it for var/index, or name the index's folder")
        try:
            if Path(value).exists() and not Path(value).is_dir():
                raise ValueError(f"{value} is a file, not a folder")
        except OSError as error:  # a name too long, a folder it may not look in
            raise ValueError(f"{value}: {error.strerror or error}") from None
        return value

    @field_validator("corpus", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        """QA_CORPUS as a JSON list (`[]`: start with an empty index), or as paths the way PATH lists them."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON list of paths: {error.msg} at character {error.pos}") from None
        paths = [part for part in value.split(os.pathsep) if part.strip()]
        if not paths:
            raise ValueError(f"no path given; name files or folders (joined by {os.pathsep!r}), or [] for none")
        return paths

    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="faiss: the index in QA_INDEX_DIR on local disk; milvus: collections at QA_MILVUS_URI"
    )
    index_dir: Path = Field(Path("var/index"), description="Where the FAISS store keeps the index on disk")
    milvus_uri: str = Field(
        "var/milvus.db",
        description="A local *.db path (Milvus Lite, embedded: one process) or a server's http://host:19530",
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus credentials: 'user:password' or an API key")
    milvus_collection: str = Field(
        "qa",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$",
        description="Prefix of the Milvus collection aliases (qa_chunks, qa_documents, qa_meta; a rebuild points them at new versioned collections): one index per prefix",
    )
    corpus: Annotated[list[Path], NoDecode] = Field(
        [BUNDLED_CORPUS],
        description="Files or folders indexed when no index exists yet: a JSON list, or one path, or paths joined by"
        f" {os.pathsep!r} as in PATH",
    )
    embedding_model: str = Field(DEFAULT_MODEL, description="Sentence-transformers model name or local folder")
    reader_model: Path = Field(READER_MODEL_DIR, description="Folder of the trained span reader")
    reader_precision: Literal["auto", "float32", "bfloat16", "int8"] = Field(
        "auto",
        description="auto: bfloat16 weights where the CPU runs them natively (AMX / AVX512-BF16), else float32;"
        " int8: the Linear layers quantised to int8 at load (float32 activations)",
    )
    embedder_precision: EmbedderPrecision = Field(
        "float32",
        description="The question embedder: float32, bfloat16 weights, or int8 Linear layers",
    )
    index_precision: IndexPrecision = Field(
        "auto",
        description="The embedding of stored chunks (index builds and document writes): auto: bfloat16 weights where"
        " the CPU runs them natively (AMX / AVX512-BF16), else float32. Vectors are stored in float32 either way",
    )
    top_k: int | None = Field(
        None,
        ge=1,
        le=MAX_TOP_K,
        description="Passages retrieved and read per question; unset: the reader's own (the depth its open threshold was calibrated at)",
    )
    no_answer_threshold: float | None = Field(
        None,
        ge=-50,
        le=50,
        description="How far (in logits) the best span must beat its window's no-answer score to be answered: higher"
        " abstains more often; unset: the reader's own, calibrated on held-out articles (through retrieval; in"
        " `qa eval --mode reader`, on the given paragraphs)",
    )
    reader_early_exit: bool = Field(
        True,
        description="Read a question's first 2 retrieved passages alone, and the rest only where none of their spans"
        " answers clearly (the reader's calibrated exit margin); false: read every passage (slower, as calibrated)",
    )
    chunk_max_tokens: int = Field(
        96,
        ge=16,
        le=LONGEST_SENTENCE_TOKENS,
        description="Longest chunk, in estimated tokens: at most what the embedder reads (a paragraph kept whole under"
        " chunk_paragraph_tokens may be longer, up to that)",
    )
    chunk_overlap_sentences: int = Field(1, ge=0, le=5)
    chunk_paragraph_tokens: int = Field(
        0,
        ge=0,
        le=LONGEST_SENTENCE_TOKENS,
        description="A paragraph (a line of text) of at most this many estimated tokens is never split across chunks,"
        " and chunk_overlap_sentences then counts such a paragraph as one sentence; 0: chunks are sentence windows"
        " that may cut a paragraph",
    )
    max_question_chars: int = Field(
        MAX_QUESTION_CHARS,
        ge=1,
        le=MAX_QUESTION_CHARS,
        description=f"Longest question or chat message, in characters; longer is a 422 (at most {MAX_QUESTION_CHARS})",
    )
    chat_history_messages: int = Field(12, ge=1, le=100, description="Messages of a chat kept for resolving follow-ups")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for the document write routes; unset: they answer 403 (switched off)"
    )
    max_json_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body of a JSON route; larger is a 413")
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest multipart upload; larger is a 413")
    write_wait_seconds: float = Field(
        10.0, ge=0, description="How long a document write waits for another to finish before a 503 with Retry-After"
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Intra-op threads of the served models; unset: torch's default (one per core)",
    )
    batch_window_ms: float = Field(
        0.0,
        ge=0,
        le=100,
        description="How long the first question of a batch waits for others asked at the same time; 0: a batch is"
        " what queued while the model was busy (as fast under load as 2 ms here, and 2 ms sooner for a lone question)",
    )
    max_batch_questions: int = Field(16, ge=1, le=256, description="Questions read together in one model pass at most")
    max_queued_questions: int = Field(
        256, ge=1, description="Questions waiting for the model at most; past it a request is a 503 with Retry-After"
    )
    shutdown_grace_seconds: float = Field(30.0, ge=0, description="On SIGTERM, how long in-flight requests may finish")

    @property
    def chunking(self) -> ChunkingSettings:
        return ChunkingSettings(self.chunk_max_tokens, self.chunk_overlap_sentences, self.chunk_paragraph_tokens)

    @field_validator("admin_token", mode="after")
    @classmethod
    def token_without_spaces_around(cls, token: SecretStr | None) -> SecretStr | None:
        """A header value carries no spaces or line breaks at its ends, so a token read with a trailing newline (from
        a file, say) could never match: they are dropped, and a token of only whitespace is none."""
        value = token.get_secret_value().strip() if token else ""
        return SecretStr(value) if value else None

    @property
    def shared_store(self) -> bool:
        """A Milvus server, which other processes may serve from and write to (Milvus Lite's local file has one
        process)."""
        return self.store == "milvus" and "://" in self.milvus_uri

    @property
    def writes_enabled(self) -> bool:
        """Whether document writes are switched on: a QA_ADMIN_TOKEN that is set and not blank."""
        return bool(self.admin_token and self.admin_token.get_secret_value())


def unknown_settings(environ: dict[str, str]) -> list[str]:
    """Each QA_ variable in `environ` that names no setting, with the setting it was likely meant to be: pydantic
    ignores them, so a typo (QA_TOPK) would otherwise leave the default in force without a word."""
    import difflib

    known = {f"QA_{name.upper()}" for name in Settings.model_fields}
    found = []
    for name in sorted(key for key in environ if key.upper().startswith("QA_") and key.upper() not in known):
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.8)
        found.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return found
