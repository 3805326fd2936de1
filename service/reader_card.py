"""The span reader's model card, written beside its weights from the training report."""


def model_card(report: dict, calibration_articles: tuple[str, ...], test_articles: tuple[str, ...]) -> str:
    """The model card: what the weights are, what they were trained on, how, and what they score."""
    training = report["training"]
    test, calibration = report["test"], report["calibration"]
    return f"""# Span reader (extractive QA), MiniLM-L6 fine-tuned on a SQuAD share

- Base model: {training["base_model"]}: a 6-layer uncased BERT (hidden 384), with a fresh span head.
- Data: the SQuAD v1.1 / v2.0 share in ../shared/data/squad (CC BY-SA 4.0; Rajpurkar et al.), by whole article:
  calibration articles {", ".join(calibration_articles)} (early stopping, no-answer threshold);
  test articles {", ".join(test_articles)} (never trained or calibrated on); all other articles for training,
  plus question/paragraph pairs shuffled within an article as extra unanswerable examples (rate {training["shuffled_negatives"]}).
- Weights: fp16 safetensors, loaded as float32 on the CPU. Licence of the fine-tuned weights follows the data: CC BY-SA 4.0.
- Hyperparameters: {training["epochs"]} epochs max (best: epoch {calibration["epoch"]}), batch {training["batch_size"]},
  AdamW lr {training["learning_rate"]} with {training["warmup_ratio"]:.0%} linear warm-up then linear decay, weight decay
  {training["weight_decay"]}, max length {training["max_length"]} with doc stride {training["stride"]}, dynamic padding over
  length-grouped batches, seed {training["seed"]}; {report["train_windows"]} training windows, {report["train_seconds"]} s.
- No-answer rule: answer when best span score − no-answer score > {report["null_threshold"]:.3f} (logit units), the
  threshold that maximised F1 on the calibration articles.

Reproduce (about an hour on 2 CPU cores):

    qa train-reader ../shared/data/squad/squad-v1.1-train.json ../shared/data/squad/squad-v2.0-train.json

## Figures (reader mode: the gold paragraph given)

| split | questions | exact match | F1 | HasAns F1 | NoAns accuracy |
|---|---|---|---|---|---|
| test articles | {test["questions"]} | {test["exact_match"]:.1f} | {test["f1"]:.1f} | {test["has_ans_f1"]:.1f} | {test["no_ans_accuracy"]:.1f} |
| calibration articles | {calibration["questions"]} | {calibration["exact_match"]:.1f} | {calibration["f1"]:.1f} | {calibration["has_ans_f1"]:.1f} | {calibration["no_ans_accuracy"]:.1f} |

HasAns F1 if the reader never abstained: {test["has_ans_f1_never_abstaining"]:.1f} (test).
"""
