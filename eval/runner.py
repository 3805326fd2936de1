"""`qa eval`: run a dataset through the system (open: retrieval + answering; reader: the gold paragraph only)."""

import json
import logging
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table

from eval.datasets import EvalQuestion, EvalSet, load_eval_set, merge
from eval.scoring import Record, score, summarize
from index.builder import IndexBuilder
from index.durable import atomic_write
from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.answers import Answerer, AnswerResult, Passage
from service.answering.pipeline import QAPipeline
from service.chat.followup import Turn, resolve_followup
from service.runtime import index_embedder, load_answerer, question_embedder
from service.settings import Settings

log = logging.getLogger(__name__)
console = Console(stderr=True)
RETRIEVAL_DEPTH = 10  # passages ranked per question for recall@k and MRR@10; the answerer reads the first top_k


def sample(questions: list[EvalQuestion], limit: int | None) -> list[EvalQuestion]:
    """Every n-th question, so a sample spreads over all articles."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def only_articles(eval_set: EvalSet, articles: str) -> EvalSet:
    """The questions (and paragraphs) of some SQuAD articles; 'held-out' names the reader's untouched test articles."""
    if not any(q.paragraph_id for q in eval_set.questions):
        raise ValueError(f"{eval_set.name}: --articles applies to SQuAD datasets only")
    if articles == "held-out":
        from service.training.train import TEST_ARTICLES  # the training module loads torch: only when asked for

        titles = set(TEST_ARTICLES)
    else:
        titles = {t.strip() for t in articles.split(",") if t.strip()}
    questions = [q for q in eval_set.questions if q.kind in titles]
    if not questions:
        raise ValueError(f"no questions from articles {sorted(titles)} in {eval_set.name}")
    keep = {q.paragraph_id for q in questions}
    documents = [d for d in eval_set.documents if d.id in keep]
    return EvalSet(f"{eval_set.name}[{articles}]", questions, documents)


class _Asker:
    """Answers one question in the chosen mode: passages in, result out."""

    def __init__(
        self, eval_set: EvalSet, mode: str, answerer: Answerer, settings: Settings, workdir: Path, progress: bool = True
    ) -> None:
        self.mode = mode
        self.answerer = answerer
        self.top_k = settings.top_k or answerer.top_k
        self.documents = {d.id: d for d in eval_set.documents}
        self.pipeline: QAPipeline | None = None
        if mode == "open":
            # Documents are embedded in float32 as the service stores them; questions at QA_EMBEDDER_PRECISION.
            questions = question_embedder(settings)
            store = IndexStore(workdir)
            builder = IndexBuilder(store, index_embedder(settings, questions), settings.chunking, progress=progress)
            builder.build_documents(eval_set.documents)
            data = store.load()
            self.pipeline = QAPipeline(HybridRetriever(data, questions), answerer, data.documents, self.top_k)

    def passages(self, question: EvalQuestion, asked: str) -> list[Passage]:
        if self.pipeline is not None:
            return self.pipeline.passages(asked, max(RETRIEVAL_DEPTH, self.top_k))
        ids = [question.paragraph_id] if question.paragraph_id else sorted({r.document_id for r in question.references})
        documents = [self.documents[i] for i in ids] or list(self.documents.values())
        return [Passage(d.id, d.title, 0, len(d.text), d.text, 1.0) for d in documents]

    def answer(self, question: EvalQuestion, asked: str) -> tuple[AnswerResult, list[Passage], float]:
        started = time.perf_counter()
        passages = self.passages(question, asked)
        result = self.answerer.answer(asked, passages[: self.top_k] if self.pipeline else passages)
        return result, passages, (time.perf_counter() - started) * 1000

    def resolve(self, question: EvalQuestion) -> str:
        """A follow-up made to stand alone from its earlier turns and the system's own answers to them."""
        if not question.history:
            return question.question
        turns: list[Turn] = []
        for earlier in question.history:
            result, _, _ = self.answer(question, earlier)
            turns += [Turn("user", earlier), Turn("assistant", result.answer.text if result.answer else "")]
        return resolve_followup([*turns, Turn("user", question.question)]).question


def run_eval(
    eval_set: EvalSet, mode: str, settings: Settings, limit: int | None = None, progress: bool = True
) -> tuple[dict, list[Record]]:
    questions = sample(eval_set.questions, limit)
    answerer = load_answerer(settings, given_passages=mode == "reader")
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as workdir:
        asker = _Asker(eval_set, mode, answerer, settings, Path(workdir), progress)
        records = []
        asked_in_turn = track(
            questions, description=f"{eval_set.name} ({mode})", console=console, transient=True, disable=not progress
        )
        for question in asked_in_turn:
            asked = asker.resolve(question)
            result, passages, ms = asker.answer(question, asked)
            records.append(score(question, asked, result.answer, passages, ms))
    figures = {"dataset": eval_set.name, "mode": mode, "answerer": answerer.name, "top_k": asker.top_k}
    return {**figures, **summarize(records, mode)}, records


def load_minimums(thresholds_file: Path, key: str) -> dict[str, float]:
    """The committed minimums for one 'dataset:mode' (keys starting with '_' are notes); read before a run, so a
    missing, malformed or mismatched file is refused at once rather than after the evaluation."""
    try:
        thresholds = json.loads(thresholds_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{thresholds_file}: not valid JSON ({error})") from None
    if not isinstance(thresholds, dict) or key not in thresholds:
        # A gate with nothing to check would pass silently: name the missing section instead.
        sections = sorted(thresholds) if isinstance(thresholds, dict) else []
        raise ValueError(f"{thresholds_file} has no thresholds for {key!r} (it has {sections})")
    section = thresholds[key]
    minimums = (
        {name: value for name, value in section.items() if not name.startswith("_")}
        if isinstance(section, dict)
        else None
    )
    if minimums is None or any(isinstance(v, bool) or not isinstance(v, int | float) for v in minimums.values()):
        raise ValueError(f'{thresholds_file}: {key!r} must map figure names to numbers, e.g. {{"f1": 73.0}}')
    return minimums


def check_thresholds(figures: dict, minimums: dict[str, float]) -> list[str]:
    """The figures that miss their minimum (a figure the run lacks misses it too)."""
    return [
        f"{name} {figures.get(name)} < {minimum}"
        for name, minimum in minimums.items()
        if figures.get(name) is None or figures[name] < minimum
    ]


def print_report(figures: dict, records: list[Record], worst: int = 10) -> None:
    table = Table(title=f"{figures['dataset']} · {figures['mode']} mode · answerer {figures['answerer']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        if name not in {"dataset", "mode", "answerer"}:
            table.add_row(name, str(value))
    out = Console()
    out.print(table)
    misses = sorted((r for r in records if r.f1 < 100), key=lambda r: (r.f1, r.id))[:worst]
    if misses:
        out.print(f"[bold]Worst misses[/bold] ({sum(r.f1 < 100 for r in records)} below F1 100):")
    for record in misses:
        asked = "" if record.asked == record.question else f" (asked as: {escape(record.asked)})"
        expected = " | ".join(record.references) or "(no answer)"
        out.print(
            f"  {record.id} F1 {record.f1:.0f}: {escape(record.question)}{asked}\n"
            f"      predicted: {escape(str(record.prediction))}   expected: {escape(expected)}"
        )


def check_writable(output: Path, example: str = "eval.json") -> None:
    """Refuse, before minutes of work, an --output that cannot be written: a folder (`example` is the file name
    suggested in it), or a place where no file can be made (tried with a temporary file beside it, then removed)."""
    if output.is_dir():
        raise ValueError(f"{output}: a folder; give --output a file name, e.g. {output / example}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output.parent, prefix=f".{output.name}."):
            pass
    except OSError as error:
        raise ValueError(f"{output}: cannot write there ({error.strerror or error})") from None


def run_from_cli(args, settings: Settings) -> int:
    eval_set = merge([load_eval_set(path) for path in args.dataset or [None]])
    if args.articles:
        eval_set = only_articles(eval_set, args.articles)
    minimums = load_minimums(args.thresholds, f"{eval_set.name}:{args.mode}") if args.thresholds else None
    if args.output:
        check_writable(args.output)
    figures, records = run_eval(eval_set, args.mode, settings, args.limit, progress=not args.quiet)
    print_report(figures, records)
    if args.output:
        payload = {**figures, "records": [r.to_json() for r in records]}
        text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        atomic_write(args.output, lambda file: file.write(text.encode("utf-8")))
    if minimums is not None:
        failures = check_thresholds(figures, minimums)
        if failures:
            console.print("[red]eval gate failed:[/red] " + "; ".join(failures))
            return 1
        console.print("[green]eval gate passed[/green]")
    return 0
