"""The two ways a sentence-transformers model is run here. `MeanPooledEncoder` runs the recipe of all-MiniLM-L6-v2
(a BERT encoder, mean pooling, unit length) on `index.bert` and `tokenizers` alone: importing sentence_transformers
was about a third of a cold start's imports (it pulls in scikit-learn, pandas and pyarrow), transformers most of the
rest, and it gives the same vectors (to 1e-5, tested). `SentenceTransformerEncoder` runs any other model through
sentence-transformers itself.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np

# modules.json of a plain mean-pooled, normalised sentence-transformers model: the only recipe reproduced here.
MEAN_POOLED_NORMALISED = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
PAD_MULTIPLE_BF16 = 16


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def runs_here(folder: Path) -> bool:
    """Whether `folder` holds a model `MeanPooledEncoder` reproduces: one BERT (safetensors weights, a tokenizer.json),
    mean pooling, normalisation, no prompts and no lower-casing of its own."""
    modules = _read_json(folder / "modules.json")
    if [module.get("type") for module in modules] != MEAN_POOLED_NORMALISED or modules[0].get("path") != "":
        return False
    pooling = _read_json(folder / modules[1]["path"] / "config.json")
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode") and value}
    options = _read_json(folder / "config_sentence_transformers.json")
    return (
        _read_json(folder / "config.json").get("model_type") == "bert"
        and (folder / "tokenizer.json").is_file()
        and (folder / "model.safetensors").is_file()
        and modes == {"pooling_mode_mean_tokens"}
        and not _read_json(folder / "sentence_bert_config.json").get("do_lower_case", False)
        and not options.get("prompts")
        and not options.get("default_prompt_name")
    )


class MeanPooledEncoder:
    """Unit-length mean-pooled vectors from a BERT encoder (`index.bert`, tokenized by `tokenizers`), in batches of
    similar length as sentence-transformers makes."""

    def __init__(self, folder: Path, precision: str = "float32") -> None:
        import torch
        from tokenizers import Tokenizer

        from index.bert import load_encoder, pad_id

        self.model = load_encoder(folder, torch.bfloat16 if precision == "bfloat16" else torch.float32)
        if precision == "int8":
            from index.int8 import quantize_linear_layers

            quantize_linear_layers(self.model)
        config = self.model.config
        max_length = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
        max_length = max_length or _read_json(folder / "tokenizer_config.json").get("model_max_length")
        self.max_length = min(max_length or config.max_position_embeddings, config.max_position_embeddings)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self.pad_id = pad_id(self.tokenizer)
        # bfloat16 kernels are built per input shape: batches padded to a multiple of 16 tokens make few shapes. Each
        # setting in its own process, 294 SQuAD paragraph pieces (250-520 characters) in batches of 32: 202-207
        # texts a second unpadded, 239-253 padded to 16, 243 to 8 (2026-12-02, /work/scratch/emb_pad2.py in issue
        # 15's note). float32 kernels need no building, so float32 pads only to the longest text.
        self.pad_multiple = PAD_MULTIPLE_BF16 if precision == "bfloat16" else None
        self.dimension = config.hidden_size

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        import torch

        from index.bert import padded

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        starts = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches")
        for first in starts:
            batch = order[first : first + batch_size]
            encodings = self.tokenizer.encode_batch([texts[index] for index in batch])
            features = padded(encodings, self.pad_id, self.pad_multiple)
            with torch.inference_mode():
                tokens = self.model(features["input_ids"], features["attention_mask"]).float()  # pooled in float32
            mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vectors[batch] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return vectors


class SentenceTransformerEncoder:
    """Any other sentence-transformers model, through sentence-transformers."""

    def __init__(self, folder: Path, precision: str = "float32") -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu")
        if precision == "bfloat16":
            import torch

            self.model.to(torch.bfloat16)  # sentence-transformers returns its numpy vectors in float32
        if precision == "int8":
            from index.int8 import quantize_linear_layers

            quantize_linear_layers(self.model)
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=progress, convert_to_numpy=True
        )
