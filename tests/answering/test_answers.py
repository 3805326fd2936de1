"""cite() turns a span of a passage into exact document offsets; distinct() drops repeats."""

import pytest

from service.answering.answers import Answer, Context, Passage, cite, distinct

DOCUMENT = (
    "Scale AI labels data.\n"
    "The OpenAI spokesperson’s confirmation came days after Meta took a 49% stake in Scale and hired its founder, "
    "Alexandr Wang, to join Meta’s new “superintelligence” unit. Wang founded Scale in 2016. "
    "Meta is in talks to invest: up to $10 billion; the deal is large."
)


def passage(text: str, document: str = DOCUMENT, document_id: str = "scale") -> Passage:
    start = document.index(text)
    return Passage(document_id, "Scale", start, start + len(text), text, score=0.5)


def span_of(haystack: str, needle: str) -> tuple[int, int]:
    start = haystack.index(needle)
    return start, start + len(needle)


def assert_cited_as(document: str, raw: str, expected: str) -> None:
    """The span `raw` of a passage holding the whole document is cited as `expected`, at its exact offsets."""
    cited = cite(passage(document, document=document), *span_of(document, raw), score=1.0)

    assert cited.text == expected
    assert document[cited.start : cited.end] == expected


def answer(text: str, document_id: str = "d", start: int = 0, score: float = 0.5) -> Answer:
    return Answer(text, document_id, "T", start, start + len(text), score, Context(text, start, start + len(text)))


def test_cite_maps_passage_offsets_to_document_offsets() -> None:
    chunk = passage(DOCUMENT[DOCUMENT.index("The OpenAI") :])

    cited = cite(chunk, *span_of(chunk.text, "49%"), score=0.9)

    sentence = DOCUMENT[DOCUMENT.index("The OpenAI") : DOCUMENT.index("unit.") + len("unit.")]
    assert cited == Answer(
        text="49%",
        document_id="scale",
        title="Scale",
        start=DOCUMENT.index("49%"),
        end=DOCUMENT.index("49%") + 3,
        score=0.9,
        context=Context(sentence, DOCUMENT.index("The OpenAI"), DOCUMENT.index("The OpenAI") + len(sentence)),
    )
    assert DOCUMENT[cited.start : cited.end] == cited.text
    assert DOCUMENT[cited.context.start : cited.context.end] == cited.context.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 49% ", "49%"),
        (", Alexandr Wang, ", "Alexandr Wang"),
        (": up to $10 billion;", "up to $10 billion"),
        ("\nThe OpenAI ", "The OpenAI"),
        ("“superintelligence”", "“superintelligence”"),  # quotes belong to the answer
        ("“superintelligence", "superintelligence"),  # ... but not one whose partner the span leaves out
        ("new “superintelligence”", "new “superintelligence”"),
        ("superintelligence” unit", "“superintelligence” unit"),  # a mark inside: its partner next to the span joins
        ("superintelligence”", "superintelligence"),
    ],
)
def test_cite_trims_whitespace_and_edge_punctuation(raw: str, expected: str) -> None:
    chunk = passage(DOCUMENT)

    cited = cite(chunk, *span_of(chunk.text, raw), score=1.0)

    assert cited.text == expected
    assert DOCUMENT[cited.start : cited.end] == expected
    assert cited.context.text in DOCUMENT
    assert DOCUMENT[cited.context.start : cited.context.end] == cited.context.text
    assert cited.context.start <= cited.start < cited.end <= cited.context.end


def test_context_is_the_enclosing_sentence_of_a_mid_document_passage() -> None:
    chunk = passage("Wang founded Scale in 2016. Meta is in talks to invest: up to $10 billion; the deal is large.")

    cited = cite(chunk, *span_of(chunk.text, "2016"), score=0.7)

    assert cited.context.text == "Wang founded Scale in 2016."
    assert (cited.start, cited.end) == span_of(DOCUMENT, "2016")
    assert (cited.context.start, cited.context.end) == span_of(DOCUMENT, "Wang founded Scale in 2016.")


def test_span_across_sentences_gets_both_as_context() -> None:
    chunk = passage("Wang founded Scale in 2016. Meta is in talks to invest: up to $10 billion; the deal is large.")

    cited = cite(chunk, *span_of(chunk.text, "2016. Meta"), score=0.7)

    assert cited.context.text == chunk.text
    assert DOCUMENT[cited.context.start : cited.context.end] == chunk.text


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 5), (6, 5), (0, 10_000)])
def test_cite_refuses_spans_outside_the_passage(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="outside a passage"):
        cite(passage("Wang founded Scale in 2016."), start, end, score=1.0)


def test_cite_refuses_a_span_of_only_punctuation() -> None:
    chunk = passage("founder, Alexandr Wang, to join")

    with pytest.raises(ValueError, match="only whitespace or punctuation"):
        cite(chunk, *span_of(chunk.text, ", "), score=1.0)


def test_distinct_drops_overlapping_spans_of_one_document() -> None:
    best = answer("$10 billion", start=100)
    overlapping = answer("up to $10", start=94)
    inside = answer("10", start=101)
    touching = answer("the deal", start=111)  # starts where the best one ends: no overlap

    assert distinct([best, overlapping, inside, touching]) == [best, touching]


def test_distinct_drops_the_same_words_anywhere() -> None:
    best = answer("Alexandr Wang", document_id="a", start=10)
    same_words = answer("alexandr  Wang", document_id="b", start=500)
    other_document = answer("Meta", document_id="b", start=10)

    assert distinct([best, same_words, other_document]) == [best, other_document]


def test_distinct_keeps_order_and_handles_nothing() -> None:
    answers = [answer("2016", start=0), answer("49%", start=10), answer("350,000", start=20)]

    assert distinct(answers) == answers
    assert distinct([]) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Project Omni', "Project Omni"),
        ('"Project Omni" (2024)', '"Project Omni" (2024)'),
        ('Omni" (2024', 'Omni" (2024)'),  # marks inside stay; a partner right after the span is taken in
        ("(2024", "2024"),
        ("2024)", "2024"),
    ],
)
def test_cite_drops_an_edge_quote_or_bracket_without_its_partner(raw: str, expected: str) -> None:
    document = 'Meta named it "Project Omni" (2024) in a memo.'
    assert_cited_as(document, raw, expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("superintelligence” unit", "“superintelligence” unit"),  # the opening mark right before the span
        ("Wednesday (June 18", "Wednesday (June 18)"),  # the closing bracket right after it
        ('said "we will', 'said "we will"'),
        ("(June 18) and Meta’s new “superintelligence", "(June 18) and Meta’s new “superintelligence”"),
        ("stake (about half", "stake (about half"),  # its partner is further away: the span stays as it is
    ],
)
def test_cite_takes_in_the_partner_of_an_inner_mark_when_it_is_the_next_character(raw: str, expected: str) -> None:
    document = (
        "Bloomberg reported Wednesday (June 18) and Meta’s new “superintelligence” unit grew. "
        'He said "we will" and took a stake (about half of it).'
    )
    assert_cited_as(document, raw, expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jose", "Jose\u0301"),  # the tokenizer gives the decomposed accent no offsets: 'jose' is 0-4
        ("\u0301 Ramos", "e\u0301 Ramos"),  # a span that starts on a mark takes in its letter
        ("Jose\u0301 Ramos", "Jose\u0301 Ramos"),
    ],
)
def test_cite_keeps_the_combining_marks_of_its_edge_letters(raw: str, expected: str) -> None:
    document = "Jose\u0301 Ramos won in Sa\u0303o Paulo."
    assert_cited_as(document, raw, expected)
