"""The trained span reader: a BERT-style question-answering model run over passages in one batched pass."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerFast

from index.precision import bf16_supported
from service.reader.spans import best_token_spans

READER_CONFIG = "reader_config.json"
PAD_MULTIPLE = 32
WINDOWS_PER_PASS = 40  # most windows one forward pass takes (see read_batch)
MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
# Left in float32 under int8: the feed-forward layers (both projections) and the span head; only the attention's four
# projections are int8. On every third gold question over the bundled articles (38), quantising all but the span head
# changed 4 best spans (crude F1 51.4 -> 46.5), all but the feed-forward output too 5 (44.1); the attention alone, 2
# near-ties (0.2 and 0.5 logits apart), with best-span margins within 0.6 of float32's.
INT8_KEEP_FLOAT = r"intermediate\.dense$|layer\.\d+\.output\.dense$|^qa_outputs$"


@dataclass(frozen=True)
class PassageSpan:
    passage: int
    start: int
    end: int
    score: float
    null_score: float  # the no-answer score of the window the span was read in

    @property
    def margin(self) -> float:
        """How far the span beats the no-answer score of its own window (negative: that window prefers no answer)."""
        return self.score - self.null_score


@dataclass(frozen=True)
class ReaderOutput:
    spans: list[PassageSpan]
    null_score: float

    def ranked(self) -> list[PassageSpan]:
        """Spans by their margin over the no-answer score of their own window, best first: across retrieved passages
        this beats raw span scores on the held-out SQuAD test articles (open mode, top_k 5, each ranking with its own
        threshold calibrated on the calibration articles): reader v2 F1 48.0 against 45.1 (v1: by 2.7); the 2026-12-02
        closing note of issue 14 has the command."""
        return sorted(self.spans, key=lambda span: span.margin, reverse=True)

    def margin(self) -> float:
        """How far the best span beats the no-answer score (negative: the model prefers no answer)."""
        return (self.spans[0].score - self.null_score) if self.spans else float("-inf")


@dataclass(frozen=True)
class ReaderConfig:
    max_length: int = 256
    stride: int = 96
    max_answer_tokens: int = 30
    null_threshold: float = 0.0
    # Retrieved passages are noisier than a gold paragraph, so open use has its own threshold, calibrated on the
    # calibration articles' paragraphs through retrieval; None falls back to null_threshold.
    open_null_threshold: float | None = None
    open_top_k: int = 5

    @classmethod
    def read(cls, folder: Path) -> "ReaderConfig":
        path = Path(folder) / READER_CONFIG
        if not path.exists():
            return cls()
        values = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


class SpanReader:
    """Scores every span of every passage of a question with one forward pass.

    On CPUs with native bfloat16 the forward pass runs in bfloat16: a model loaded for serving (`from_dir`) holds
    bfloat16 weights, which spares autocast's cast of every weight on every pass; a float32 model (the one training
    updates) runs under bf16 autocast instead. `int8` quantises the Linear layers once at load (`index.int8`); it runs
    float32 activations, so it never combines with bfloat16.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerFast,
        config: ReaderConfig,
        bf16: bool | None = None,
        int8: bool = False,
    ) -> None:
        if int8 and bf16:
            raise ValueError("the reader runs in int8 or in bfloat16, not both: int8 layers take float32 activations")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.int8 = int8
        self.bf16 = False if int8 else bf16_supported() if bf16 is None else bf16
        # Weights already in bfloat16 need no autocast; float32 weights get it (they keep training in float32).
        self.autocast = self.bf16 and next(model.parameters()).dtype == torch.float32
        if int8:
            from index.int8 import quantize_linear_layers  # torch's quantised modules: only for an int8 reader

            quantize_linear_layers(self.model, INT8_KEEP_FLOAT)

    @property
    def precision(self) -> str:
        """What the forward pass runs in: int8, bfloat16 or float32."""
        return "int8" if self.int8 else "bfloat16" if self.bf16 else "float32"

    @classmethod
    def from_dir(cls, folder: Path, bf16: bool | None = None, int8: bool = False) -> "SpanReader":
        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(
                f"no reader model in {folder}: point QA_READER_MODEL at the shipped one (service/reader/model)"
                f" or train one with `qa train-reader ../shared/data/squad/*.json --output {folder}`"
            )
        tokenizer = AutoTokenizer.from_pretrained(folder)
        bf16 = False if int8 else bf16_supported() if bf16 is None else bf16
        # bfloat16 weights: a forward pass over 5 windows 42 -> 35 ms against float32 weights under autocast, the
        # logits as close to float32's (largest difference 0.071 against 0.071; /work/scratch/bf16w_probe.py).
        dtype = torch.bfloat16 if bf16 else torch.float32
        model = AutoModelForQuestionAnswering.from_pretrained(folder, dtype=dtype)
        return cls(model, tokenizer, ReaderConfig.read(folder), bf16, int8)

    def warm_up(self, windows: int) -> None:
        """Run every padded width once for a batch of `windows` windows, so requests of that size build no kernels."""
        if not self.bf16:
            return
        for width in range(PAD_MULTIPLE, self.config.max_length + 1, PAD_MULTIPLE):
            ids = torch.full((windows, width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
                self.model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))

    def read(self, question: str, passages: list[str]) -> ReaderOutput:
        """The best spans (character offsets inside their passage) and the no-answer score."""
        return self.read_batch([(question, passages)])[0]

    def read_batch(self, items: list[tuple[str, list[str]]]) -> list[ReaderOutput]:
        """`read` for several questions at once (used by training and evaluation)."""
        owners = [(item, passage) for item, (_, passages) in enumerate(items) for passage in range(len(passages))]
        if not owners:
            return [ReaderOutput([], float("inf")) for _ in items]
        encoding = self.tokenizer(
            [items[item][0] for item, _ in owners],
            [items[item][1][passage] for item, passage in owners],
            truncation="only_second",
            max_length=self.config.max_length,
            stride=self.config.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        window_owner = encoding["overflow_to_sample_mapping"]
        lengths = [len(ids) for ids in encoding["input_ids"]]
        width = max(lengths)
        offsets = np.zeros((len(lengths), width, 2), dtype=np.int64)
        context_mask = np.zeros((len(lengths), width), dtype=bool)
        for window, length in enumerate(lengths):
            offsets[window, :length] = encoding["offset_mapping"][window]
            context_mask[window, :length] = [sequence_id == 1 for sequence_id in encoding.sequence_ids(window)]
        start_logits = np.zeros((len(lengths), width), dtype=np.float32)
        end_logits = np.zeros((len(lengths), width), dtype=np.float32)
        # Windows of about the same length go through the model together, a few dozen at a time: padding a batch to
        # its longest window and making one huge pass both cost throughput.
        by_length = sorted(range(len(lengths)), key=lengths.__getitem__)
        for first in range(0, len(by_length), WINDOWS_PER_PASS):
            group = by_length[first : first + WINDOWS_PER_PASS]
            batch = self.tokenizer.pad(
                {key: [encoding[key][window] for window in group] for key in MODEL_INPUTS if key in encoding},
                # bf16 kernels are built per input shape: rounding widths up to a multiple of 32 keeps the shapes
                # few, so after warm_up() a request almost never pays for building one (p50 of a read 48 -> 34 ms).
                pad_to_multiple_of=PAD_MULTIPLE if self.bf16 else None,
                return_tensors="pt",
            )
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
                logits = self.model(**batch)
            used = max(lengths[window] for window in group)
            start_logits[group, :used] = logits.start_logits[:, :used].float().numpy()
            end_logits[group, :used] = logits.end_logits[:, :used].float().numpy()
        outputs = []
        for item in range(len(items)):
            windows = [window for window, owner in enumerate(window_owner) if owners[owner][0] == item]
            if not windows:
                outputs.append(ReaderOutput([], float("inf")))
                continue
            token_spans = best_token_spans(
                start_logits[windows], end_logits[windows], context_mask[windows], self.config.max_answer_tokens
            )
            spans = [
                PassageSpan(
                    passage=owners[window_owner[windows[span.window]]][1],
                    start=int(offsets[windows[span.window], span.start_token, 0]),
                    end=int(offsets[windows[span.window], span.end_token, 1]),
                    score=span.score,
                    null_score=float(start_logits[windows[span.window], 0] + end_logits[windows[span.window], 0]),
                )
                for span in token_spans
            ]
            null = float(np.min(start_logits[windows, 0] + end_logits[windows, 0]))
            outputs.append(ReaderOutput(spans, null))
        return outputs
