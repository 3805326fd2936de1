"""Test support: deterministic stand-ins for the models (no torch, no download), a tiny corpus, span checks."""

import hashlib
import re
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from service.answering.answers import Answer, AnswerResult, Passage, cite, distinct

DIMENSION = 64
WORD = re.compile(r"\w+")
# A number with its unit: "49%", "$10 billion", "350,000", "2016"; never a trailing sentence period.
NUMBERISH = re.compile(r"[$€£]?\d+(?:[.,]\d+)*(?:%|\s(?:billion|million|thousand))?")
NO_SHARED_WORDS = "No passage shares a word with the question."
NO_NUMBER = "The first passage holds no number."


def words(text: str) -> set[str]:
    return {word.lower() for word in WORD.findall(text)}


def _bucket(word: str) -> int:
    # Python's hash() is salted per process; a digest keeps vectors equal across runs.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big") % DIMENSION


class FakeEmbedder:
    """Unit vectors from a hashed bag of lower-cased words; texts sharing words get a higher inner product."""

    def __init__(self, model_id: str = "fake", precision: str = "float32") -> None:
        self.model_id = model_id
        self.precision = precision
        self.dimension = DIMENSION
        self.encoded: list[str] = []

    def load(self) -> "FakeEmbedder":
        return self

    def sharing(self, precision: str) -> "FakeEmbedder":
        """SentenceEmbedder.sharing: the fake's vectors are the same at any precision, so it is its own."""
        return self

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.encoded += texts
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                vectors[row, _bucket(word)] += 1.0
        vectors[~vectors.any(axis=1), 0] = 1.0  # a text without words still gets a unit vector
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class OneAtATime:
    """`answer_many` for a test answerer: its `answer` for each question in turn."""

    def answer_many(self, items: list[tuple[str, list[Passage]]]) -> list[AnswerResult]:
        return [self.answer(question, passages) for question, passages in items]  # type: ignore[attr-defined]


class FakeAnswerer(OneAtATime):
    """Answers with the first number in each passage, best passage first; abstains when no passage shares a word."""

    name = "fake"
    top_k = 10

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        asked = words(question)
        if not any(asked & words(passage.text) for passage in passages):
            return AnswerResult(None, [], NO_SHARED_WORDS)
        candidates: list[Answer] = []
        for rank, passage in enumerate(passages):
            match = NUMBERISH.search(passage.text)
            if match:
                candidates.append(cite(passage, match.start(), match.end(), score=1.0 / (1 + rank)))
            elif rank == 0:
                return AnswerResult(None, [], NO_NUMBER)
        answers = distinct(candidates)
        return AnswerResult(answers[0], answers[1:], None)


TINY_CORPUS = {
    "harbour.txt": (
        "The harbour opened in 1892. Fishing boats still land 300 tonnes of cod each year.\n"
        "The lighthouse keeper retired last spring after 41 years."
    ),
    "orchard.md": (
        "# Orchard notes\n\nThe orchard grows 40 varieties of apple. Cider from the orchard sold out in two weeks.\n\n"
        "Volunteers planted pear trees along the river."
    ),
    "comet.html": (
        "<html><head><title>ignored</title></head><body><h1>Comet sighting</h1>"
        "<p>Astronomers saw the comet on 3 March. It passes the sun every 76 years.</p></body></html>"
    ),
}


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write {name: content} into folder (made if missing) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def assert_exact_spans(client: TestClient, body: dict) -> None:
    """Every answer, context and passage of an /ask body is exactly document_text[start:end] of its document."""
    documents: dict[str, dict] = {}

    def document(document_id: str) -> dict:
        if document_id not in documents:
            response = client.get(f"/documents/{document_id}")
            assert response.status_code == 200, response.text
            documents[document_id] = response.json()
        return documents[document_id]

    answers = [body["answer"], *body["alternatives"]] if body["answer"] else body["alternatives"]
    for answer in answers:
        text = document(answer["document_id"])["text"]
        context = answer["context"]
        assert text[answer["start"] : answer["end"]] == answer["text"]
        assert text[context["start"] : context["end"]] == context["text"]
        assert context["start"] <= answer["start"] < answer["end"] <= context["end"]
        assert answer["title"] == document(answer["document_id"])["title"]
        assert 0 <= answer["score"] <= 1
    for passage in body["passages"]:
        found = document(passage["document_id"])
        assert found["text"][passage["start"] : passage["end"]] == passage["text"]
        assert passage["title"] == found["title"]
