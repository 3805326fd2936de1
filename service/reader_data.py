"""Training data for the span reader: extra negatives, doc-stride windows with labels, length-grouped batches."""

import random

import torch

from eval.squad import SquadQuestion
from index.sentences import sentence_spans


def with_shuffled_negatives(questions: list[SquadQuestion], rate: float, rng: random.Random) -> list[SquadQuestion]:
    """Add unanswerable pairs: a question with another paragraph of its own article (a near-topic distractor)."""
    paragraphs: dict[str, list[str]] = {}
    for question in questions:
        contexts = paragraphs.setdefault(question.title, [])
        if not contexts or contexts[-1] != question.context:
            contexts.append(question.context)
    extra = []
    for question in questions:
        others = [c for c in paragraphs[question.title] if c != question.context]
        if question.answerable and others and rng.random() < rate:
            context = rng.choice(others)
            if not any(answer in context for answer in question.answers):
                extra.append(
                    SquadQuestion(question.id + "-neg", question.title, -1, context, question.question, (), ())
                )
    return questions + extra


def with_answer_removed_negatives(
    questions: list[SquadQuestion], rate: float, rng: random.Random
) -> list[SquadQuestion]:
    """Add unanswerable pairs: an answerable question with its own paragraph minus the sentence(s) holding the answer.

    The hardest kind of "the articles don't say": the passage is on the very topic, names the same people and things,
    and only the fact asked for is missing.
    """
    extra = []
    for question in questions:
        if not question.answerable or rng.random() >= rate:
            continue
        start = question.answer_starts[0]
        end = start + len(question.answers[0])
        kept = [(a, b) for a, b in sentence_spans(question.context) if b <= start or a >= end]
        context = " ".join(question.context[a:b].strip() for a, b in kept).strip()
        if context and not any(answer.lower() in context.lower() for answer in question.answers):
            extra.append(
                SquadQuestion(question.id + "-removed", question.title, -1, context, question.question, (), ())
            )
    return questions + extra


def featurize(questions: list[SquadQuestion], tokenizer, max_length: int, stride: int) -> list[dict]:
    """Doc-stride windows with start/end token labels; windows without the answer point at [CLS]."""
    encoding = tokenizer(
        [q.question for q in questions],
        [q.context for q in questions],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for window, owner in enumerate(encoding["overflow_to_sample_mapping"]):
        question = questions[owner]
        sequence_ids = encoding.sequence_ids(window)
        offsets = encoding["offset_mapping"][window]
        start_label = end_label = 0
        if question.answerable:
            answer_start = question.answer_starts[0]
            answer_end = answer_start + len(question.answers[0])
            context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
            first, last = context_tokens[0], context_tokens[-1]
            if offsets[first][0] <= answer_start and offsets[last][1] >= answer_end:
                start_label = next(i for i in context_tokens if offsets[i][1] > answer_start)
                end_label = max(i for i in context_tokens if offsets[i][0] < answer_end)
        features.append(
            {
                "input_ids": encoding["input_ids"][window],
                "token_type_ids": encoding["token_type_ids"][window],
                "start_positions": start_label,
                "end_positions": end_label,
            }
        )
    return features


def length_grouped_batches(features: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of similar length, so dynamic padding wastes little compute."""
    order = list(range(len(features)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: len(features[i]["input_ids"]))
        batches += [[features[i] for i in chunk[b : b + batch_size]] for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(f["input_ids"]) for f in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    token_type_ids = torch.zeros((len(batch), width), dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, feature in enumerate(batch):
        length = len(feature["input_ids"])
        input_ids[row, :length] = torch.tensor(feature["input_ids"])
        token_type_ids[row, :length] = torch.tensor(feature["token_type_ids"])
        attention_mask[row, :length] = 1
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type_ids,
        "attention_mask": attention_mask,
        "start_positions": torch.tensor([f["start_positions"] for f in batch]),
        "end_positions": torch.tensor([f["end_positions"] for f in batch]),
    }
