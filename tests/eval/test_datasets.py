"""load_eval_set: the JSONL gold set over the bundled articles, SQuAD JSON as one document per paragraph, clear errors."""

import json
import re
from pathlib import Path

import pytest

from eval.datasets import GOLD_SET, EvalQuestion, EvalSet, Reference, load_eval_set, merge
from index.documents import BUNDLED_CORPUS, Document, load_documents

SQUAD_TINY = Path(__file__).parents[1] / "fixtures" / "squad_tiny.json"
UNANSWERABLE_ID = "afacb9b64aafd8eb7d9abd9d5"  # "What was the ship of John of London called?", Harvard paragraph 0


def gold_lines() -> list[dict]:
    return [json.loads(line) for line in GOLD_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def squad_raw() -> dict:
    return json.loads(SQUAD_TINY.read_text(encoding="utf-8"))


def test_gold_set_is_the_default_and_counts_match_the_file() -> None:
    lines = gold_lines()

    gold = load_eval_set(None)

    assert gold.name == "gold"
    assert [q.id for q in gold.questions] == [line["id"] for line in lines]
    assert sum(not q.answerable for q in gold.questions) == sum(not line["answers"] for line in lines) > 0
    assert sum(bool(q.history) for q in gold.questions) == sum("history" in line for line in lines) > 0
    assert sorted(d.id for d in gold.documents) == sorted(d.id for d in load_documents([BUNDLED_CORPUS]))
    assert load_eval_set(GOLD_SET) == gold


def test_gold_followup_keeps_its_history() -> None:
    questions = {q.id: q for q in load_eval_set(GOLD_SET).questions}

    followup = questions["c001"]

    assert followup.question == "Which unit did he join?"
    assert followup.history == ("Who founded Scale?",)
    assert followup.kind == "followup"
    assert followup.paragraph_id is None
    assert followup.references[0] == Reference("superintelligence", "000_5391de805404b0fb", 580, 597)


def test_gold_unanswerable_has_no_references() -> None:
    questions = {q.id: q for q in load_eval_set(GOLD_SET).questions}

    assert questions["n001"] == EvalQuestion(
        "n001", "What is Scale AI's annual revenue?", references=(), history=(), kind="unanswerable"
    )
    assert not questions["n001"].answerable


def test_gold_references_are_exact_spans_of_the_bundled_articles() -> None:
    gold = load_eval_set(GOLD_SET)
    texts = {d.id: d.text for d in gold.documents}

    for question in gold.questions:
        for reference in question.references:
            assert texts[reference.document_id][reference.start : reference.end] == reference.text, question.id


def test_squad_gives_one_document_per_paragraph_titled_by_article() -> None:
    raw = squad_raw()

    squad = load_eval_set(SQUAD_TINY)

    assert squad.name == "squad_tiny"
    assert [(d.id, d.title, d.source) for d in squad.documents] == [
        ("Harvard-University-p000", "Harvard University", "squad_tiny.json"),
        ("Harvard-University-p001", "Harvard University", "squad_tiny.json"),
        ("Computational-complexity-theory-p000", "Computational complexity theory", "squad_tiny.json"),
        ("Computational-complexity-theory-p001", "Computational complexity theory", "squad_tiny.json"),
    ]
    contexts = [p["context"] for article in raw["data"] for p in article["paragraphs"]]
    assert [d.text for d in squad.documents] == contexts


def test_squad_questions_keep_article_paragraph_and_every_reference() -> None:
    raw = squad_raw()
    raw_questions = [qa for article in raw["data"] for p in article["paragraphs"] for qa in p["qas"]]

    squad = load_eval_set(SQUAD_TINY)

    assert [(q.id, q.question) for q in squad.questions] == [(qa["id"], qa["question"]) for qa in raw_questions]
    assert [len(q.references) for q in squad.questions] == [len(qa["answers"]) for qa in raw_questions]
    assert {q.kind for q in squad.questions} == {"Harvard_University", "Computational_complexity_theory"}
    founding = next(q for q in squad.questions if q.id == "e0a1dbc5243689eb8bcd31358")
    assert founding.references == (
        Reference("Massachusetts Bay Colony", "Harvard-University-p000", 73, 97),
        Reference("Great and General Court of the Massachusetts Bay Colony", "Harvard-University-p000", 42, 97),
        Reference("Great and General Court of the Massachusetts Bay Colony", "Harvard-University-p000", 42, 97),
    )


def test_squad_reference_offsets_are_exact_spans_of_their_paragraph() -> None:
    squad = load_eval_set(SQUAD_TINY)
    texts = {d.id: d.text for d in squad.documents}

    for question in squad.questions:
        for reference in question.references:
            assert reference.document_id == question.paragraph_id
            assert texts[reference.document_id][reference.start : reference.end] == reference.text


def test_squad_unanswerable_has_no_references_but_keeps_its_paragraph() -> None:
    squad = load_eval_set(SQUAD_TINY)

    unanswerable = [q for q in squad.questions if not q.answerable]

    assert [q.id for q in unanswerable] == [UNANSWERABLE_ID]
    assert unanswerable[0].references == ()
    assert unanswerable[0].paragraph_id == "Harvard-University-p000"
    assert unanswerable[0].kind == "Harvard_University"


def test_squad_v1_and_impossible_answers_lists(tmp_path: Path) -> None:
    """v1.1 has no is_impossible; a v2.0 impossible question may still list answers, and they are not references."""
    context = "Wang founded Scale in 2016."
    data = {
        "data": [
            {
                "title": "Scale_AI",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {"id": "v1", "question": "When?", "answers": [{"text": "2016", "answer_start": 22}]},
                            {
                                "id": "v2",
                                "question": "Who sold Scale?",
                                "answers": [{"text": "Wang", "answer_start": 0}],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    squad = load_eval_set(path)

    assert squad.questions == [
        EvalQuestion("v1", "When?", (Reference("2016", "Scale-AI-p000", 22, 26),), (), "Scale_AI", "Scale-AI-p000"),
        EvalQuestion("v2", "Who sold Scale?", (), (), "Scale_AI", "Scale-AI-p000"),
    ]


def test_wrong_suffix_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("id,question\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"gold\.csv: expected a \.jsonl gold set or a SQuAD \.json file"):
        load_eval_set(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.jsonl: no such dataset file"):
        load_eval_set(tmp_path / "missing.jsonl")


def test_json_that_is_not_squad_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"questions": []}', encoding="utf-8")

    with pytest.raises(ValueError, match=r"other\.json: not SQuAD JSON"):
        load_eval_set(path)


SCALE_PARAGRAPH = {"context": "Wang founded Scale in 2016.", "qas": [{"id": "q1", "question": "When?", "answers": []}]}


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"data": [{"title": "x"}]}', "article 1 has no 'paragraphs'"),
        ('{"data": [1]}', "article 1 is not an object"),
        ('{"data": [{"paragraphs": []}]}', "article 1 has no 'title'"),
        (
            json.dumps({"data": [{"title": "x", "paragraphs": [{**SCALE_PARAGRAPH, "context": None}]}]}),
            "article 1 ('x'), paragraph 1: 'context' is not a string",
        ),
        (
            json.dumps({"data": [{"title": "x", "paragraphs": [SCALE_PARAGRAPH, {"context": "c"}]}]}),
            "article 1 ('x'), paragraph 2 has no 'qas'",
        ),
        (
            json.dumps({"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": [{"question": "Who?"}]}]}]}),
            "article 1 ('x'), paragraph 1, question 1 has no 'id'",
        ),
        (
            json.dumps(
                {
                    "data": [
                        {
                            "title": "x",
                            "paragraphs": [
                                {"context": "c", "qas": [{"id": "q1", "question": "Who?", "answers": [{"text": "c"}]}]}
                            ],
                        }
                    ]
                }
            ),
            "question 'q1', answer 1 has no 'answer_start'",
        ),
        ("not json", "not JSON: Expecting value at line 1 column 1"),
        ('{"data": {"title": "x"}}', "expected a top-level 'data' list"),
    ],
)
def test_malformed_squad_names_the_file_and_what_is_wrong(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match=re.escape(f"{path}: not SQuAD JSON ({what})")):
        load_eval_set(path)


def test_a_dataset_that_is_not_utf8_names_the_file_and_the_byte(tmp_path: Path) -> None:
    for name, expected in (("bad.jsonl", "not a gold set of JSON lines"), ("bad.json", "not SQuAD JSON")):
        path = tmp_path / name
        path.write_bytes(b'{"id": "g1"}\n\xff\n')

        with pytest.raises(ValueError, match=re.escape(f"{path}: {expected} (byte 0xff at offset 13 is not UTF-8)")):
            load_eval_set(path)


GOOD_LINE = '{"id": "g1", "question": "Who?", "answers": [], "kind": "unanswerable"}'


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"id": "g2", "question": ',  # truncated JSON
        '{"id": "g2", "answers": []}',  # no question
        '{"id": "g2", "question": "Who?", "answers": [{"text": "Wang", "start": 0, "end": 4}]}',  # no document_id
        '{"id": "g2", "question": "Who?", "answers": ["Wang"]}',  # an answer that is not an object
        # Valid JSON that is not an object must be named too, not surface as an AttributeError.
        "[]",
        '"Who founded Scale?"',
        "null",
    ],
)
def test_malformed_gold_line_names_its_line_number(tmp_path: Path, bad_line: str) -> None:
    path = tmp_path / "bad.jsonl"
    # The blank line still counts, so the bad record is line 3 of the file.
    path.write_text(f"{GOOD_LINE}\n\n{bad_line}\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"bad\.jsonl:3: not a gold record"):
        load_eval_set(path)


def test_merge_joins_squad_sets_and_keeps_a_single_set_as_it_is() -> None:
    squad = load_eval_set(SQUAD_TINY)
    other = EvalSet("other", [EvalQuestion("x1", "Why?", (), paragraph_id="Other-p000")], [])

    merged = merge([squad, other])

    assert merged.name == "squad_tiny+other"
    assert [q.id for q in merged.questions] == [q.id for q in squad.questions] + ["x1"]
    assert merged.documents == squad.documents
    assert merge([squad]) is squad


def test_merge_refuses_two_files_whose_paragraph_ids_hold_different_texts() -> None:
    squad = load_eval_set(SQUAD_TINY)
    first = squad.documents[0]
    other = EvalSet("other", [], [Document(first.id, first.title, "other.json", first.text + " More.")])

    with pytest.raises(ValueError, match=rf"both have a paragraph '{first.id}', with different text"):
        merge([squad, other])
    assert merge([squad, squad]).documents == squad.documents  # the same paragraph twice is kept once


def test_merge_refuses_the_gold_set() -> None:
    with pytest.raises(ValueError, match="only SQuAD files can be merged"):
        merge([load_eval_set(GOLD_SET), load_eval_set(SQUAD_TINY)])
