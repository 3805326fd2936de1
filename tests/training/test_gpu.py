"""Training on a CUDA GPU (`qa train-reader --device cuda`): skipped where torch sees none, as in CI.

On a GPU machine: `python -m pytest --noconftest tests/training/test_gpu.py`. The file imports only what training
needs (no FAISS, settings or packaged MiniLM, which such a machine may lack): it starts from the shipped reader."""

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from eval.squad import load_squad
from service.reader import READER_MODEL_DIR
from service.reader.span_reader import ReaderConfig, SpanReader
from service.training.checkpoint import load_checkpoint
from service.training.device import training_device
from service.training.stages import plan_stages, run_stages
from service.training.train import TrainConfig

SQUAD_TINY = Path(__file__).parents[1] / "fixtures" / "squad_tiny.json"

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_steps_on_a_gpu_learn_checkpoint_and_read_as_on_the_cpu(tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(READER_MODEL_DIR)
    config = TrainConfig(
        base_model=str(READER_MODEL_DIR), abstain_epochs=0, batch_size=4, max_length=96, stride=32, checkpoint_seconds=0
    )
    model = AutoModelForQuestionAnswering.from_pretrained(config.base_model, dtype=torch.float32)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    stages = plan_stages(load_squad(SQUAD_TINY), config, tokenizer)

    run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path, resume=False, device=training_device("cuda"))

    assert next(model.parameters()).device.type == "cuda"
    state = load_checkpoint(tmp_path)  # onto the CPU, as a later process on another machine would
    assert state["position"].stage == 1 and "cuda_rng" in state
    assert any(not torch.equal(state["model"][name], value) for name, value in before.items()), "it learnt"

    reader = SpanReader(model, tokenizer, ReaderConfig(config.max_length, config.stride), bf16=False)
    passage = "The move came days after Meta took a 49% stake in Scale and hired its founder, Alexandr Wang."
    on_gpu = reader.read("How much of Scale did Meta buy?", [passage])
    model.to("cpu")
    on_cpu = reader.read("How much of Scale did Meta buy?", [passage])
    assert [(s.start, s.end) for s in on_gpu.spans[:3]] == [(s.start, s.end) for s in on_cpu.spans[:3]]
    assert on_gpu.null_score == pytest.approx(on_cpu.null_score, abs=1e-2)
