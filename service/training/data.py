"""Training data for the span reader: extra negatives, doc-stride windows with labels, length-grouped batches."""

import random
import re
from dataclasses import replace

import numpy as np
import torch

from eval.squad import SquadQuestion
from index.lexical import LexicalIndex, terms
from index.sentences import sentence_around, sentence_spans
from service.reader.span_reader import clipped_questions, question_budget, question_tokenizer
from service.training.candidates import capitalised_runs
from service.training.synthetic import YEAR, name_kind

# Fewer repeated answers than this, all at their first occurrence, may be chance rather than how the offsets were made.
FIRST_OCCURRENCE_EVIDENCE = 50


def first_occurrence_offsets(questions: list[SquadQuestion]) -> bool:
    """Whether a file's answer offsets were derived as each answer text's first occurrence in its paragraph (as in
    `squad-v1.0-train.json`, rebuilt from pages that give no offsets) rather than annotated: at least
    FIRST_OCCURRENCE_EVIDENCE answers occur more than once, and every one of them is at its first occurrence. Annotated
    SQuAD offsets are not: on the dev-article share 29% of the 818 repeated answers are at a later occurrence."""
    repeated = 0
    for question in questions:
        for answer, start in zip(question.answers, question.answer_starts, strict=True):
            if question.context.find(answer) != start:
                return False
            repeated += question.context.count(answer) > 1
    return repeated >= FIRST_OCCURRENCE_EVIDENCE


def relocated_answers(questions: list[SquadQuestion]) -> tuple[list[SquadQuestion], int]:
    """First-occurrence offsets of repeated answers moved to the occurrence whose sentence shares the most question
    words (BM25's terms: stemmed, stop words dropped; ties keep the earlier), with how many moved.

    On the dev-article share, whose offsets are annotated, the 818 answers that occur more than once are at their
    first occurrence 71.1% of the time and at the occurrence chosen this way 80.1% (tests/training/test_training.py
    prints both, in its test on the share).
    In squad-v1.0-train.json 10.9% of the answers repeat and this moves 2,732 of its 87,377: at the share's rates,
    about 1 label in 100 goes from the wrong occurrence to the right one (47 s on 2 cores, once a run).
    """
    moved = 0
    result = []
    for question in questions:
        starts = tuple(
            _best_occurrence(question, answer, start)
            for answer, start in zip(question.answers, question.answer_starts, strict=True)
        )
        moved += sum(new != old for new, old in zip(starts, question.answer_starts, strict=True))
        result.append(question if starts == question.answer_starts else replace(question, answer_starts=starts))
    return result, moved


def _best_occurrence(question: SquadQuestion, answer: str, start: int) -> int:
    context = question.context
    occurrences = [match.start() for match in re.finditer(re.escape(answer), context)]
    if len(occurrences) < 2:
        return start
    sentences = sentence_spans(context)
    around = [sentence_around(sentences, position, position + 1) for position in occurrences]
    # One tokenisation for the question and every occurrence's sentence.
    wanted, *found = (set(words) for words in terms([question.question, *(context[b:e] for b, e in around)]))
    return max(zip(occurrences, found, strict=True), key=lambda pair: (len(wanted & pair[1]), -pair[0]))[0]


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


def with_retrieved_negatives(
    questions: list[SquadQuestion], rate: float, rng: random.Random, pool: list[SquadQuestion] | None = None
) -> list[SquadQuestion]:
    """Add unanswerable pairs: a question with the other paragraph of its article that BM25 ranks first for it.

    What retrieval hands the reader beside the right passage: on the topic, sharing the question's words, without the
    answer. Open use picks a span across such passages by their margins, so the reader must learn to rate them below
    the right one. Paragraphs come from `pool` (default: `questions`), e.g. the whole training set when `questions` is
    a sample of it. A question is left without one when its best other paragraph contains an answer's text: that
    paragraph may well answer it too.
    """
    if rate <= 0:
        return questions  # and draw nothing from `rng`, so runs without them stay as they were
    others = OtherParagraphs(questions if pool is None else pool)
    extra = []
    for question in questions:
        if not question.answerable or rng.random() >= rate:
            continue
        ranked = others.ranked(question)
        context = ranked[0] if ranked else None  # None: no other paragraph shares a word
        if context is not None and not any(answer in context for answer in question.answers):
            extra.append(SquadQuestion(question.id + "-near", question.title, -1, context, question.question, (), ()))
    return questions + extra


class OtherParagraphs:
    """The other paragraphs of a question's article, best first by BM25 against the question: what retrieval puts
    beside the right passage."""

    def __init__(self, pool: list[SquadQuestion]) -> None:
        self.paragraphs: dict[str, list[str]] = {}
        for title, context in dict.fromkeys((q.title, q.context) for q in pool):
            self.paragraphs.setdefault(title, []).append(context)
        self.indexes: dict[str, LexicalIndex] = {}

    def ranked(self, question: SquadQuestion) -> list[str]:
        """Those sharing a word with the question (after stop words), best first, its own paragraph left out."""
        contexts = self.paragraphs.get(question.title, [])
        if question.title not in self.indexes:
            self.indexes[question.title] = LexicalIndex(contexts)
        scores = self.indexes[question.title].scores(question.question)
        order = np.argsort(-scores, kind="stable")
        return [contexts[i] for i in order if scores[i] > 0 and contexts[i] != question.context]


def companion_contexts(
    questions: list[SquadQuestion], count: int, pool: list[SquadQuestion] | None = None
) -> dict[str, list[str]]:
    """For each answerable question, by id, the `count` other paragraphs of its article that BM25 ranks best and that
    hold no answer's text: the passages a shared-normalisation loss weighs its answer against (`featurize`)."""
    if count <= 0:
        return {}
    others = OtherParagraphs(questions if pool is None else pool)
    chosen = {}
    for question in questions:
        if question.answerable:
            ranked = [c for c in others.ranked(question) if not any(answer in c for answer in question.answers)]
            if ranked[:count]:
                chosen[question.id] = ranked[:count]
    return chosen


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


def _kind(name: str) -> str:
    return "year" if YEAR.fullmatch(name) else name_kind(name)


def swapped(question: str, context: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one name or year that its paragraph states replaced by another of the same kind (person,
    other name, year) from elsewhere in the article, which the paragraph doesn't state."""
    slots = [
        (a, b)
        for a, b in capitalised_runs(question, spans=True)
        if a > 0 and question[a:b] in context and not re.match(r"\s*\d", question[b:])
    ]
    slots += [(m.start(), m.end()) for m in YEAR.finditer(question) if m.group() in context]
    if not slots:
        return None
    a, b = rng.choice(slots)
    lowered = context.lower() + " " + question.lower()
    choices = [c for c in pool.get(_kind(question[a:b]), []) if c.lower() not in lowered]
    if not choices:
        return None
    return question[:a] + rng.choice(choices) + question[b:]


def with_swapped_negatives(questions: list[SquadQuestion], rate: float, rng: random.Random) -> list[SquadQuestion]:
    """Add unanswerable pairs: an answerable question with a name or year swapped for another of its article's.

    The entity swap of SQuAD 2.0's writers ("In what year was Fort Coligny built?" over a paragraph about another
    fort): the passage is on topic and has an answer of the right type, but not for the thing now asked about.
    """
    if rate <= 0:
        return questions  # and draw nothing from `rng`, so runs without swaps stay as they were
    found: dict[str, dict[str, set[str]]] = {}
    for title, context in dict.fromkeys((q.title, q.context) for q in questions):
        kinds = found.setdefault(title, {})
        for start, end in sentence_spans(context):
            sentence = context[start:end]
            runs = [sentence[a:b] for a, b in capitalised_runs(sentence, spans=True) if a > 0]  # not a first word
            for name in [*runs, *YEAR.findall(sentence)]:
                if len(name) > 2:
                    kinds.setdefault(_kind(name), set()).add(name)
    pools = {title: {kind: sorted(names) for kind, names in kinds.items()} for title, kinds in found.items()}
    extra = []
    for question in questions:
        if not question.answerable or rng.random() >= rate:
            continue
        text = swapped(question.question, question.context, pools[question.title], rng)
        if text:
            extra.append(SquadQuestion(question.id + "-swap", question.title, -1, question.context, text, (), ()))
    return questions + extra


def featurize(
    questions: list[SquadQuestion],
    tokenizer,
    max_length: int,
    stride: int,
    companions: dict[str, list[str]] | None = None,
) -> list[dict]:
    """Doc-stride windows with start/end token labels; windows without the answer point at [CLS]. Questions are cut
    to the reader's question_budget as it reads them (64 tokens at the shipped 256 and 96; no SQuAD question is that
    long: 61 tokens at most).

    `companions` (question id -> other paragraphs, `companion_contexts`): each window that holds the question's answer
    carries, under "companions", the windows of the question with each of those paragraphs, which `batch_loss` reads
    in the same pass and weighs the answer against."""
    features = _windows(questions, tokenizer, max_length, stride)
    by_question: dict[str, list[dict]] = {}
    if companions:
        paired = [
            SquadQuestion(f"{q.id}-companion", q.title, -1, context, q.question, (), ())
            for q in questions
            for context in companions.get(q.id, ())
        ]
        for feature in _windows(paired, tokenizer, max_length, stride):
            by_question.setdefault(feature.pop("question_id").removesuffix("-companion"), []).append(feature)
    for feature in features:
        question_id = feature.pop("question_id")
        if feature["references"] and question_id in by_question:
            feature["companions"] = by_question[question_id]
    return features


def _windows(questions: list[SquadQuestion], tokenizer, max_length: int, stride: int) -> list[dict]:
    budget = question_budget(max_length, stride)
    asked = clipped_questions(question_tokenizer(tokenizer), [q.question for q in questions], budget)
    encoding = tokenizer(
        asked,
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
        context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
        first, last = context_tokens[0], context_tokens[-1]
        references = []  # (start token, end token) of every reference answer inside this window
        for answer, answer_start in zip(question.answers, question.answer_starts, strict=True):
            answer_end = answer_start + len(answer)
            if offsets[first][0] <= answer_start and offsets[last][1] >= answer_end:
                references.append(
                    (
                        next(i for i in context_tokens if offsets[i][1] > answer_start),
                        max(i for i in context_tokens if offsets[i][0] < answer_end),
                    )
                )
            else:
                references.append(None)
        start_label, end_label = references[0] if references and references[0] else (0, 0)
        features.append(
            {
                "input_ids": encoding["input_ids"][window],
                "token_type_ids": encoding["token_type_ids"][window],
                "start_positions": start_label,
                "end_positions": end_label,
                "references": [r for r in references if r],
                "question_id": question.id,
            }
        )
    return features


def reference_targets(batch: list[dict], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft start and end targets: each window's reference answers, weighted by how many annotators marked each
    boundary (SQuAD 1.1 has up to three), or [CLS] for a window that holds none."""
    starts = torch.zeros((len(batch), width))
    ends = torch.zeros((len(batch), width))
    for row, feature in enumerate(batch):
        for start, end in feature["references"] or [(0, 0)]:
            starts[row, start] += 1
            ends[row, end] += 1
    return starts / starts.sum(1, keepdim=True), ends / ends.sum(1, keepdim=True)


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
