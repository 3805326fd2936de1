"""Integrity checks for the gold question-answering evaluation set (eval/gold.jsonl)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "eval" / "gold.jsonl"
CORPUS = ROOT / "index" / "corpus"

KINDS = {
    "percentage",
    "money",
    "count",
    "date",
    "person",
    "organisation",
    "unit",
    "reason",
    "role",
    "other",
    "unanswerable",
    "followup",
}


def load_records():
    records = []
    with GOLD.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            assert isinstance(record, dict), f"line {lineno}: not a JSON object"
            records.append(record)
    return records


RECORDS = load_records()


def doc_text(document_id):
    return (CORPUS / f"{document_id}.txt").read_text(encoding="utf-8")


def test_record_shape():
    for r in RECORDS:
        rid = r.get("id")
        assert isinstance(rid, str) and rid, f"record without id: {r!r}"
        assert isinstance(r.get("question"), str) and r["question"].strip(), f"{rid}: empty question"
        assert isinstance(r.get("answers"), list), f"{rid}: answers is not a list"
        assert r.get("kind") in KINDS, f"{rid}: unknown kind {r.get('kind')!r}"


def test_ids_unique():
    seen = set()
    for r in RECORDS:
        assert r["id"] not in seen, f"{r['id']}: duplicate id"
        seen.add(r["id"])


def test_answer_offsets_match_document_text():
    cache = {}
    for r in RECORDS:
        for a in r["answers"]:
            doc_id = a["document_id"]
            path = CORPUS / f"{doc_id}.txt"
            assert path.is_file(), f"{r['id']}: unknown document {doc_id!r}"
            if doc_id not in cache:
                cache[doc_id] = doc_text(doc_id)
            text = cache[doc_id]
            start, end = a["start"], a["end"]
            assert isinstance(start, int) and isinstance(end, int), f"{r['id']}: non-integer offsets"
            assert 0 <= start < end <= len(text), f"{r['id']}: offsets {start}:{end} out of range"
            assert text[start:end] == a["text"], (
                f"{r['id']}: {doc_id}[{start}:{end}] is {text[start:end]!r}, expected {a['text']!r}"
            )


def test_answerable_records_have_answers():
    for r in RECORDS:
        if r["kind"] == "unanswerable":
            assert r["answers"] == [], f"{r['id']}: unanswerable record has answers"
        else:
            assert len(r["answers"]) >= 1, f"{r['id']}: answerable record has no answers"


def test_histories_are_non_empty_string_lists():
    standalone = {r["question"] for r in RECORDS if "history" not in r}
    for r in RECORDS:
        if "history" not in r:
            continue
        h = r["history"]
        assert isinstance(h, list) and h, f"{r['id']}: history must be a non-empty list"
        for turn in h:
            assert isinstance(turn, str) and turn.strip(), f"{r['id']}: history turn {turn!r} is not a string"
            assert turn in standalone, f"{r['id']}: history turn {turn!r} has no standalone record"


def test_counts():
    total = len(RECORDS)
    unanswerable = sum(1 for r in RECORDS if r["kind"] == "unanswerable")
    with_history = sum(1 for r in RECORDS if "history" in r)
    assert total >= 60, f"only {total} questions"
    assert unanswerable >= 15, f"only {unanswerable} unanswerable questions"
    assert with_history >= 10, f"only {with_history} questions with history"
