"""Evaluation data: our JSONL gold set over the bundled articles, or a SQuAD file (one document per paragraph)."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from eval.squad import load_squad, not_utf8
from index.documents import BUNDLED_CORPUS, Document, load_documents

GOLD_SET = Path(__file__).parent / "gold.jsonl"


@dataclass(frozen=True)
class Reference:
    text: str
    document_id: str
    start: int
    end: int


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    references: tuple[Reference, ...]
    history: tuple[str, ...] = ()
    kind: str = ""
    paragraph_id: str | None = None  # SQuAD: the paragraph the question was asked about, answerable or not

    @property
    def answerable(self) -> bool:
        return bool(self.references)


@dataclass(frozen=True)
class EvalSet:
    name: str
    questions: list[EvalQuestion]
    documents: list[Document]


def load_eval_set(path: Path | None) -> EvalSet:
    """A gold JSONL file (over the bundled corpus) or SQuAD v1.1/v2.0 JSON, told apart by suffix."""
    path = path or GOLD_SET
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such dataset file")
    if path.suffix not in {".json", ".jsonl"}:
        raise ValueError(f"{path}: expected a .jsonl gold set or a SQuAD .json file")
    loaded = _squad_set(path) if path.suffix == ".json" else _gold_set(path)
    if not loaded.questions:  # figures over nothing would print as None and pass no gate
        raise ValueError(f"{path}: holds no questions")
    return loaded


def _gold_set(path: Path) -> EvalSet:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a gold set of JSON lines ({not_utf8(error)})") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError(f"expected a JSON object, got {type(record).__name__}")
            references = tuple(
                Reference(a["text"], a["document_id"], a["start"], a["end"]) for a in record.get("answers", [])
            )
            questions.append(
                EvalQuestion(
                    record["id"],
                    record["question"],
                    references,
                    tuple(record.get("history", [])),
                    record.get("kind", ""),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a gold record ({error})") from None
    return EvalSet(path.stem, questions, load_documents([BUNDLED_CORPUS]))


def paragraph_id(title: str, paragraph: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9]+', '-', title).strip('-')}-p{paragraph:03d}"


def _squad_set(path: Path) -> EvalSet:
    documents: dict[str, Document] = {}
    questions = []
    for item in load_squad(path):
        doc_id = paragraph_id(item.title, item.paragraph)
        documents.setdefault(doc_id, Document(doc_id, item.title.replace("_", " "), path.name, item.context))
        references = tuple(
            Reference(text, doc_id, start, start + len(text))
            for text, start in zip(item.answers, item.answer_starts, strict=True)
        )
        questions.append(EvalQuestion(item.id, item.question, references, (), item.title, doc_id))
    return EvalSet(path.stem, questions, list(documents.values()))


def merge(sets: list[EvalSet]) -> EvalSet:
    """Several SQuAD files as one dataset (a paragraph id two files share must hold the same text); one as it is."""
    if len(sets) == 1:
        return sets[0]
    if any(not q.paragraph_id for s in sets for q in s.questions):
        raise ValueError("only SQuAD files can be merged; give the gold set alone")
    documents: dict[str, Document] = {}
    for document in (d for s in sets for d in s.documents):
        kept = documents.setdefault(document.id, document)
        if kept.text != document.text:  # an article title shared by two files: its questions would be scored wrongly
            raise ValueError(
                f"{kept.source} and {document.source} both have a paragraph {document.id!r}, with different text;"
                " merge files whose articles have distinct titles"
            )
    return EvalSet("+".join(s.name for s in sets), [q for s in sets for q in s.questions], list(documents.values()))
