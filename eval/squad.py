"""Reading SQuAD v1.1 / v2.0 JSON into flat question records."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SquadError(ValueError):
    """A file that cannot be read as SQuAD JSON; the message names the file and says what is wrong."""


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    title: str
    paragraph: int
    context: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_squad(path: Path) -> list[SquadQuestion]:
    """Every question of a SQuAD file, with its paragraph; unanswerable ones have no answers."""
    data = read_json_file(path, "not SQuAD JSON", SquadError)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SquadError(f"{path}: not SQuAD JSON (expected a top-level 'data' list)")
    try:
        return _questions(data["data"])
    except _Malformed as error:
        raise SquadError(f"{path}: not SQuAD JSON ({error})") from None


def read_json_file(path: Path, refusal: str, error: type[ValueError] = ValueError) -> object:
    """A JSON file's value; one that is not UTF-8 or not JSON raises `error`: "PATH: REFUSAL (where and why)"."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as cause:
        raise error(f"{path}: {refusal} ({not_utf8(cause)})") from None
    except json.JSONDecodeError as cause:
        raise error(f"{path}: {refusal} ({not_json(cause)})") from None


def not_utf8(error: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8, e.g. "byte 0xff at offset 0 is not UTF-8"."""
    return f"byte 0x{error.object[error.start]:02x} at offset {error.start} is not UTF-8"


def not_json(error: json.JSONDecodeError) -> str:
    """Where a file stops being JSON, e.g. "not JSON: Expecting value at line 1 column 1"."""
    return f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"


class _Malformed(Exception):
    """A field missing or of the wrong type, and where it is; load_squad adds the file name."""


_KINDS = {list: "a list", str: "a string", int: "a whole number"}


def _field(record: object, key: str, kind: type, where: str) -> Any:
    if not isinstance(record, dict):
        raise _Malformed(f"{where} is not an object")
    if key not in record:
        raise _Malformed(f"{where} has no {key!r}")
    if not isinstance(record[key], kind):
        raise _Malformed(f"{where}: {key!r} is not {_KINDS[kind]}")
    return record[key]


def _questions(articles: list) -> list[SquadQuestion]:
    questions = []
    for article_number, article in enumerate(articles, start=1):
        title = _field(article, "title", str, f"article {article_number}")
        for number, paragraph in enumerate(_field(article, "paragraphs", list, f"article {article_number}")):
            where = f"article {article_number} ({title!r}), paragraph {number + 1}"
            context = _field(paragraph, "context", str, where)
            for question_number, qa in enumerate(_field(paragraph, "qas", list, where), start=1):
                question_id = _field(qa, "id", str, f"{where}, question {question_number}")
                question = _field(qa, "question", str, f"question {question_id!r}")
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                if not isinstance(answers, list):
                    raise _Malformed(f"question {question_id!r}: 'answers' is not a list")
                spans = [
                    (
                        _field(answer, "text", str, f"question {question_id!r}, answer {k}"),
                        _field(answer, "answer_start", int, f"question {question_id!r}, answer {k}"),
                    )
                    for k, answer in enumerate(answers, start=1)
                ]
                questions.append(
                    SquadQuestion(
                        id=question_id,
                        title=title,
                        paragraph=number,
                        context=context,
                        question=question,
                        answers=tuple(text for text, _ in spans),
                        answer_starts=tuple(start for _, start in spans),
                    )
                )
    return questions
