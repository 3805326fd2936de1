"""SQuAD metrics: normalisation as the official v2 script does it, exact match, token F1, best-of-references, abstention."""

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.metrics import best_score, exact_match, f1, normalize_answer


def official_normalize_answer(s: str) -> str:
    """normalize_answer from the official SQuAD v2.0 evaluation script, verbatim but for names."""

    def remove_articles(text: str) -> str:
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Cat's  hat!", "cats hat"),
        ("An apple, a day", "apple day"),
        ("THE", ""),
        ("  tabs\tand\nnewlines  ", "tabs and newlines"),
        ("49%", "49"),
        ("$10 billion", "10 billion"),
        ("U.S.A.", "usa"),
        ("Kent-Brown", "kentbrown"),
        ("(the) end.", "end"),
        # Articles only as whole words: "theory", "anathema" and "Athens" keep their letters.
        ("theory of anathema in Athens", "theory of anathema in athens"),
        # Punctuation goes before articles, so "the/a" fuses into one word that is no article.
        ("the/a", "thea"),
        # string.punctuation is ASCII only: curly quotes and dashes stay, as in the official script.
        ("“superintelligence” unit", "“superintelligence” unit"),
        ("Harvard–Yale", "harvard–yale"),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected
    assert official_normalize_answer(raw) == expected


# Pieces that exercise every step: articles whole and inside words, case, ASCII and non-ASCII punctuation, whitespace.
PIECES = st.sampled_from(
    ["a", "an", "the", "The", "A", "theory", "x", " ", "\t", "\n", ".", ",", "'", "!", "-", "“", "–"]
)


@given(st.lists(PIECES, max_size=20).map("".join))
def test_normalize_answer_agrees_with_the_official_script(raw: str) -> None:
    assert normalize_answer(raw) == official_normalize_answer(raw)


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The Cat.", "cat", 1.0),
        ("a  Massachusetts Bay colony", "Massachusetts Bay Colony", 1.0),
        ("cats", "cat", 0.0),
        ("Bay Colony", "Massachusetts Bay Colony", 0.0),
        ("", "", 1.0),
        ("the", "", 1.0),
        ("", "cat", 0.0),
    ],
)
def test_exact_match(prediction: str, reference: str, expected: float) -> None:
    assert exact_match(prediction, reference) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        # quick, brown, fox against quick, fox, jumps: 2 shared tokens, precision 2/3, recall 2/3.
        ("the quick brown fox", "quick fox jumps", 2 / 3),
        # 3 of 8 reference tokens, all prediction tokens: precision 1, recall 3/8, F1 = 2 * 3/8 / (11/8) = 6/11.
        ("Massachusetts Bay Colony", "Great and General Court of the Massachusetts Bay Colony", 6 / 11),
        # A repeated token counts once per occurrence in the reference: precision 1/3, recall 1, F1 1/2.
        ("fox fox fox", "fox", 0.5),
        ("Yale University", "Harvard College", 0.0),
        ("The Yale University!", "yale university", 1.0),
        ("", "", 1.0),
        ("a the", "!", 1.0),
        ("", "Yale", 0.0),
        ("Yale", "", 0.0),
        ("Yale", "the", 0.0),
    ],
)
def test_f1(prediction: str, reference: str, expected: float) -> None:
    assert f1(prediction, reference) == pytest.approx(expected)


REFERENCES = ["Great and General Court of the Massachusetts Bay Colony", "Massachusetts Bay Colony"]


@pytest.mark.parametrize(
    ("metric", "prediction", "expected"),
    [
        (exact_match, "the Massachusetts Bay Colony", 1.0),
        (exact_match, "Bay Colony", 0.0),
        (f1, "Massachusetts Bay Colony", 1.0),
        # Against the long reference: 2 * 1 * 2/8 / (1 + 2/8) = 0.4; against the short one: 2 * 1 * 2/3 / (5/3) = 0.8.
        (f1, "Bay Colony", 0.8),
        (f1, "General Court", 2 * (2 / 8) / (1 + 2 / 8)),
        (f1, "Harvard", 0.0),
    ],
)
def test_best_score_takes_the_best_reference(metric, prediction: str, expected: float) -> None:
    assert best_score(metric, prediction, REFERENCES) == pytest.approx(expected)
    assert best_score(metric, prediction, list(reversed(REFERENCES))) == pytest.approx(expected)


@pytest.mark.parametrize("metric", [exact_match, f1])
def test_abstention_is_right_only_without_references(metric) -> None:
    assert best_score(metric, None, []) == 1.0
    assert best_score(metric, "", []) == 1.0
    assert best_score(metric, None, ["Yale"]) == 0.0
    assert best_score(metric, None, REFERENCES) == 0.0
    assert best_score(metric, "Yale", []) == 0.0
