"""The trained span reader: a BERT-style question-answering model run over passages in one batched pass."""

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Encoding, Tokenizer

from index.bert import load_span_model, pad_id, padded
from index.precision import bf16_supported
from service.reader.spans import best_token_spans

READER_CONFIG = "reader_config.json"

log = logging.getLogger(__name__)
TOKENIZER = "tokenizer.json"
PAD_MULTIPLE = 32
WINDOWS_PER_PASS = 40  # most windows one forward pass takes (see read_batch)
# A question is read by its first 64 tokens at most (max_query_length in Hugging Face's SQuAD scripts): a longer one
# would leave its windows too little room for the passage, and one past max_length - stride none at all (the tokenizer
# then panics). SQuAD questions average about 12 tokens.
MAX_QUESTION_TOKENS = 64


def question_budget(max_length: int, stride: int) -> int:
    """The most question tokens a window of `max_length` read with `stride` takes: MAX_QUESTION_TOKENS, or fewer where
    the window is small, so that [CLS] question [SEP] passage [SEP] leaves the passage more than `stride` tokens."""
    budget = min(MAX_QUESTION_TOKENS, max_length - stride - 4)
    if budget < 1:
        raise ValueError(
            f"a reader window of {max_length} tokens leaves no room for a passage read with stride {stride}"
        )
    return budget


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
    # Open use stops after a question's first passages when their best span's margin is over this (see
    # service.reader.answerer.READ_FIRST), calibrated with the open threshold; None: every passage is read.
    open_exit_margin: float | None = None

    @classmethod
    def read(cls, folder: Path) -> "ReaderConfig":
        path = Path(folder) / READER_CONFIG
        if not path.exists():
            return cls()
        values = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


def runs_bf16(bf16: bool | None, int8: bool) -> bool:
    """Whether a reader runs in bfloat16: never in int8, else as asked, else where the CPU runs it natively."""
    return False if int8 else bf16_supported() if bf16 is None else bf16


def _unpadded_copy(tokenizer: object) -> Tokenizer:
    """A copy of `tokenizer` (a `tokenizers.Tokenizer`, or transformers' fast tokenizer around one, as training has)
    that pads nothing."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if not isinstance(backend, Tokenizer):
        raise TypeError(f"the reader needs a fast (tokenizers) tokenizer, not {type(tokenizer).__name__}")
    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    return copy


def question_tokenizer(tokenizer: object) -> Tokenizer:
    """A copy of `tokenizer` that measures a question: no truncation, no padding."""
    copy = _unpadded_copy(tokenizer)
    copy.no_truncation()
    return copy


def clipped_questions(tokenizer: Tokenizer, questions: list[str], most: int) -> list[str]:
    """Each question cut after its `most`-th token (at that token's last character), as the reader reads it."""
    return [
        question if len(encoding.offsets) <= most else question[: encoding.offsets[most - 1][1]]
        for question, encoding in zip(
            questions, tokenizer.encode_batch(questions, add_special_tokens=False), strict=True
        )
    ]


def window_tokenizer(tokenizer: object, max_length: int, stride: int) -> Tokenizer:
    """A copy of `tokenizer` that cuts a question and its passage into windows of `max_length` tokens overlapping by
    `stride`, the passage truncated, never the question: what transformers does with `truncation="only_second"` and a
    stride, since its fast tokenizers call this same library."""
    copy = _unpadded_copy(tokenizer)
    copy.enable_truncation(max_length, stride=stride, strategy="only_second")
    return copy


class SpanReader:
    """Scores every span of every passage of a question with one forward pass.

    On CPUs with native bfloat16 the forward pass runs in bfloat16: a model loaded for serving (`from_dir`) holds
    bfloat16 weights, which spares autocast's cast of every weight on every pass; a float32 model (the one training
    updates) runs under bf16 autocast instead. `int8` quantises the Linear layers once at load (`index.int8`); it runs
    float32 activations, so it never combines with bfloat16.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        config: ReaderConfig,
        bf16: bool | None = None,
        int8: bool = False,
    ) -> None:
        """`model`: `index.bert.BertSpans` (serving) or transformers' BertForQuestionAnswering (training); `tokenizer`:
        a `tokenizers.Tokenizer` or transformers' fast tokenizer (kept as given: training saves it)."""
        if int8 and bf16:
            raise ValueError("the reader runs in int8 or in bfloat16, not both: int8 layers take float32 activations")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.question_tokens = question_budget(config.max_length, config.stride)
        self.windows = window_tokenizer(tokenizer, config.max_length, config.stride)
        self.questions = question_tokenizer(tokenizer)
        self.pad_id = pad_id(self.windows)
        self.config = config
        self.int8 = int8
        self.bf16 = runs_bf16(bf16, int8)
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
        if not (folder / "config.json").exists() or not (folder / TOKENIZER).exists():
            raise FileNotFoundError(
                f"no reader model in {folder}: point QA_READER_MODEL at the shipped one (service/reader/model)"
                f" or train one with `qa train-reader ../shared/data/squad/*.json --output {folder}`"
            )
        card = folder / READER_CONFIG
        uncalibrated = card.exists() and json.loads(card.read_text(encoding="utf-8")).get("uncalibrated")
        if uncalibrated:  # saved by `qa train-reader --skip-calibration`: its thresholds are placeholders
            log.warning("the reader in %s has no calibrated no-answer thresholds yet: %s", folder, uncalibrated)
        bf16 = runs_bf16(bf16, int8)
        # bfloat16 weights rather than float32 ones under autocast, which casts every weight on every pass: in-process
        # `ask` p50 over the 112 gold questions 36.0 -> 31.7 ms, old and new alternating in one process; held-out F1
        # (reader mode) 59.83 against float32's 59.85 (2026-12-02).
        model = load_span_model(folder, torch.bfloat16 if bf16 else torch.float32)
        return cls(model, Tokenizer.from_file(str(folder / TOKENIZER)), ReaderConfig.read(folder), bf16, int8)

    def warm_up(self, windows: int) -> None:
        """Run every padded width once for a batch of `windows` windows, so requests of that size build no kernels."""
        if not self.bf16:
            return
        for width in range(PAD_MULTIPLE, self.config.max_length + 1, PAD_MULTIPLE):
            ids = torch.full((windows, width), self.pad_id, dtype=torch.long)
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
        questions = clipped_questions(self.questions, [question for question, _ in items], self.question_tokens)
        pairs = [(questions[item], items[item][1][passage]) for item, passage in owners]
        windows: list[Encoding] = []
        window_owner: list[int] = []  # the (question, passage) pair each window was cut from
        for owner, encoding in enumerate(self.windows.encode_batch(pairs)):
            for window in (encoding, *encoding.overflowing):
                windows.append(window)
                window_owner.append(owner)
        lengths = [len(window.ids) for window in windows]
        width = max(lengths)
        offsets = np.zeros((len(lengths), width, 2), dtype=np.int64)
        context_mask = np.zeros((len(lengths), width), dtype=bool)
        for index, (window, length) in enumerate(zip(windows, lengths, strict=True)):
            offsets[index, :length] = window.offsets
            context_mask[index, :length] = [sequence_id == 1 for sequence_id in window.sequence_ids]
        start_logits = np.zeros((len(lengths), width), dtype=np.float32)
        end_logits = np.zeros((len(lengths), width), dtype=np.float32)
        # Windows of about the same length go through the model together, a few dozen at a time: padding a batch to
        # its longest window and making one huge pass both cost throughput.
        by_length = sorted(range(len(lengths)), key=lengths.__getitem__)
        device = next(self.model.parameters()).device  # a GPU while a run trains there and evaluates itself
        for first in range(0, len(by_length), WINDOWS_PER_PASS):
            group = by_length[first : first + WINDOWS_PER_PASS]
            # bf16 kernels are built per input shape: rounding widths up to a multiple of 32 keeps the shapes few, so
            # after warm_up() a request almost never pays for building one (p50 of a read 48 -> 34 ms).
            batch = padded([windows[window] for window in group], self.pad_id, PAD_MULTIPLE if self.bf16 else None)
            if device.type != "cpu":
                batch = {name: tensor.to(device) for name, tensor in batch.items()}
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
                logits = self.model(**batch)
            used = max(lengths[window] for window in group)
            start_logits[group, :used] = logits.start_logits[:, :used].float().cpu().numpy()
            end_logits[group, :used] = logits.end_logits[:, :used].float().cpu().numpy()
        outputs = []
        for item in range(len(items)):
            rows = [row for row, owner in enumerate(window_owner) if owners[owner][0] == item]
            if not rows:
                outputs.append(ReaderOutput([], float("inf")))
                continue
            token_spans = best_token_spans(
                start_logits[rows], end_logits[rows], context_mask[rows], self.config.max_answer_tokens
            )
            spans = [
                PassageSpan(
                    passage=owners[window_owner[rows[span.window]]][1],
                    start=int(offsets[rows[span.window], span.start_token, 0]),
                    end=int(offsets[rows[span.window], span.end_token, 1]),
                    score=span.score,
                    null_score=float(start_logits[rows[span.window], 0] + end_logits[rows[span.window], 0]),
                )
                for span in token_spans
            ]
            null = float(np.min(start_logits[rows, 0] + end_logits[rows, 0]))
            outputs.append(ReaderOutput(spans, null))
        return outputs
