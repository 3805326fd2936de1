"""The follow-up resolver: pronouns, ellipses and fragments filled in from earlier turns, nothing else touched."""

import pytest

from service.chat.followup import Resolution, Turn, answer_text, resolve_followup
from service.chat.mentions import mentions
from service.chat.verbs import FiniteVerb, finite_verb, same_verb


def conversation(*contents: str | None) -> list[Turn]:
    """Alternating user and assistant turns; None stands for an assistant turn that was never sent."""
    roles = ["user", "assistant"] * len(contents)
    return [Turn(role, text) for role, text in zip(roles, contents, strict=False) if text is not None]


def test_he_is_the_person_who_answered_the_previous_question() -> None:
    turns = conversation("Who founded Scale AI?", "Alexandr Wang", "Which unit did he join at Meta?")
    assert resolve_followup(turns) == Resolution(
        question="Which unit did Alexandr Wang join at Meta?",
        original="Which unit did he join at Meta?",
        note="'he' read as 'Alexandr Wang', the answer to question 1",
    )


def test_and_company_swaps_the_company_in_the_previous_question() -> None:
    turns = conversation("How many H100 chips does Meta have?", "around 350,000", "And OpenAI?")
    assert resolve_followup(turns) == Resolution(
        question="How many H100 chips does OpenAI have?",
        original="And OpenAI?",
        note="question 1 asked again with 'OpenAI' for 'Meta'",
    )


def test_it_is_the_company_when_the_answer_is_a_year() -> None:
    turns = conversation(
        "When was Scale founded?", "2016 — Meta in talks to invest [003_x, 10–14]", "Who invested $1 billion in it?"
    )
    assert resolve_followup(turns) == Resolution(
        question="Who invested $1 billion in Scale?",
        original="Who invested $1 billion in it?",
        note="'it' read as 'Scale', from question 1",
    )


def test_a_question_that_stands_alone_is_unchanged() -> None:
    turns = conversation("Who founded Scale AI?", "Alexandr Wang", "What is the capital of France?")
    assert resolve_followup(turns) == Resolution(
        "What is the capital of France?", "What is the capital of France?", None
    )


def test_a_first_question_is_unchanged_even_with_a_pronoun() -> None:
    question = "When was it first reported that Meta was weighing an investment in Scale?"
    assert resolve_followup(conversation(question)) == Resolution(question, question, None)


def test_a_possessive_agreeing_with_the_wh_subject_stays() -> None:
    question = "Which company is phasing out its involvement with Scale AI?"
    turns = conversation("How much of Scale did Meta buy?", "a 49% stake", question)
    assert resolve_followup(turns) == Resolution(question, question, None)


@pytest.mark.parametrize(
    ("history", "follow_up", "resolved"),
    [
        # An unrelated article: a bakery chain, its founder and its yearly figures.
        (
            ["Who founded Crumb & Co?", "Priya Natarajan"],
            "Where did she train as a baker?",
            "Where did Priya Natarajan train as a baker?",
        ),
        (["Who runs Northwind Bakeries?", "Tomas Berg"], "What is his title?", "What is Tomas Berg's title?"),
        (
            ["How many loaves did Northwind Bakeries sell in 2019?", "1.2 million"],
            "and in 2020?",
            "How many loaves did Northwind Bakeries sell in 2020?",
        ),
        (
            ["How many loaves did Northwind Bakeries sell?", "1.2 million"],
            "What about Crumb & Co?",
            "How many loaves did Crumb & Co sell?",
        ),
        (
            ["Who is the chief executive of Northwind Bakeries?", "Tomas Berg"],
            "Where is its headquarters?",
            "Where is Northwind Bakeries' headquarters?",
        ),
        (
            ["What did Northwind Bakeries open in Leeds?", "a flagship store"],
            "How big is it?",
            "How big is the flagship store?",
        ),
        (
            ["How much did Northwind Bakeries pay for Crumb & Co?", "$12 million"],
            "And who did they hire from it?",
            "Who did Northwind Bakeries hire from Crumb & Co?",
        ),
        (
            ["Which company bought Crumb & Co?", "Northwind Bakeries"],
            "When did that company open?",
            "When did Northwind Bakeries open?",
        ),
        (
            ["Which bakery is closing its Leeds store?", "Crumb & Co"],
            "Why?",
            "Why is Crumb & Co closing its Leeds store?",
        ),
        (
            ["How much did Northwind Bakeries invest in ovens?", "$3 million"],
            "In which year?",
            "In which year did Northwind Bakeries invest in ovens?",
        ),
        (["Who is the head baker?", None], "When did he start?", "When did the head baker start?"),
        (["Who founded Crumb & Co?", "Ada Price"], "Why?", "Why did Ada Price found Crumb & Co?"),
        (
            ["Which bakery did Greggs take a stake in?", "Crumb & Co"],
            "How much did they take?",
            "How much did Greggs take?",
        ),
        (
            ["Which bakery did Greggs take a stake in?", "Crumb & Co"],
            "When was it founded?",
            "When was Crumb & Co founded?",
        ),
        (["Which bakery did Greggs buy?", "Crumb & Co"], "Why did it buy so many?", "Why did Greggs buy so many?"),
        (["Which bakery did Greggs buy?", "Crumb & Co"], "What does it sell?", "What does Crumb & Co sell?"),
        (["Which bakery chain bought Crumb & Co?", "Northwind"], "When?", "When did Northwind buy Crumb & Co?"),
        (
            ["What company runs the Leeds store?", "Greggs"],
            "Since when?",
            "Since when does Greggs run the Leeds store?",
        ),
        (["Who studied the deal?", "two analysts"], "When?", "When did two analysts study the deal?"),
        (["Who is the head of Greggs?", "Ada Price"], "Why?", "Why is Ada Price the head of Greggs?"),
        (["What was the bakery's biggest market?", "Leeds"], "Why?", "Why was Leeds the bakery's biggest market?"),
        (["What is Greggs building?", "a bakery"], "Why?", "Why is Greggs building?"),
        (["What is the capital of Sweden?", "Stockholm"], "Why?", "Why is Stockholm the capital of Sweden?"),
        (["Who was the king of England?", "Henry"], "Why?", "Why was Henry the king of England?"),
        (
            ["What is the tallest building in Leeds?", "Bridgewater"],
            "Why?",
            "Why is Bridgewater the tallest building in Leeds?",
        ),
        (["What was Crumb & Co valued at?", "$3 million"], "When?", "When was Crumb & Co valued at?"),
    ],
)
def test_follow_ups_about_an_unrelated_article(history: list, follow_up: str, resolved: str) -> None:
    resolution = resolve_followup(conversation(*history, follow_up))
    assert (resolution.question, resolution.original) == (resolved, follow_up)
    assert resolution.note


def test_chained_ellipses_build_on_the_resolved_question() -> None:
    turns = conversation(
        "How many H100 chips does Meta have?",
        "around 350,000",
        "And OpenAI?",
        "approximately 300,000",
        "What about xAI?",
    )
    resolution = resolve_followup(turns)
    assert (resolution.question, resolution.note) == (
        "How many H100 chips does xAI have?",
        "question 2 asked again with 'xAI' for 'OpenAI'",
    )


def test_an_abstention_gives_no_referent() -> None:
    turns = conversation("Who is the head baker?", "The articles don't say. Closest passages: ...", "What did he bake?")
    assert resolve_followup(turns).question == "What did the head baker bake?"


def test_answer_text_drops_the_citation() -> None:
    assert answer_text("a 49% stake — OpenAI phases out work [000_5391de805404b0fb, 501–512]") == "a 49% stake"
    assert answer_text("Alexandr Wang\n\n(Answered as: “Who founded Scale AI?”)") == "Alexandr Wang"
    assert answer_text("The articles don't say. Closest passages: ...") is None


def test_mentions_are_typed_generically() -> None:
    text = "Did Sam Altman say OpenAI paid $1 billion for 49% of Zed Labs on June 12, 2019, or 300 X200 chips in 2020?"
    assert [(m.text, m.kind, m.subject) for m in mentions(text)] == [
        ("Sam Altman", "person", True),
        ("OpenAI", "name", False),
        ("$1 billion", "money", False),
        ("49%", "percent", False),
        ("Zed Labs", "name", False),
        ("June 12, 2019", "date", False),
        ("300", "number", False),
        ("X200", "code", False),
        ("2020", "year", False),
    ]


def test_there_must_be_a_user_message() -> None:
    with pytest.raises(ValueError, match="no user message"):
        resolve_followup([Turn("assistant", "Hello")])


def test_those_offers_are_the_offers_of_the_previous_answer() -> None:
    turns = conversation("What did Sam Altman accuse Meta of?", "giant offers", "How much were those offers worth?")
    assert resolve_followup(turns) == Resolution(
        question="How much were the giant offers worth?",
        original="How much were those offers worth?",
        note="'those offers' read as 'the giant offers', the answer to question 1",
    )


@pytest.mark.parametrize(
    ("answer", "question"),
    [
        ("making “giant offers” of $100 million", "How much were the giant offers worth?"),
        ("a 49% stake", "When was the 49% stake bought?"),
    ],
)
def test_a_demonstrative_takes_the_answers_noun_phrase_without_its_verb(answer: str, question: str) -> None:
    follow_up = "How much were those offers worth?" if "offers" in answer else "When was that stake bought?"
    turns = conversation("What happened?", answer, follow_up)
    assert resolve_followup(turns).question == question


@pytest.mark.parametrize(
    "answer",
    ["Alexandr Wang", "offers", None],
)
def test_a_demonstrative_stays_when_the_answer_has_nothing_to_add(answer: str | None) -> None:
    turns = conversation("What did Sam Altman accuse Meta of?", answer, "How much were those offers worth?")
    assert resolve_followup(turns).question == "How much were those offers worth?"


@pytest.mark.parametrize("reply", ["Thanks", "Thank You", "Yes", "Great!", "Hello", "Interesting."])
def test_a_reply_that_asks_nothing_is_left_as_it_is(reply: str) -> None:
    turns = conversation("How much did Northwind Bakeries pay for Crumb & Co?", "$12 million", reply)

    assert resolve_followup(turns) == Resolution(reply, reply, None)


def test_a_lone_name_asked_as_a_question_is_an_ellipsis() -> None:
    turns = conversation("How many loaves did Northwind Bakeries sell?", "1.2 million", "Greggs?")

    assert resolve_followup(turns).question == "How many loaves did Greggs sell?"


def test_what_about_a_name_in_lower_case_swaps_it_in_rather_than_grafting_the_phrase() -> None:
    turns = conversation("How many loaves did Northwind Bakeries sell?", "1.2 million", "what about greggs")

    resolution = resolve_followup(turns)

    assert resolution.question == "How many loaves did greggs sell?"
    assert resolution.note == "question 1 asked again with 'greggs' for 'Northwind Bakeries'"


@pytest.mark.parametrize(
    "question",
    [
        "How long did it take Northwind Bakeries to open the store?",
        "Why is it important that Northwind Bakeries bought Crumb & Co?",
        "When did it become clear that the Leeds store would close?",
        "What is it like to work at Greggs?",
    ],
)
def test_an_it_that_refers_to_nothing_is_left_as_it_is(question: str) -> None:
    turns = conversation("Which company bought Crumb & Co?", "Northwind Bakeries", question)

    assert resolve_followup(turns) == Resolution(question, question, None)


def test_a_title_of_a_company_keeps_the_title_when_the_company_is_swapped() -> None:
    turns = conversation("Who is the CEO of Northwind Bakeries?", "Tomas Berg", "And Greggs?")

    assert resolve_followup(turns).question == "Who is the CEO of Greggs?"
    assert [m.text for m in mentions("Who is the chief executive of Northwind Bakeries?")] == ["Northwind Bakeries"]
    assert [m.text for m in mentions("Who founded the University of Leeds?")] == ["University of Leeds"]


def test_her_before_an_adverb_is_an_object_not_a_possessive() -> None:
    turns = conversation("Who runs Crumb & Co?", "Priya Natarajan", "Did Greggs offer her more?")

    assert resolve_followup(turns).question == "Did Greggs offer Priya Natarajan more?"


@pytest.mark.parametrize(
    ("follow_up", "resolved"),
    [
        ("When did they join?", "When did Priya Natarajan and Tomas Berg join?"),
        ("What are their roles?", "What are Priya Natarajan and Tomas Berg's roles?"),
    ],
)
def test_they_after_an_answer_naming_people_are_those_people(follow_up: str, resolved: str) -> None:
    turns = conversation("Which bakers did Greggs hire from Crumb & Co?", "Priya Natarajan and Tomas Berg", follow_up)

    assert resolve_followup(turns).question == resolved


def test_what_about_a_list_of_names_swaps_in_the_whole_list() -> None:
    turns = conversation("How many loaves did Northwind Bakeries sell?", "1.2 million", "What about Greggs and Pret?")

    assert resolve_followup(turns).question == "How many loaves did Greggs and Pret sell?"


@pytest.mark.parametrize(
    ("fragment", "resolved"),
    [
        ("Why?", "Why did Greggs invest in Crumb & Co?"),
        ("When?", "When did Greggs invest in Crumb & Co?"),
        ("How much?", "How much did Greggs invest in Crumb & Co?"),
    ],
)
def test_a_wh_fragment_after_a_yes_no_question_asks_about_all_of_it(fragment: str, resolved: str) -> None:
    turns = conversation("Did Greggs invest in Crumb & Co?", "Yes", fragment)

    assert resolve_followup(turns).question == resolved


def test_which_after_a_yes_no_question_is_left_as_it_is() -> None:
    turns = conversation("Did Greggs buy Crumb & Co?", "Yes", "Which company?")

    assert resolve_followup(turns).question == "Which company?"


@pytest.mark.parametrize(
    ("history", "follow_up", "resolved"),
    [
        (
            ["Which bakery did Greggs buy?", "Crumb & Co"],
            "Did it become profitable?",
            "Did Crumb & Co become profitable?",
        ),
        (["Which bakery did Greggs buy?", "Crumb & Co"], "Who was it sold to?", "Who was Crumb & Co sold to?"),
        (
            ["Who runs Crumb & Co?", "Priya Natarajan"],
            "What was her first job?",
            "What was Priya Natarajan's first job?",
        ),
    ],
)
def test_an_it_or_her_that_refers_back_is_still_resolved(history: list, follow_up: str, resolved: str) -> None:
    assert resolve_followup(conversation(*history, follow_up)).question == resolved


@pytest.mark.parametrize("follow_up", ["And today?", "And thanks!", "what about today", "what about last year"])
def test_a_time_or_courtesy_word_is_no_name_to_swap_in(follow_up: str) -> None:
    turns = conversation("How many loaves did Northwind Bakeries sell?", "1.2 million", follow_up)

    assert resolve_followup(turns) == Resolution(follow_up, follow_up, None)


def test_how_many_after_a_yes_no_question_is_left_as_it_is() -> None:
    turns = conversation("Did Greggs hire bakers?", "Yes", "How many?")

    assert resolve_followup(turns).question == "How many?"


@pytest.mark.parametrize(
    "question",
    [
        "Which company said it would stop buying from Crumb & Co?",
        "Which bakery announced that it would close in Leeds?",
        "Who said they would leave Greggs?",
        "Who told reporters she would stay?",
    ],
)
def test_a_pronoun_reporting_the_wh_subject_is_left_as_it_is(question: str) -> None:
    turns = conversation("Which bakery did Greggs buy?", "Crumb & Co", question)

    assert resolve_followup(turns) == Resolution(question, question, None)


@pytest.mark.parametrize(
    "question",
    [
        "What did the Greggs spokesperson say it would do?",
        "What did Northwind Bakeries announce it would close?",
        "When did the Crumb & Co founders say that they would sell?",
    ],
)
def test_a_pronoun_after_a_speaker_that_names_an_organisation_is_left_as_it_is(question: str) -> None:
    turns = conversation("Which bakery did Greggs buy?", "Crumb & Co", question)

    assert resolve_followup(turns) == Resolution(question, question, None)


def test_a_trade_in_a_company_name_makes_it_an_organisation_not_a_person() -> None:
    kinds = {m.text: m.kind for m in mentions("Did Northwind Bakeries hire Tomas Berg? Did Acme Robotics hire him?")}
    turns = conversation("Who runs Northwind Bakeries?", "Tomas Berg", "How much does Northwind Bakeries pay her?")

    assert kinds == {"Northwind Bakeries": "name", "Tomas Berg": "person", "Acme Robotics": "name"}
    assert resolve_followup(turns).question == "How much does Northwind Bakeries pay Tomas Berg?"


@pytest.mark.parametrize(
    "speaker", ["Tomas Berg", "the lawyer Sean O'Brien", "chief executive Berg", "the baker Mark McKinnon"]
)
def test_a_pronoun_after_a_named_speaker_still_refers_back(speaker: str) -> None:
    turns = conversation("Which bakery did Greggs buy?", "Crumb & Co", f"What did {speaker} say it would cost?")

    assert resolve_followup(turns).question == f"What did {speaker} say Crumb & Co would cost?"


@pytest.mark.parametrize(
    "history",
    [
        ["Who founded Crumb & Co?", "The articles don't say."],  # no answer to put in the subject's place
        ["What happened to Crumb & Co?", "Northwind bought it"],  # an event, not a subject
        ["Whose bakery bought Crumb & Co?", "Ada Price's"],
        ["Which companies own Crumb & Co?", "Greggs"],  # a plural present: its form is also the base form
        ["What is the capital of France?", None],  # it asked what something is, and nothing answered
        ["Who was the king of England?", None],
    ],
)
def test_a_fragment_after_a_subject_question_stays_as_asked_when_no_subject_can_take_its_place(history: list) -> None:
    resolution = resolve_followup(conversation(*history, "Why?"))

    assert (resolution.question, resolution.note) == ("Why?", None)


@pytest.mark.parametrize(
    ("word", "base", "auxiliary"),
    [("founded", "found", "did"), ("bought", "buy", "did"), ("studied", "study", "did"), ("runs", "run", "does")],
)
def test_a_finite_verb_gives_its_base_form_and_the_auxiliary_of_its_tense(word: str, base: str, auxiliary: str) -> None:
    assert finite_verb(word) == FiniteVerb(base, auxiliary)


def test_forms_of_one_verb_are_the_same_verb() -> None:
    assert same_verb("take", "took") and same_verb("takes", "take") and same_verb("bought", "buy")
    assert not same_verb("take", "buy") and not same_verb("company", "company")


@pytest.mark.parametrize("word", ["own", "company", "Scale", "founding"])
def test_a_base_form_a_noun_or_a_participle_is_no_finite_verb(word: str) -> None:
    assert finite_verb(word) is None
