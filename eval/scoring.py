"""Per-question records and the summary figures of an evaluation run."""

from dataclasses import asdict, dataclass

import numpy as np

from eval.datasets import EvalQuestion
from eval.metrics import best_score, exact_match, f1
from service.answering.answers import Answer, Passage


@dataclass(frozen=True)
class Record:
    id: str
    question: str
    asked: str
    answerable: bool
    prediction: str | None
    document_id: str | None
    start: int | None
    end: int | None
    exact_match: float
    f1: float
    cited: bool
    gold_rank: int | None
    latency_ms: float
    references: list[str]

    def to_json(self) -> dict:
        return asdict(self)


def gold_rank(question: EvalQuestion, passages: list[Passage]) -> int | None:
    """1-based rank of the first passage holding a gold answer span (SQuAD unanswerables: their paragraph)."""
    for rank, passage in enumerate(passages, start=1):
        for reference in question.references:
            if reference.document_id == passage.document_id and passage.start <= reference.start < passage.end:
                return rank
        if not question.references and question.paragraph_id == passage.document_id:
            return rank
    return None


def score(question: EvalQuestion, asked: str, answer: Answer | None, passages: list[Passage], ms: float) -> Record:
    references = sorted({r.text for r in question.references})
    prediction = answer.text if answer else None
    cited = answer is not None and any(
        r.document_id == answer.document_id and answer.start < r.end and r.start < answer.end
        for r in question.references
    )
    return Record(
        id=question.id,
        question=question.question,
        asked=asked,
        answerable=question.answerable,
        prediction=prediction,
        document_id=answer.document_id if answer else None,
        start=answer.start if answer else None,
        end=answer.end if answer else None,
        exact_match=100 * best_score(exact_match, prediction, references),
        f1=100 * best_score(f1, prediction, references),
        cited=cited,
        gold_rank=gold_rank(question, passages),
        latency_ms=ms,
        references=references,
    )


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None


def summarize(records: list[Record], mode: str) -> dict:
    """SQuAD-2.0-style figures (overall, HasAns, NoAns), citation, retrieval and abstention figures, latency."""
    has_ans = [r for r in records if r.answerable]
    no_ans = [r for r in records if not r.answerable]
    abstained = [r for r in records if r.prediction is None]
    latencies = [r.latency_ms for r in records]
    ranked = [r for r in has_ans if mode == "open"]
    figures = {
        "questions": len(records),
        "has_ans_questions": len(has_ans),
        "no_ans_questions": len(no_ans),
        "exact_match": _mean([r.exact_match for r in records]),
        "f1": _mean([r.f1 for r in records]),
        "has_ans_exact": _mean([r.exact_match for r in has_ans]),
        "has_ans_f1": _mean([r.f1 for r in has_ans]),
        "no_ans_accuracy": _mean([100.0 * (r.prediction is None) for r in no_ans]),
        "citation_accuracy": _mean([100.0 * r.cited for r in has_ans]),
        "abstention_precision": _mean([100.0 * (not r.answerable) for r in abstained]),
        "abstention_recall": _mean([100.0 * (r.prediction is None) for r in no_ans]),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
    }
    if ranked:
        for k in (1, 5, 10):
            figures[f"recall@{k}"] = _mean([100.0 * (r.gold_rank is not None and r.gold_rank <= k) for r in ranked])
        figures["mrr@10"] = round(
            float(np.mean([1.0 / r.gold_rank if r.gold_rank and r.gold_rank <= 10 else 0.0 for r in ranked])), 4
        )
    return figures
