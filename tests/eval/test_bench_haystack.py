"""The Haystack baseline cuts windows like ours: as many, about as long (its splitter, our settings)."""

import statistics

import pytest

from eval.bench_haystack import WordSplit, word_split_for
from index.chunking import ChunkingSettings, chunk_document
from index.documents import BUNDLED_CORPUS, Document, load_documents


def test_word_split_takes_our_mean_chunk_length() -> None:
    documents = load_documents([BUNDLED_CORPUS])
    chunks = [c for d in documents for c in chunk_document(d, ChunkingSettings())]

    split = word_split_for(documents, ChunkingSettings())

    assert split.length == round(statistics.mean(len(c.text.split()) for c in chunks))
    assert 0 < split.overlap < split.length


def test_word_split_of_chunks_that_never_overlap_has_no_overlap() -> None:
    sentence = "Word " * 30 + "ends here."
    document = Document("d", "D", "d.txt", " ".join([sentence] * 4))

    split = word_split_for([document], ChunkingSettings(max_tokens=50, overlap_sentences=0))

    assert split == WordSplit(length=32, overlap=0)


def test_word_split_needs_text() -> None:
    with pytest.raises(ValueError, match="no text"):
        word_split_for([], ChunkingSettings())


def test_haystacks_word_splitter_cuts_as_many_windows_as_we_do_and_as_long() -> None:
    pytest.importorskip("haystack", reason="the bench extra is not installed")
    from eval.bench_haystack import split_by_words

    documents = load_documents([BUNDLED_CORPUS])
    ours = [c.text for d in documents for c in chunk_document(d, ChunkingSettings())]

    theirs = [d.content for d in split_by_words(documents, word_split_for(documents, ChunkingSettings()))]

    assert abs(len(theirs) - len(ours)) <= max(1, len(ours) // 10)
    mean_ours = statistics.mean(len(t.split()) for t in ours)
    assert abs(statistics.mean(len(t.split()) for t in theirs) - mean_ours) <= 0.15 * mean_ours
    assert {d.meta["document_id"] for d in split_by_words(documents, WordSplit(50, 10))} == {d.id for d in documents}
