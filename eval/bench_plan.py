"""What one `qa bench` run measures: the plan (how much of each section) and the configurations compared."""

from dataclasses import dataclass
from pathlib import Path

from service.settings import Settings

SECTIONS = ("inprocess", "haystack", "http", "scale", "coldstart", "quality")


@dataclass(frozen=True)
class Plan:
    questions: int | None  # gold questions per latency measurement; None: all of them
    requests: int  # per concurrency level
    concurrency: tuple[int, ...]
    paragraphs: int  # SQuAD paragraphs in the large index
    cold_runs: int
    f1_limit: int | None  # held-out questions for F1; None: all of them
    skip: frozenset[str] = frozenset()


# About 12 minutes for the reader on 2 idle cores, 7-9 of them building the ~20k-paragraph index (README, "Benchmark").
FULL = Plan(questions=None, requests=200, concurrency=(1, 4, 16, 32), paragraphs=20_000, cold_runs=5, f1_limit=None)
# A smoke run of every section in a minute or two: its figures say that the harness works, not how fast anything is.
QUICK = Plan(questions=8, requests=8, concurrency=(1, 4), paragraphs=300, cold_runs=1, f1_limit=24)


@dataclass(frozen=True)
class Config:
    """One configuration of this project to measure; the Haystack baseline is the same for all."""

    precision: str
    top_k: int | None = None
    answerer: str = "reader"
    embedder_precision: str = "float32"  # the question embedder's; the index is always built in float32

    @property
    def label(self) -> str:
        embedder = f"/embedder-{self.embedder_precision}" if self.embedder_precision != "float32" else ""
        return f"{self.answerer}/{self.precision}" + embedder + (f"/top{self.top_k}" if self.top_k else "")

    def env(self, index_dir: Path) -> dict[str, str]:
        """The same configuration for a `qa` subprocess."""
        env = {
            "QA_READER_PRECISION": self.precision,
            "QA_EMBEDDER_PRECISION": self.embedder_precision,
            "QA_INDEX_DIR": str(index_dir),
        }
        return env | ({"QA_TOP_K": str(self.top_k)} if self.top_k else {})

    def settings(self, index_dir: Path) -> Settings:
        return Settings(
            index_dir=index_dir,
            reader_precision=self.precision,
            embedder_precision=self.embedder_precision,
            top_k=self.top_k,
        )

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "answerer": self.answerer,
            "precision": self.precision,
            "embedder_precision": self.embedder_precision,
            "top_k": self.top_k,
        }


def configurations(
    precisions: list[str], top_k: int | None, embedder_precisions: tuple[str, ...] | list[str] = ("float32",)
) -> list[Config]:
    """The reader at each precision with the question embedder at each of its own, each once, in the order given."""
    return list(
        dict.fromkeys(
            Config(precision, top_k, embedder_precision=embedder)
            for precision in precisions
            for embedder in embedder_precisions
        )
    )
