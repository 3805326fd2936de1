"""The BERT encoder both served models are (all-MiniLM-L6-v2 and the span reader), in plain torch, for inference.

Serving used to run them through transformers. Importing it (its tokenizer classes included) was about 0.85 s of a
`qa ask` cold start on 2 cores (`python -c "import torch, tokenizers"` 1.27-1.29 s against 2.11-2.16 s with
`AutoTokenizer`), and with `from_pretrained` the median of 5 `qa ask` runs went 4.5 -> 2.11 s (`qa bench`,
2026-12-02). A forward pass costs about the same as transformers' (one question: 4.6 against 5.0 ms). The modules
and parameter names are transformers' BertModel / BertForQuestionAnswering ones, so the same safetensors load as they
are and int8 quantisation finds the same layers; tests hold the outputs to transformers' (tests/index/test_bert.py).
Training keeps using transformers.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Encoding, Tokenizer
from torch import nn

WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, folder: Path) -> "BertConfig":
        values = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        if values.get("model_type") != "bert" or values.get("hidden_act", "gelu") != "gelu":
            raise ValueError(
                f"{folder}: not a BERT model with GELU ({values.get('model_type')!r}); only BERT is served"
            )
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{folder}: position embeddings {values['position_embedding_type']!r}, not absolute")
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


class Embeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        embedded = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(embedded + self.position_embeddings(positions))


class SelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = hidden.shape

        def heads(projection: nn.Linear) -> torch.Tensor:
            return projection(hidden).view(batch, length, self.heads, -1).transpose(1, 2)

        attended = F.scaled_dot_product_attention(heads(self.query), heads(self.key), heads(self.value), attn_mask=mask)
        return attended.transpose(1, 2).reshape(batch, length, width)


class DenseNorm(nn.Module):
    """A projection added to the residual, then layer-normed (BertSelfOutput and BertOutput)."""

    def __init__(self, config: BertConfig, inputs: int) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class Attention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = SelfAttention(config)
        self.output = DenseNorm(config, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(hidden, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(hidden))


class Layer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = DenseNorm(config, config.intermediate_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))


class Bert(nn.Module):
    """BertModel without its pooler: the last hidden state."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        hidden = self.embeddings(input_ids, token_type_ids)
        # Padding as an additive bias on the attention scores, in the activations' dtype.
        mask = torch.zeros(attention_mask.shape, dtype=hidden.dtype, device=hidden.device)
        mask = mask.masked_fill(attention_mask == 0, torch.finfo(hidden.dtype).min)[:, None, None, :]
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask)
        return hidden


@dataclass(frozen=True)
class SpanLogits:
    start_logits: torch.Tensor
    end_logits: torch.Tensor


class BertSpans(nn.Module):
    """BertForQuestionAnswering: a start and an end logit per token."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = Bert(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> SpanLogits:
        start, end = self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids)).unbind(dim=-1)
        return SpanLogits(start, end)


def load_weights(model: nn.Module, folder: Path, dtype: torch.dtype) -> None:
    """`folder`'s safetensors into `model` in `dtype`, by transformers' names (all-MiniLM-L6-v2's are Bert's, the
    reader's BertSpans'); every parameter must be there, and extra tensors (a pooler) are left out."""
    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"no {WEIGHTS} in {folder}")
    tensors = load_file(str(path))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} of the model's weights, e.g. {missing[:3]}")
    model.load_state_dict({name: tensors[name] for name in expected})
    model.to(dtype).eval().requires_grad_(False)  # for inference only


def load_encoder(folder: Path, dtype: torch.dtype = torch.float32) -> Bert:
    """The encoder of a sentence-transformers BERT folder (its pooler, unused, left out)."""
    model = Bert(BertConfig.read(folder))
    load_weights(model, folder, dtype)
    return model


def load_span_model(folder: Path, dtype: torch.dtype = torch.float32) -> BertSpans:
    """A span reader saved by transformers' BertForQuestionAnswering (what `qa train-reader` writes)."""
    model = BertSpans(BertConfig.read(folder))
    load_weights(model, folder, dtype)
    return model


def pad_id(tokenizer: Tokenizer) -> int:
    """The id a tokenizer pads with: its own padding's, else [PAD]'s (BERT's 0)."""
    if tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    found = tokenizer.token_to_id("[PAD]")
    return 0 if found is None else found


def padded(encodings: list[Encoding], pad: int, multiple: int | None = None) -> dict[str, torch.Tensor]:
    """The model inputs of `encodings`, right-padded to the longest (rounded up to `multiple`), as transformers pads."""
    width = max(len(encoding.ids) for encoding in encodings)
    if multiple:
        width = -(-width // multiple) * multiple
    ids = torch.full((len(encodings), width), pad, dtype=torch.long)
    types = torch.zeros((len(encodings), width), dtype=torch.long)
    mask = torch.zeros((len(encodings), width), dtype=torch.long)
    for row, encoding in enumerate(encodings):
        length = len(encoding.ids)
        ids[row, :length] = torch.tensor(encoding.ids)
        types[row, :length] = torch.tensor(encoding.type_ids)
        mask[row, :length] = torch.tensor(encoding.attention_mask)
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
