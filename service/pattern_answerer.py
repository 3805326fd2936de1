"""A no-model extractive answerer: guess the answer type, find typed spans in the sentences that match, rank them."""

import math

from service.answer_types import TOKEN, Question, parse_question, word_set, word_stems
from service.answers import AnswerResult, Passage, cite, distinct
from service.candidates import (
    NAME_SOURCES,
    Sentence,
    attributed,
    candidate_spans,
    capitalised_runs,
    is_person_name,
    split_sentences,
)

# Per answer type: what to call it when it is missing, and the candidate sources with their priors, best first.
_SOURCES = {
    kind: (words.replace("_", " "), [(s.split(":")[0], float(s.split(":")[1])) for s in sources.split()])
    for kind, words, sources in (
        line.split(" ", 2)
        for line in """
percent share_or_percentage percent:1
money amount_of_money money:1
count number count:1 quantity:0.9
size size quantity:1 money:0.8 percent:0.6 premodifier:0.7 count:0.5
degree extent premodifier:1 slot:0.3
age age quantity:1 count:0.4
duration period_of_time duration:1
date date date:1
person person person:1 org:0.45 role:0.7 slot:0.3
org organisation org:1 person:0.3 slot:0.1
outlet news_source outlet:1 org:0.2
place place place:1 slot:0.4
role role role:1
reason reason reason:1 slot:0.3
description description quoted:1 slot:0.3
thing name head:1.1 quoted:0.6 slot:0.6
phrase answer quoted:0.8 slot:0.8
""".strip().splitlines()
    )
}
_NUMERIC = word_set("money percent count quantity date duration")
_THRESHOLD = 0.5  # share of the question's weighted terms a sentence (with its passage) must cover to be trusted
_RELATIVE = 0.6  # answers come from sentences nearly as on-topic as the best one, not from any that clear the bar
_MIN_SCORE = 2.2  # below this the best candidate is a guess, and saying so beats a wrong answer


class PatternAnswerer:
    """Answers from typed patterns (amounts, dates, names, clauses) in the sentences that best cover the question."""

    name = "pattern"
    top_k = 10  # "Who founded Scale?" needs depth 10: BM25's stemmer does not match "founded" with "founder"

    def answer_many(self, items: list[tuple[str, list[Passage]]]) -> list[AnswerResult]:
        return [self.answer(question, passages) for question, passages in items]

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        """The shortest typed span that answers the question, or answer=None with the reason."""
        q = parse_question(question)
        sentences = [s for i, p in enumerate(passages) for s in split_sentences(i, p.text)]
        if not sentences or not q.terms:
            return _unknown("no passage was retrieved" if not sentences else "the question names nothing to look up")
        # Overlapping chunks repeat sentences; count each document sentence once when judging how rare a term is.
        unique = {(passages[s.passage].document_id, passages[s.passage].start + s.start): s.bag() for s in sentences}
        df = {t: sum(t in bag for bag in unique.values()) for t in q.terms}
        if absent := [q.surface[t] for t in q.terms if t in q.named and not df[t]]:
            return _unknown(f"no passage mentions {_quote(absent)}")
        weight = {t: math.log(1 + len(unique) / max(df[t], 1)) * (1.6 if t in q.named else 1.0) for t in q.terms}
        total = sum(weight.values())
        support = [(s, *_supported(q, s)) for s in sentences]
        in_passage = {i: set().union(*(p for s, p, _ in support if s.passage == i)) for i in range(len(passages))}
        # Coverage: the sentence's share of the weighted question terms, half credit for the rest of its passage.
        share = lambda terms: sum(weight[t] for t in terms) / total  # noqa: E731
        covered = [
            (share(present) + share(in_passage[s.passage] - present - lost) / 2, s, present)
            for s, present, lost in support
        ]
        best, _, best_present = max(covered, key=lambda c: c[0])
        found = [q.surface[t] for t in q.terms if t in best_present]
        if best < _THRESHOLD:
            missing = [q.surface[t] for t in sorted(set(q.terms) - best_present, key=lambda t: -weight[t])[:3]]
            alongside = f" alongside {_quote(found)}" if found else ""
            return _unknown(f"no passage mentions {_quote(missing)}{alongside}")
        surnames = {
            run.split()[-1]
            for s in sentences
            for run in capitalised_runs(s.text[s.start : s.end])
            if is_person_name(run, set())
        }
        scored: dict[tuple[str, int, int], tuple[float, float, int, int, int]] = {}
        for coverage, s, present in (c for c in covered if c[0] >= max(_THRESHOLD, _RELATIVE * best)):
            for source, prior in _SOURCES[q.kind][1]:
                for a, b in candidate_spans(source, s, q, surnames):
                    score = 1.5 * coverage + prior + 0.3 / (1 + s.passage) + _proximity(s, a, b, present, weight)
                    score += _fit(q, source, s, a, b) - _repetition(q, source, s.text[a:b])
                    key = (passages[s.passage].document_id, passages[s.passage].start + a, b - a)
                    if key not in scored or scored[key][0] < score:
                        scored[key] = (score, coverage * min(prior, 1.0), s.passage, a, b)
        ranked = sorted(scored.values(), key=lambda c: -c[0])
        if not ranked or ranked[0][0] < _MIN_SCORE:
            about = _quote(found) or "the question"
            return _unknown(f"the passages about {about} give no {_SOURCES[q.kind][0]}")
        # Confidence: how well the sentence covers the question, discounted when a rival candidate scores close behind.
        margin = ranked[0][0] - ranked[1][0] if len(ranked) > 1 else 1.0
        first = 0.6 + 0.4 * math.tanh(2 * margin)
        answers = []
        for _, base, p, a, b in ranked[:12]:
            try:
                answers.append(cite(passages[p], a, b, round(min(1.0, base) * (first if not answers else 0.6), 3)))
            except ValueError:
                continue  # nothing left once an unpaired quote mark is trimmed
        answers = distinct(answers)
        if not answers:
            return _unknown(f"the passages about {_quote(found) or 'the question'} give no {_SOURCES[q.kind][0]}")
        return AnswerResult(answers[0], alternatives=answers[1:5])


def _unknown(why: str) -> AnswerResult:
    return AnswerResult(None, reason=f"The articles don't say: {why}.")


def _quote(words: list[str]) -> str:
    return ", ".join(f"“{w}”" for w in words)


def _supported(q: Question, s: Sentence) -> tuple[set[str], set[str]]:
    """Question terms in the sentence, less a possessed noun that belongs to another name ("OpenAI CEO" for "Meta's CEO")."""
    present, lost = s.bag() & set(q.terms), set()
    for noun, owner in q.owners.items():
        rivals = [s.words[k - 1][2] for k in s.spots({noun}) if k > 0 and s.word(k - 1)[0].isupper()]
        if noun in present and owner in q.terms and rivals and all(owner not in stems for stems in rivals):
            present.discard(noun)
            lost.add(noun)
    return present, lost


def _gap(s: Sentence, a: int, b: int, start: int, end: int) -> int:
    """Words between a candidate [a, b) and another stretch [start, end) of the same sentence."""
    low, high = (end, a) if end <= a else (b, start)
    return sum(1 for ws, we, _ in s.words if ws >= low and we <= high)


def _proximity(s: Sentence, a: int, b: int, present: set[str], weight: dict[str, float]) -> float:
    """How close the candidate sits to the question's terms in its sentence, weighted by term rarity."""
    gaps = {t: [_gap(s, a, b, ws, we) for ws, we, stems in s.words if t in stems and not a <= ws < b] for t in present}
    return sum(weight[t] / (1 + min(g) / 2) for t, g in gaps.items() if g) / sum(weight.values())


def _fit(q: Question, source: str, s: Sentence, a: int, b: int) -> float:
    """Context that makes a candidate fit: whose figure it is, the noun a "which X" asks for, a list for "which companies"."""
    if source in _NUMERIC:  # the name just before a figure is usually whose figure it is ("xAI ... each have 300,000")
        runs = capitalised_runs(s.text[s.start : a], spans=True)
        owners = [s.text[s.start + x : s.start + y] for x, y in runs if _gap(s, a, b, s.start + x, s.start + y) <= 8]
        return (
            (0.3 if any(set(word_stems(w)) & q.named for o in owners for w in o.split()) else -0.4) if owners else 0.0
        )
    if source not in NAME_SOURCES:
        return -5.0 if q.needs_name else 0.0
    fit = 0.3 if q.plural and " and " in s.text[a:b] else 0.0
    # The source of a report is not who did what, unless the question asks about the reporting.
    reporting = q.kind == "outlet" or {"say", "report"} & set(q.terms)
    fit -= 0.5 if not reporting and attributed(s.text[s.start : a], s.text[b : s.end]) else 0.0
    inside = [k for k, (ws, we, _) in enumerate(s.words) if ws >= a and we <= b] or [0]
    around = s.words[max(0, inside[0] - 3) : inside[0]] + s.words[inside[-1] + 1 : inside[-1] + 5]
    return fit + (0.5 if any(set(stems) & q.heads for _, _, stems in around) else -5.0 if q.needs_name else 0.0)


def _repetition(q: Question, source: str, span: str) -> float:
    """Penalty for an answer made of the question's own words ("Who founded Scale?" is not "Scale"), and for length."""
    if source in _NUMERIC | {"quantity", "head", "premodifier"}:
        return 0.01 * len(span.split())
    stems = [t for word in TOKEN.findall(span) for t in word_stems(word)]
    share = sum(t in q.terms for t in stems) / len(stems) if stems else 1.0
    scale = 1.5 if source in NAME_SOURCES | {"role"} else 0.8 if source == "slot" else 0.0
    return 5.0 if share == 1 else scale * share + 0.01 * len(span.split())
