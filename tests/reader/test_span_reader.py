"""The reader's tokenisation, without its model: how a question is cut to what the reader reads."""

import pytest
from tokenizers import Tokenizer

from service.reader.span_reader import (
    MAX_QUESTION_TOKENS,
    TOKENIZER,
    clipped_questions,
    question_budget,
    question_tokenizer,
)
from service.settings import READER_MODEL_DIR


def test_a_question_is_cut_after_its_last_readable_token_and_a_short_one_is_left_as_it_is() -> None:
    tokenizer = question_tokenizer(Tokenizer.from_file(str(READER_MODEL_DIR / TOKENIZER)))
    years = ", ".join(str(year) for year in range(1900, 1980))
    long = f"Which of these years did Scale AI get founded in: {years}?"

    short_kept, long_cut = clipped_questions(tokenizer, ["When was Scale AI founded?", long], MAX_QUESTION_TOKENS)

    assert short_kept == "When was Scale AI founded?"
    assert long.startswith(long_cut) and long_cut.endswith(", 1925, 1926")  # of its 171 tokens, the first 64
    assert len(tokenizer.encode(long_cut, add_special_tokens=False).ids) == MAX_QUESTION_TOKENS


def test_a_small_window_reads_fewer_question_tokens_and_one_with_no_room_is_refused() -> None:
    assert question_budget(256, 96) == MAX_QUESTION_TOKENS
    assert question_budget(128, 96) == 28  # 128 - [CLS] - 2 [SEP] - a passage of 97 tokens, more than the stride

    with pytest.raises(
        ValueError, match="a reader window of 100 tokens leaves no room for a passage read with stride 96"
    ):
        question_budget(100, 96)
