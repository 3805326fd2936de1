"""The span reader's model card, written beside its weights from the training report."""

_NEGATIVES = {
    "shuffled_negatives": "the question with another paragraph of its article",
    "answer_removed_negatives": "the question with its own paragraph minus the sentence that holds the answer",
    "swapped_negatives": "a name or year of the question swapped for another of its article that the paragraph lacks",
    "retrieved_negatives": "the question with the other paragraph of its article that BM25 ranks first for it",
}


def _negatives(training: dict) -> str:
    """The kinds of synthetic unanswerable examples a run used, with their rates (older reports lack some kinds)."""
    return "; ".join(f"{text} (rate {training[key]})" for key, text in _NEGATIVES.items() if training.get(key))


def _rates(training: dict) -> str:
    """Layer-wise learning-rate decay, where a run used it (older reports predate the option)."""
    decay = training.get("layer_decay", 1.0)
    return f" (×{decay} per layer below the span head)" if decay != 1.0 else ""


def _cloze(training: dict) -> str:
    if not training.get("cloze_per_paragraph"):
        return ""
    return (
        f", after a warm-up stage over template cloze questions from the training paragraphs (up to"
        f" {training['cloze_per_paragraph']} per paragraph; `service/training/synthetic.py`)"
    )


def _answerable(training: dict) -> str:
    """What stage answerable read: every answerable question, or a random sample of them (a shorter later pass)."""
    if training.get("epochs") == 0:
        return "skipped (`--epochs 0`): this pass started from weights that had read them"
    if training.get("answerable_sample"):
        return f"a random sample of {training['answerable_sample']} of the answerable training questions"
    return "every answerable training question"


def _abstain_start(training: dict) -> str:
    return "the pass's base model" if training.get("epochs") == 0 else "`answerable`"


def _targets(training: dict) -> str:
    return "every reference answer (soft targets)" if training.get("all_references") else "the first reference answer"


def _offsets(training: dict) -> str:
    """How a run treated the SQuAD 1.0 file's first-occurrence answer offsets (older reports predate the option)."""
    if training.get("relocate_first_occurrences"):
        return (
            "; in a file whose offsets are each answer's first occurrence (squad-v1.0-train.json), an answer that occurs"
            " more than once is placed at the occurrence whose sentence shares the most question words"
        )
    return ""


def _relocation(training: dict) -> str:
    return " --no-relocate-first-occurrences" if training.get("relocate_first_occurrences") is False else ""


def _plan(report: dict) -> str:
    """A run's stages: windows, epochs and learning rate of each."""
    training = report["training"]
    stages = report.get("stages") or [
        {
            "name": "squad",
            "windows": report["train_windows"],
            "epochs": training["epochs"],
            "learning_rate": training["learning_rate"],
        }
    ]
    return "; ".join(
        f"{stage['name']}: {stage['windows']} windows × {stage['epochs']} epoch(s) at lr {stage['learning_rate']}"
        for stage in stages
    )


def _runs(report: dict) -> list[dict]:
    """The runs that made these weights, the first one first: the earlier passes a run started from, then itself."""
    runs = [report]
    while runs[0].get("base_reader"):
        runs.insert(0, runs[0]["base_reader"])
    return runs


def _base(report: dict) -> str:
    runs = _runs(report)
    first = runs[0]["training"]["base_model"]
    if len(runs) == 1:
        return f"{first}: a 6-layer uncased BERT (hidden 384), with a fresh span head."
    earlier = "; then ".join(
        f"{_plan(run)}, seed {run['training']['seed']}, {run['train_seconds']} s" for run in runs[:-1]
    )
    return (
        f"{first} (a 6-layer uncased BERT, hidden 384), fine-tuned here in {len(runs)} passes, each from the weights of"
        f" the one before, span head included. Before this one: {earlier}. This one: the stages below."
    )


SQUAD_FILES = (
    "../shared/data/squad/squad-v1.0-train.json ../shared/data/squad/squad-v1.1-train.json \\\n"
    "        ../shared/data/squad/squad-v2.0-train.json"
)


def _companions(training: dict) -> str:
    count = training.get("retrieved_companions")
    if not count:
        return ""
    return (
        f"\n  - In both, each answerable question was also read beside the {count} other paragraphs of its article that"
        " BM25 ranks best for it (without the answer's text), under one softmax with its own window, [CLS] left out"
        " (shared normalisation, `stages.shared_loss`)."
    )


def _passes(training: dict) -> str:
    """The options of a pass that read a stage other than once (a pass of stage abstain alone: `--epochs 0`)."""
    return "".join(
        f" --{key.replace('_', '-')} {training[key]}"
        for key in ("epochs", "abstain_epochs")
        if training.get(key, 1) != 1
    )


def _retrieved(training: dict) -> str:
    rate, companions = training.get("retrieved_negatives"), training.get("retrieved_companions")
    return (f" --retrieved-negatives {rate}" if rate else "") + (
        f" --retrieved-companions {companions}" if companions else ""
    )


def _reproduce(report: dict) -> str:
    """The commands that made these weights, one a pass, each pass from the weights of the one before."""
    runs = _runs(report)
    if len(runs) == 1:
        return f"    qa train-reader {SQUAD_FILES}"
    commands = []
    for number, run in enumerate(runs, start=1):
        training = run["training"]
        base = f" --base-model var/reader-pass{number - 1}" if number > 1 else ""
        output = f" --output var/reader-pass{number}" if number < len(runs) else ""
        sample = f" --answerable-sample {training['answerable_sample']}" if training.get("answerable_sample") else ""
        abstain = f" --abstain-answerable {training['abstain_answerable']}" if "abstain_answerable" in training else ""
        options = (
            f"{base}{_passes(training)} --learning-rate {training['learning_rate']} --seed {training['seed']}{sample}"
            f"{abstain}{_retrieved(training)}{_relocation(training)}{output}"
        )
        commands.append(f"    qa train-reader {SQUAD_FILES} \\\n        {options.strip()}")
    return "\n".join(commands)


def _figures_precision(report: dict) -> str:
    """The precision the figures below were computed in."""
    if report["bf16_inference"]:
        return (
            "bfloat16 was used for the figures below (float32 weights under bfloat16 autocast, at the end of training"
            " and with `--calibrate-only`; serving loads bfloat16 weights, which make the same choices, tested)"
        )
    return (
        "the figures below were computed in float32 (the CPU that calibrated them has no native bfloat16; a CPU"
        " that has it serves bfloat16 weights against these float32-calibrated thresholds)"
    )


def _early_exit(report: dict) -> str:
    """The open early exit, for readers calibrated with one (older reports read every passage)."""
    calibrated = report["open_calibration"]
    if report.get("open_exit_margin") is None or "read_first" not in calibrated:
        return ""
    return (
        f"\n  Open use reads a question's first {calibrated['read_first']} passages alone, and its other passages only"
        f" where no span of those has a margin over {report['open_exit_margin']:.3f}: the smallest exit margin at which"
        f" it answered as reading every passage does on at least {calibrated['exit_agreement']:.0%} of the calibration"
        " questions (abstentions are the same either way)."
    )


def _answered_from_first(open_test: dict, open_calibration: dict) -> str:
    if "answered_from_first" not in open_test or "read_first" not in open_calibration:
        return ""
    return (
        f"\nAnswered from their first {open_calibration['read_first']} passages alone: "
        f"{open_test['answered_from_first']:.0%} of the test questions, "
        f"{open_calibration['answered_from_first']:.0%} of the calibration questions.\n"
    )


def model_card(report: dict, calibration_articles: tuple[str, ...], test_articles: tuple[str, ...]) -> str:
    """The model card: what the weights are, what they were trained on, how, and what they score."""
    open_test = report["open_test"]
    return f"""# Span reader (extractive QA), MiniLM-L6 fine-tuned on SQuAD

{_training_card(report, calibration_articles, test_articles)}- No-answer rule: answer when best span score − no-answer score > {report["null_threshold"]:.3f} (logit units), the
  threshold that maximised F1 on the calibration articles. In open use (retrieved passages, `top_k` {open_test["top_k"]}) each span
  is judged against its own window's no-answer score, with a threshold of its own ({report["open_null_threshold"]:.3f}),
  calibrated the same way on retrieval over the calibration articles' paragraphs.{_early_exit(report)}

{_reproduction(report)}`--calibrate-only` keeps the weights and only recalibrates both thresholds and rewrites these figures (a few minutes).

{_figures(report)}"""


def _training_card(report: dict, calibration_articles: tuple[str, ...], test_articles: tuple[str, ...]) -> str:
    """Base, data, stages, weights and hyperparameters; for weights that carry no training report (a stage's folder
    from a checkpoint run, say), a line that says so and the articles the figures use."""
    articles = (
        f"calibration articles {', '.join(calibration_articles)} (no-answer thresholds, progress figures); test articles"
        f" {', '.join(test_articles)} (never trained or calibrated on)"
    )
    if "training" not in report:
        return (
            "- Training: not recorded with these weights (their reader_config.json holds no training report, as in a"
            f" stage's folder); {_figures_precision(report)}.\n- Figures: {articles}.\n"
        )
    training = report["training"]
    unfinished = (
        f"- **Weights of an unfinished run**, exported at {report['unfinished']}, after {report['train_seconds']} s"
        " of training; the stages below are the run's plan, and its figures are these weights' own.\n"
        if report.get("unfinished")
        else ""
    )
    return f"""{unfinished}- Base model: {_base(report)}
- Data: the SQuAD files in ../shared/data/squad (CC BY-SA 4.0; Rajpurkar et al.): the SQuAD 1.0 training set and the
  v1.1 / v2.0 dev-article share, by whole article: calibration articles {", ".join(calibration_articles)} (no-answer
  thresholds, progress figures); test articles {", ".join(test_articles)} (never trained or calibrated on); every other
  article for training.
- Stages ({_plan(report)}):
  - `answerable`: {_answerable(training)}{_cloze(training)};
  - `abstain`, from the weights of {_abstain_start(training)}: every question of the articles with written SQuAD 2.0 unanswerables,
    a sample of other answerable questions, and extra unanswerable examples made from the answerable ones:
    {_negatives(training)}.{_companions(training)}
- Weights: fp16 safetensors, loaded as bfloat16 where the CPU runs it natively, else as float32; {_figures_precision(report)}; `QA_READER_PRECISION=int8` quantises its Linear layers to int8 at load instead (float32 activations; not the
  precision of the figures below). Licence of the fine-tuned weights follows the data: CC BY-SA 4.0.
- Hyperparameters: batch {training["batch_size"]}, AdamW{_rates(training)} with {training["warmup_ratio"]:.0%} linear warm-up then linear decay per stage,
  weight decay {training["weight_decay"]}, max length {training["max_length"]} with doc stride {training["stride"]}, dynamic padding over
  length-grouped batches, bfloat16 autocast on CPUs that support it, span targets {_targets(training)}{_offsets(training)}, seed {training["seed"]};
  {report["train_windows"]} training windows in all, {report["train_seconds"]} s of training.
"""


def _reproduction(report: dict) -> str:
    if "training" not in report:
        return ""
    seconds = sum(run["train_seconds"] for run in _runs(report))
    return f"""Reproduce (training took {seconds / 3600:.1f} hours in all on this project's 2-core CPU machine, calibration a few minutes
more; a run writes a checkpoint every ten minutes and `--resume` continues it after an interruption):

{_reproduce(report)}

"""


def _figures(report: dict) -> str:
    test, calibration = report["test"], report["calibration"]
    open_test, open_calibration = report["open_test"], report["open_calibration"]
    return f"""## Figures (reader mode: the gold paragraph given)

| split | questions | exact match | F1 | HasAns F1 | NoAns accuracy |
|---|---|---|---|---|---|
| test articles | {test["questions"]} | {test["exact_match"]:.1f} | {test["f1"]:.1f} | {test["has_ans_f1"]:.1f} | {test["no_ans_accuracy"]:.1f} |
| calibration articles | {calibration["questions"]} | {calibration["exact_match"]:.1f} | {calibration["f1"]:.1f} | {calibration["has_ans_f1"]:.1f} | {calibration["no_ans_accuracy"]:.1f} |

## Figures (open mode: passages retrieved from the split's own paragraphs, `top_k` {open_test["top_k"]})

| split | questions | exact match | F1 | HasAns F1 | NoAns accuracy |
|---|---|---|---|---|---|
| test articles | {open_test["questions"]} | {open_test["exact_match"]:.1f} | {open_test["f1"]:.1f} | {open_test["has_ans_f1"]:.1f} | {open_test["no_ans_accuracy"]:.1f} |
| calibration articles | {open_calibration["questions"]} | {open_calibration["exact_match"]:.1f} | {open_calibration["f1"]:.1f} | {open_calibration["has_ans_f1"]:.1f} | {open_calibration["no_ans_accuracy"]:.1f} |
{_answered_from_first(open_test, open_calibration)}
HasAns F1 if the reader never abstained: {test["has_ans_f1_never_abstaining"]:.1f} (test).
"""
