"""The reader's training run as stages, each a few passes with its own warm-up and decay, resumable at any checkpoint.

Stage "answerable" reads every answerable training question (the full SQuAD 1.0 training set with the share's); stage
"abstain" then starts from its weights and, at a lower rate, reads the SQuAD 2.0 questions the articles' writers made
unanswerable, the other questions of their articles, a sample of the rest and synthetic negatives made from them.
"""

import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import get_linear_schedule_with_warmup

from eval.squad import SquadQuestion
from service.training.checkpoint import Position, check_resumable, load_checkpoint, save_checkpoint
from service.training.data import (
    collate,
    companion_contexts,
    featurize,
    length_grouped_batches,
    reference_targets,
    with_answer_removed_negatives,
    with_retrieved_negatives,
    with_shuffled_negatives,
    with_swapped_negatives,
)
from service.training.device import CPU, bf16_autocast
from service.training.synthetic import cloze_questions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    name: str
    features: list[dict]
    epochs: int
    learning_rate: float


def abstain_questions(train_set: list[SquadQuestion], config, rng: random.Random) -> list[SquadQuestion]:
    """Stage two's questions: every question of an article with written unanswerables, topped up with a random sample
    of other answerable ones to `config.abstain_answerable`, plus synthetic negatives made from the answerable ones."""
    titles = {q.title for q in train_set if not q.answerable}
    chosen = [q for q in train_set if q.title in titles]
    others = [q for q in train_set if q.title not in titles]
    wanted = max(0, config.abstain_answerable - sum(q.answerable for q in chosen))
    chosen += rng.sample(others, min(wanted, len(others)))
    chosen = with_shuffled_negatives(chosen, config.shuffled_negatives, rng)
    chosen = with_answer_removed_negatives(chosen, config.answer_removed_negatives, rng)
    chosen = with_swapped_negatives(chosen, config.swapped_negatives, rng)
    return with_retrieved_negatives(chosen, config.retrieved_negatives, rng, pool=train_set)


def plan_stages(train_set: list[SquadQuestion], config, tokenizer) -> list[Stage]:
    """The run's stages with their windows; the same files and config always give the same stages."""
    rng = random.Random(config.seed)

    def windows(questions: list[SquadQuestion], companions: int = 0) -> list[dict]:
        paired = companion_contexts(questions, companions, pool=train_set)
        return featurize(questions, tokenizer, config.max_length, config.stride, paired)

    stages = []
    if config.cloze_per_paragraph:
        cloze = cloze_questions(train_set, config.cloze_per_paragraph, rng)
        stages.append(Stage("cloze", windows(cloze), 1, config.learning_rate))
    answerable = [q for q in train_set if q.answerable]
    if 0 < config.answerable_sample < len(answerable):  # a shorter later pass: a random share, in article order
        keep = set(rng.sample(range(len(answerable)), config.answerable_sample))
        answerable = [q for i, q in enumerate(answerable) if i in keep]
    if config.epochs:  # 0: a pass of stage abstain alone, from weights that have read the answerable questions
        answerable_windows = windows(answerable, config.retrieved_companions)
        stages.append(Stage("answerable", answerable_windows, config.epochs, config.learning_rate))
    if config.abstain_epochs:
        abstain = abstain_questions(train_set, config, rng)
        abstain_windows = windows(abstain, config.retrieved_companions)
        stages.append(Stage("abstain", abstain_windows, config.abstain_epochs, config.abstain_learning_rate))
    return [stage for stage in stages if stage.features]


def parameter_groups(model, config, learning_rate: float | None = None) -> list[dict]:
    """AdamW groups: no weight decay on biases and LayerNorm; with layer_decay < 1, lower rates for lower layers
    (layer-wise learning-rate decay: the span head and top layer learn fastest, the embeddings slowest)."""
    rate = config.learning_rate if learning_rate is None else learning_rate
    no_decay = ("bias", "LayerNorm.weight")
    layers = model.config.num_hidden_layers

    def depth(name: str) -> int:  # 0: embeddings ... layers + 1: the span head
        found = re.search(r"\.layer\.(\d+)\.", name)
        return int(found.group(1)) + 1 if found else 0 if "embeddings" in name else layers + 1

    groups: dict[tuple[int, bool], dict] = {}
    for name, parameter in model.named_parameters():
        decayed = not name.endswith(no_decay)
        level = depth(name) if config.layer_decay != 1.0 else layers + 1
        group = groups.setdefault(
            (level, decayed),
            {
                "params": [],
                "weight_decay": config.weight_decay if decayed else 0.0,
                "lr": rate * config.layer_decay ** (layers + 1 - level),
            },
        )
        group["params"].append(parameter)
    return list(groups.values())


def batch_loss(model, batch: list[dict], pad_id: int, all_references: bool, device: torch.device = CPU) -> torch.Tensor:
    """Cross-entropy of start and end: against the first reference answer (the model's own loss), or against soft
    targets over all of them. Windows that carry companions (`data.featurize`) add a shared-normalisation term.
    The batch is collated on the CPU and computed on `device`, where the model is."""
    companions = [companion for feature in batch for companion in feature.get("companions", ())]
    inputs = {name: tensor.to(device) for name, tensor in collate(batch + companions, pad_id).items()}
    if not all_references and not companions:
        return model(**inputs).loss
    del inputs["start_positions"], inputs["end_positions"]
    outputs = model(**inputs)
    width = inputs["input_ids"].shape[1]
    starts, ends = reference_targets(batch, width) if all_references else first_reference_targets(batch, width)
    starts, ends = starts.to(device), ends.to(device)
    start_logits, end_logits = outputs.start_logits.float(), outputs.end_logits.float()
    own = len(batch)
    start_loss = -(starts * torch.log_softmax(start_logits[:own], dim=-1)).sum(-1).mean()
    end_loss = -(ends * torch.log_softmax(end_logits[:own], dim=-1)).sum(-1).mean()
    loss = (start_loss + end_loss) / 2
    if companions:
        lengths = inputs["attention_mask"].sum(1).tolist()
        loss = (
            loss
            + (shared_loss(start_logits, starts, batch, lengths) + shared_loss(end_logits, ends, batch, lengths)) / 2
        )
    return loss


def first_reference_targets(batch: list[dict], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot start and end targets at each window's label (the first reference answer, or [CLS])."""
    starts = torch.zeros((len(batch), width))
    ends = torch.zeros((len(batch), width))
    for row, feature in enumerate(batch):
        starts[row, feature["start_positions"]] = 1
        ends[row, feature["end_positions"]] = 1
    return starts, ends


def shared_loss(logits: torch.Tensor, targets: torch.Tensor, batch: list[dict], lengths: list[int]) -> torch.Tensor:
    """Shared normalisation (Clark & Gardner, 2018): for each window holding its answer, one softmax over its tokens and
    those of its companions, the other paragraphs retrieval would hand the reader beside it, so that the answer's
    score must beat every span there, not only those of its own window. [CLS] stays out on every side: whether a
    window answers at all is the per-window loss's to learn, and a companion is not trained towards no answer.
    `logits` has the batch's rows first, then every companion's, in order."""
    terms = []
    first = len(batch)  # the row of this window's first companion
    for row, feature in enumerate(batch):
        count = len(feature.get("companions", ()))
        group = [row, *range(first, first + count)]
        first += count
        if not count or not feature["references"]:
            continue
        scores = torch.cat([logits[member, 1 : lengths[member]] for member in group])
        wanted = targets[row, 1 : lengths[row]]
        terms.append(-(wanted * torch.log_softmax(scores, dim=-1)[: wanted.shape[0]]).sum())
    return torch.stack(terms).mean() if terms else logits.new_zeros(())


def move_schedule(scheduler, optimizer, steps: int) -> None:
    """Put a fresh warm-up-and-decay schedule `steps` steps in, as if it had been stepped that often."""
    state = scheduler.state_dict()
    scheduler.load_state_dict({**state, "last_epoch": steps, "_step_count": steps + 1})
    rates = [base * rate(steps) for base, rate in zip(scheduler.base_lrs, scheduler.lr_lambdas, strict=True)]
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        group["lr"] = rate
    scheduler._last_lr = rates


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    """Progress lines with windows/s and the ETA of the stage and of the whole run (from this process's own pace)."""

    def __init__(self, stages: list[Stage], start: Position, batch_size: int) -> None:
        self.batch_size = batch_size
        self.sizes = [len(stage.features) for stage in stages]
        self.epochs = [stage.epochs for stage in stages]
        self.stages = stages
        self.started = time.monotonic()
        self.windows = 0  # read, companions included: the pace shown
        self.labelled = 0  # the stages' own windows: what `remaining` counts, so the pace the ETAs divide by

    def remaining(self, position: Position, stage_only: bool) -> int:
        stage = position.stage
        left = self.sizes[stage] * (self.epochs[stage] - position.epoch + 1) - position.step * self.batch_size
        if not stage_only:
            left += sum(self.sizes[i] * self.epochs[i] for i in range(stage + 1, len(self.sizes)))
        return max(0, left)

    def report(self, position: Position, steps: int, loss: torch.Tensor, windows: int, labelled: int) -> None:
        """`loss`: the step's, still on its device; read (a wait for the device) only on the steps that are logged."""
        self.windows += windows
        self.labelled += labelled
        elapsed = time.monotonic() - self.started
        pace = self.labelled / elapsed if elapsed else 0.0
        stage = self.stages[position.stage]
        if position.step % 50 == 0 or position.step == steps:
            log.info(
                "%s epoch %d/%d step %d/%d loss %.3f | %.1f windows/s | stage ETA %s, run ETA %s",
                stage.name,
                position.epoch,
                stage.epochs,
                position.step,
                steps,
                loss.item(),
                self.windows / elapsed if elapsed else 0.0,
                _duration(self.remaining(position, True) / pace) if pace else "?",
                _duration(self.remaining(position, False) / pace) if pace else "?",
            )


def run_stages(
    model,
    stages: list[Stage],
    config,
    pad_id: int,
    checkpoints: Path,
    resume: bool,
    evaluate: Callable[[], dict] | None = None,
    stage_done: Callable[[Stage], None] | None = None,
    warm_start: tuple[dict, Position] | None = None,
    device: torch.device = CPU,
) -> float:
    """Train through every stage, writing a checkpoint every `config.checkpoint_seconds` and at each epoch's end.

    With `resume`, continue from the last checkpoint (refused where there is none and no `warm_start`): the batch
    order of an epoch is drawn from its own seed and the dropout RNG is restored, so a resumed run takes the very steps
    an uninterrupted one would. Returns the training time in seconds, summed over every process of the run.

    `warm_start` (weights, position), used when `resume` finds no checkpoint: continue from exported fp16 weights of an
    unfinished run (`qa train-reader --export-checkpoint`) with a fresh optimiser and the schedule moved to the
    position: close to the uninterrupted run, not the same (Adam's moments restart).

    The model moves to `device` and is trained there. A checkpoint loads on any device. On the CPU a resumed run is
    the same as an uninterrupted one; on a GPU (its RNG is saved too) it is close, not bitwise: CUDA's backward kernels
    (embedding, attention) add in no fixed order.
    """
    if resume and not warm_start:
        check_resumable(checkpoints)
    model.to(device)
    state = load_checkpoint(checkpoints) if resume else None
    start = state["position"] if state else Position(0, 1, 0)
    if state:
        model.load_state_dict(state["model"])
        log.info("resuming at stage %d epoch %d step %d", start.stage + 1, start.epoch, start.step)
    elif resume and warm_start:
        weights, start = warm_start
        model.load_state_dict({name: value.float() for name, value in weights.items()})
        torch.manual_seed(config.seed + 1 + start.step)
        log.warning(
            "no checkpoint: warm start from exported weights at stage %d epoch %d step %d",
            start.stage + 1,
            start.epoch,
            start.step,
        )
    else:
        torch.manual_seed(config.seed)
    progress = Progress(stages, start, config.batch_size) if start.stage < len(stages) else None
    last_save = last_eval = began = time.monotonic()
    earlier = state.get("seconds", 0.0) if state else 0.0

    def seconds() -> float:
        return earlier + time.monotonic() - began

    for index, stage in enumerate(stages):
        if index < start.stage:
            continue
        steps = math.ceil(len(stage.features) / config.batch_size)
        optimizer = torch.optim.AdamW(parameter_groups(model, config, stage.learning_rate), lr=stage.learning_rate)
        total = steps * stage.epochs
        scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
        first_epoch, skip = (start.epoch, start.step) if index == start.stage else (1, 0)
        if state and index == start.stage:
            if (first_epoch, skip) != (1, 0):  # a stage that has begun: its optimiser and schedule go on
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            if device.type == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state(state["cuda_rng"], device)
        elif not state and warm_start and index == start.stage:
            move_schedule(scheduler, optimizer, (first_epoch - 1) * steps + skip)
        if (first_epoch, skip) == (1, 0):
            log.info(
                "stage %s: %d windows (and %d companion windows) x %d epochs, lr %g",
                stage.name,
                len(stage.features),
                sum(len(feature.get("companions", ())) for feature in stage.features),
                stage.epochs,
                stage.learning_rate,
            )
        for epoch in range(first_epoch, stage.epochs + 1):
            batches = length_grouped_batches(
                stage.features, config.batch_size, random.Random(f"{config.seed}/{stage.name}/{epoch}")
            )
            model.train()
            for step in range(skip + 1, steps + 1):
                batch = batches[step - 1]
                with bf16_autocast(device, config.bf16):
                    loss = batch_loss(model, batch, pad_id, config.all_references, device)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                position = Position(index, epoch, step)
                windows = len(batch) + sum(len(feature.get("companions", ())) for feature in batch)
                progress.report(position, steps, loss.detach(), windows, len(batch))
                if step < steps and time.monotonic() - last_save >= config.checkpoint_seconds:
                    save_checkpoint(checkpoints, position, model, optimizer, scheduler, seconds())
                    last_save = time.monotonic()
                if evaluate and step < steps and time.monotonic() - last_eval >= config.evaluate_seconds:
                    log.info("%s epoch %d step %d: calibration %s", stage.name, epoch, step, evaluate())
                    model.train()
                    last_eval = time.monotonic()
            skip = 0
            following = Position(index, epoch + 1, 0) if epoch < stage.epochs else Position(index + 1, 1, 0)
            save_checkpoint(checkpoints, following, model, optimizer, scheduler, seconds())
            last_save = time.monotonic()
            if evaluate:
                log.info("%s epoch %d done: calibration %s", stage.name, epoch, evaluate())
                last_eval = time.monotonic()
        if stage_done:
            stage_done(stage)
    model.eval()
    return seconds()
