"""Chunks are runs of whole sentences whose offsets point exactly into their document."""

import itertools

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from index import sentences
from index.chunking import (
    LONGEST_SENTENCE_TOKENS,
    LONGEST_WORD_CHARACTERS,
    Chunk,
    ChunkingSettings,
    approximate_tokens,
    chunk_document,
    chunk_units,
)
from index.documents import BUNDLED_CORPUS, Document, load_documents
from index.sentences import sentence_spans

SETTINGS = [
    ChunkingSettings(),
    ChunkingSettings(16, 0),
    ChunkingSettings(30, 2),
    ChunkingSettings(20, 5),
    ChunkingSettings(4, 0),  # about one sentence a chunk, so text between sentences must still be in one
    ChunkingSettings(30, 1, 60),  # whole paragraphs of up to 60 tokens
    ChunkingSettings(96, 1, 192),
]

LONG_SENTENCE = "This single sentence keeps going " + "and going " * 60 + "until it finally stops."
AWKWARD_TEXTS = {
    "no-final-period": "Meta took a 49% stake in Scale. Its founder joined Meta",
    "blank-lines": "\n\nHeadline here\n\n\nFirst paragraph ends here.\n\n   \nSecond paragraph.\n\n\n",
    "long-sentence": f"A short opener. {LONG_SENTENCE} A short closer.",
    "only-a-long-sentence": LONG_SENTENCE,
    "unpunctuated-line": " ".join(f"word{number}" for number in range(600)),
    "curly-quotes": "Scale said it received a “significant investment” from Meta. “It’s big,” said Wang. ‘Quite.’",
    "single-word": "Scale",
    "padded-word": "  \n Scale \n ",
    "abbreviations": "Mr. Wang met Dr. Lee in the U.S. on Jan. 5. They spoke for 2.5 hours... Then left!",
    "repeated-sentences": "It grew. It grew. It grew. It grew. Then it stopped. It grew.",
    "list": "Key facts:\n- 49% stake\n- $10 billion\n1. First point\n2. Second point",
    "crlf-leftovers": "One line.\r\nTwo line.\r\n",
    "tabs-and-nbsp": "Tabbed\tsentence here.\u00a0Next sentence\u00a0follows. Done.",
    # pysbd drops these pieces of text; they must still land in a chunk.
    "punctuation-after-abbreviation": "He met Mr.?!",
    "quote-after-amount-on-new-line": "Meta. Meta. \n $10.” Meta ",
    # No spaces for thousands of characters: cut into pieces, or it would be one chunk no search or reader handles.
    "comma-joined-line": "The ledger lists cargo: " + ",".join(f"zanzibar{number}" for number in range(1500)),
    "unspaced-script": "紫坪铺水库位于四川省。" * 300,
}


def in_a_long_run(text: str, at: int) -> bool:
    """Whether `at` falls inside a run without spaces longer than LONGEST_WORD_CHARACTERS (which may be cut there)."""
    start = at
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = at
    while end < len(text) and not text[end].isspace():
        end += 1
    return end - start > LONGEST_WORD_CHARACTERS


def assert_well_formed(document: Document, chunks: list[Chunk], chunking: ChunkingSettings) -> None:
    """Every property a chunk list promises, checked against the document text itself."""
    text = document.text
    spans = chunk_units(text, chunking.max_tokens, paragraph_tokens=chunking.paragraph_tokens)
    sentences = sentence_spans(text)
    long = [(s, e) for s, e in sentences if approximate_tokens(text[s:e]) > LONGEST_SENTENCE_TOKENS]
    assert chunks or not text.strip()
    for chunk in chunks:
        assert chunk.document_id == document.id
        assert text[chunk.start : chunk.end] == chunk.text
        for edge, sentence_edges in ((chunk.start, {s for s, _ in sentences}), (chunk.end, {e for _, e in sentences})):
            # On a sentence boundary, or between two words of a sentence too long to embed.
            assert edge in sentence_edges or any(
                s < edge < e and (text[edge - 1].isspace() or text[edge].isspace() or in_a_long_run(text, edge))
                for s, e in long
            ), f"a chunk edge at {edge} inside a sentence that is not over {LONGEST_SENTENCE_TOKENS} tokens"
        inside = [span for span in spans if chunk.start <= span[0] and span[1] <= chunk.end]
        assert approximate_tokens(chunk.text) <= chunking.max_tokens or len(inside) == 1
    for start, end in spans:
        assert any(c.start <= start and end <= c.end for c in chunks), f"sentence {text[start:end]!r} in no chunk"
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    missing = [i for i, character in enumerate(text) if not character.isspace() and i not in covered]
    assert not missing, f"text outside every chunk: {[text[i] for i in missing]}"
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start and before.end < after.end, "each chunk adds a new sentence"
        shared = [span for span in spans if after.start <= span[0] and span[1] <= before.end]
        assert len(shared) <= chunking.overlap_sentences
    for chunk in chunks:
        assert not any(o is not chunk and o.start <= chunk.start and chunk.end <= o.end for o in chunks)


@pytest.mark.parametrize("chunking", SETTINGS, ids=str)
@pytest.mark.parametrize("document", load_documents([BUNDLED_CORPUS]), ids=lambda d: d.id)
def test_bundled_articles_chunk_cleanly(document: Document, chunking: ChunkingSettings) -> None:
    chunks = chunk_document(document, chunking)

    assert_well_formed(document, chunks, chunking)
    assert len(chunks) > 1


@pytest.mark.parametrize("chunking", SETTINGS, ids=str)
@pytest.mark.parametrize("name", AWKWARD_TEXTS)
def test_awkward_texts_chunk_cleanly(name: str, chunking: ChunkingSettings) -> None:
    document = Document(name, name, f"{name}.txt", AWKWARD_TEXTS[name])

    assert_well_formed(document, chunk_document(document, chunking), chunking)


def test_a_paragraph_that_fits_is_never_split_and_never_joined_past_the_limit() -> None:
    first = "Scale was founded in 2016. It labels data. Meta took a 49% stake in it."
    second = "OpenAI is phasing out its work with Scale. It said so on Wednesday."
    document = Document("p", "p", "p.txt", f"{first}\n{second}\nA short line.")
    per_sentence = ChunkingSettings(max_tokens=10, overlap_sentences=1)

    sentence_windows = [c.text for c in chunk_document(document, per_sentence)]
    paragraphs = [c.text for c in chunk_document(document, ChunkingSettings(10, 1, paragraph_tokens=40))]
    too_small = [c.text for c in chunk_document(document, ChunkingSettings(10, 1, paragraph_tokens=12))]

    assert first not in sentence_windows
    assert paragraphs == [first, second, "A short line."]
    assert too_small == sentence_windows  # paragraphs over paragraph_tokens are cut into sentence windows as before


def test_sentence_longer_than_the_limit_stands_alone() -> None:
    document = Document("long", "long", "long.txt", AWKWARD_TEXTS["long-sentence"])

    chunks = chunk_document(document, ChunkingSettings(max_tokens=20, overlap_sentences=1))

    assert [c.text for c in chunks] == ["A short opener.", LONG_SENTENCE, "A short closer."]


def test_a_sentence_too_long_to_embed_is_cut_between_words_into_chunks_of_the_limit() -> None:
    words = [f"word{number}" for number in range(600)]  # one unpunctuated line: 781 tokens by the estimate
    document = Document("t", "t", "t.txt", "A short opener. " + " ".join(words))

    chunks = chunk_document(document, ChunkingSettings(max_tokens=96, overlap_sentences=1))

    assert approximate_tokens(" ".join(words)) > LONGEST_SENTENCE_TOKENS
    assert all(approximate_tokens(chunk.text) <= 96 for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks[1:]) == " ".join(words)  # each word once, in order, none cut
    assert chunks[0].text == "A short opener."  # the next run of words would take it past the limit


def test_no_chunk_is_longer_than_the_embedder_reads_even_under_a_larger_limit() -> None:
    line = " ".join(f"word{number}" for number in range(290))  # 378 tokens
    document = Document("t", "t", "t.txt", f"{line}\nA short sentence follows. And another one.")

    chunks = chunk_document(document, ChunkingSettings(max_tokens=400, overlap_sentences=0))

    assert len(chunks) == 2
    assert all(approximate_tokens(chunk.text) <= LONGEST_SENTENCE_TOKENS for chunk in chunks)


def test_text_without_spaces_is_cut_to_what_the_embedder_reads() -> None:
    """A 50 KB line of 'a,b,c' once made one chunk that took the reader 25 s to read, every question it was retrieved for."""
    document = Document("line", "line", "line.txt", AWKWARD_TEXTS["comma-joined-line"])

    chunks = chunk_document(document, ChunkingSettings())

    assert len(chunks) > 10
    assert all(len(chunk.text) <= 8 * LONGEST_SENTENCE_TOKENS for chunk in chunks)


def test_pysbd_reads_a_long_line_in_pieces_and_the_spans_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """pysbd's time grows faster than a line's length (30 KB of 'a. a. ...' took 40 s to split): it is never given
    more than PIECE_CHARACTERS at once, and a line shorter than that is split as pysbd splits it whole."""
    given: list[int] = []
    segmenter = sentences._segmenter()

    class Recording:
        def segment(self, text: str):
            given.append(len(text))
            return segmenter.segment(text)

    monkeypatch.setattr(sentences, "_segmenter", Recording)
    text = "A. " * 6000 + "\nThe canal lock was rebuilt in 2004. It opened in May."

    spans = sentences.sentence_spans.__wrapped__(text)

    assert max(given) <= sentences.PIECE_CHARACTERS
    assert [text[s:e] for s, e in spans][-2:] == ["The canal lock was rebuilt in 2004.", "It opened in May."]
    assert all(text[s:e] == text[s:e].strip() != "" for s, e in spans)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert "".join("".join(text[s:e].split()) for s, e in spans) == "".join(text.split()), "every word in a sentence"


def test_single_word_is_one_chunk() -> None:
    document = Document("w", "w", "w.txt", "  \n Scale \n ")

    assert chunk_document(document, ChunkingSettings()) == [Chunk("w", 4, 9, "Scale")]


def test_overlap_repeats_the_last_sentence() -> None:
    text = "One two three four. Five six seven eight. Nine ten eleven twelve. Thirteen fourteen fifteen."
    document = Document("d", "d", "d.txt", text)

    chunks = chunk_document(document, ChunkingSettings(max_tokens=12, overlap_sentences=1))

    assert [c.text for c in chunks] == [
        "One two three four. Five six seven eight.",
        "Five six seven eight. Nine ten eleven twelve.",
        "Nine ten eleven twelve. Thirteen fourteen fifteen.",
    ]


def test_custom_token_counter_is_used() -> None:
    document = Document("d", "d", "d.txt", "A b. C d. E f.")

    chunks = chunk_document(document, ChunkingSettings(max_tokens=2, overlap_sentences=0), count_tokens=lambda _: 1)

    assert [c.text for c in chunks] == ["A b. C d.", "E f."]


WORDS = st.sampled_from(
    [
        *("Meta", "Scale", "AI", "data", "49%", "$10", "billion", "2016", "3.5", "stake", "founder", "Wang", "x"),
        *("Mr.", "U.S.", "e.g.", "No.", "Dr.?!", "...", "?", "—", "“quoted”", "it’s", "don't", "(note)", "$10.”"),
    ]
)
SENTENCES = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=8),
    st.sampled_from([".", "?", "!", "", "…", ".”", "?!", ":"]),
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", " \n ", "\t", "\n\n\n", ""])


@st.composite
def texts(draw: st.DrawFn) -> str:
    sentences = draw(st.lists(SENTENCES, min_size=1, max_size=12))
    text = draw(st.sampled_from(["", " ", "\n"]))
    for sentence in sentences:
        text += sentence + draw(SEPARATORS)
    return text


# Fixed seed for a repeatable suite; no shrinking, so a failure costs a second, not twenty (the text is printed as found).
@settings(max_examples=150, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(
    text=texts(),
    chunking=st.builds(ChunkingSettings, st.integers(4, 60), st.integers(0, 3), st.sampled_from([0, 0, 8, 40, 256])),
)
@example(text="Meta. Meta. Meta. Mr.?!\n", chunking=ChunkingSettings(4, 0))
def test_chunk_offsets_round_trip_on_random_texts(text: str, chunking: ChunkingSettings) -> None:
    document = Document("random", "random", "random.txt", text)

    assert_well_formed(document, chunk_document(document, chunking), chunking)
