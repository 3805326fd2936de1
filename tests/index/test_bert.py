"""index.bert and the `tokenizers` windows give what transformers gives for the same weights and texts."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer

from index.bert import BertConfig, load_encoder, load_span_model, pad_id, padded
from index.documents import BUNDLED_CORPUS
from index.embedding import DEFAULT_MODEL, resolve_model_path
from service.reader.span_reader import SpanReader
from service.settings import READER_MODEL_DIR

pytestmark = pytest.mark.model

QUESTIONS = ["How much of Scale did Meta buy?", "Who founded Scale AI?", "When?"]


def texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]


def passages() -> list[str]:
    """Passages of 1 to several windows of 256 tokens, one of them blank-led, one a single word."""
    first, second = texts()
    return [first[:300], second[:4000], "  \n" + first[2000:2600], "Meta", second[:90]]


def test_the_encoder_gives_transformers_hidden_states() -> None:
    from transformers import AutoModel, AutoTokenizer

    folder = Path(resolve_model_path(DEFAULT_MODEL))
    theirs, tokenizer = (
        AutoModel.from_pretrained(folder, dtype=torch.float32).eval(),
        AutoTokenizer.from_pretrained(folder),
    )
    ours = load_encoder(folder)
    features = tokenizer([*QUESTIONS, *passages()], padding=True, truncation=True, max_length=256, return_tensors="pt")

    with torch.inference_mode():
        expected = theirs(**features).last_hidden_state
        got = ours(features["input_ids"], features["attention_mask"], features["token_type_ids"])

    real = features["attention_mask"].bool()  # padding positions are never pooled
    assert torch.allclose(got[real], expected[real], atol=1e-4), (got[real] - expected[real]).abs().max()


def test_the_span_model_gives_transformers_logits() -> None:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    theirs = AutoModelForQuestionAnswering.from_pretrained(READER_MODEL_DIR, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(READER_MODEL_DIR)
    ours = load_span_model(READER_MODEL_DIR)
    features = tokenizer(
        [QUESTIONS[0]] * 3, passages()[:3], truncation="only_second", max_length=256, padding=True, return_tensors="pt"
    )

    with torch.inference_mode():
        expected, got = theirs(**features), ours(**features)

    real = features["attention_mask"].bool()
    for name in ("start_logits", "end_logits"):
        difference = (getattr(got, name) - getattr(expected, name))[real].abs().max()
        assert difference < 1e-3, (name, difference)


def test_the_reader_cuts_the_windows_transformers_cuts() -> None:
    """Same ids, offsets, question/passage split and window order as transformers' tokenizer with a stride."""
    from transformers import AutoTokenizer

    reader = SpanReader.from_dir(READER_MODEL_DIR, bf16=False)
    config = reader.config
    pairs = [(question, passage) for question in QUESTIONS for passage in passages()]
    expected = AutoTokenizer.from_pretrained(READER_MODEL_DIR)(
        [q for q, _ in pairs],
        [p for _, p in pairs],
        truncation="only_second",
        max_length=config.max_length,
        stride=config.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )

    windows, owners = [], []
    for owner, encoding in enumerate(reader.windows.encode_batch(pairs)):
        windows += [encoding, *encoding.overflowing]
        owners += [owner] * (1 + len(encoding.overflowing))

    assert len(windows) > len(pairs)  # some passages took several windows
    assert owners == list(expected["overflow_to_sample_mapping"])
    for index, window in enumerate(windows):
        assert window.ids == expected["input_ids"][index]
        assert window.type_ids == expected["token_type_ids"][index]
        assert [tuple(o) for o in window.offsets] == [tuple(o) for o in expected["offset_mapping"][index]]
        assert window.sequence_ids == expected.sequence_ids(index)


def test_padding_is_transformers_right_padding_rounded_up() -> None:
    tokenizer = Tokenizer.from_file(str(READER_MODEL_DIR / "tokenizer.json"))
    tokenizer.no_padding()  # the saved tokenizer pads on its own; the models' inputs are padded by `padded`
    encodings = tokenizer.encode_batch(["a b c", "a"])

    batch = padded(encodings, pad_id(tokenizer), multiple=32)

    assert batch["input_ids"].shape == (2, 32)
    assert batch["attention_mask"].sum(dim=1).tolist() == [len(e.ids) for e in encodings]
    assert (batch["input_ids"][1, len(encodings[1].ids) :] == pad_id(tokenizer)).all()
    assert padded(encodings, 0)["input_ids"].shape == (2, len(encodings[0].ids))


def test_a_folder_that_is_not_a_whole_bert_is_refused(tmp_path: Path) -> None:
    config = json.loads((READER_MODEL_DIR / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    with pytest.raises(ValueError, match="only BERT"):
        BertConfig.read(tmp_path)

    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(FileNotFoundError, match=r"no model\.safetensors"):
        load_span_model(tmp_path)

    from safetensors.torch import save_file

    save_file({"qa_outputs.weight": torch.zeros(2, config["hidden_size"])}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="lacks"):
        load_span_model(tmp_path)


def test_bfloat16_weights_load_as_bfloat16() -> None:
    model = load_span_model(READER_MODEL_DIR, torch.bfloat16)

    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    ids = torch.tensor([[101, 2040, 102]])
    logits = model(ids, torch.ones_like(ids))
    assert logits.start_logits.shape == (1, 3) and np.isfinite(logits.start_logits.float().numpy()).all()
