"""The reader's tokenisation, without its model: how a question is cut to what the reader reads."""

from tokenizers import Tokenizer

from service.reader.span_reader import MAX_QUESTION_TOKENS, TOKENIZER, clipped_questions, question_tokenizer
from service.settings import READER_MODEL_DIR


def test_a_question_is_cut_after_its_last_readable_token_and_a_short_one_is_left_as_it_is() -> None:
    tokenizer = question_tokenizer(Tokenizer.from_file(str(READER_MODEL_DIR / TOKENIZER)))
    years = ", ".join(str(year) for year in range(1900, 1980))
    long = f"Which of these years did Scale AI get founded in: {years}?"

    short_kept, long_cut = clipped_questions(tokenizer, ["When was Scale AI founded?", long], MAX_QUESTION_TOKENS)

    assert short_kept == "When was Scale AI founded?"
    assert long.startswith(long_cut) and long_cut.endswith(", 1925, 1926")  # of its 171 tokens, the first 64
    assert len(tokenizer.encode(long_cut, add_special_tokens=False).ids) == MAX_QUESTION_TOKENS
