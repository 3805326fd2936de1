"""Reading SQuAD v1.1 / v2.0 JSON into flat question records."""

import json
from dataclasses import dataclass
from pathlib import Path


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
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path}: not SQuAD JSON (expected a top-level 'data' list)")
    questions = []
    for article in data["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        title=article["title"],
                        paragraph=number,
                        context=context,
                        question=qa["question"],
                        answers=tuple(answer["text"] for answer in answers),
                        answer_starts=tuple(answer["answer_start"] for answer in answers),
                    )
                )
    return questions
