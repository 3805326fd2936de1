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
from service.training import stages as reader_stages
from service.training.checkpoint import load_checkpoint
from service.training.device import training_device
from service.training.stages import plan_stages, run_stages
from service.training.train import TrainConfig
from tests.training.tiny_runs import SQUAD_TINY, killed_after, tiny_run_config

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    # A warning only a GPU stack gives (a kernel's notice, say) must not fail a check run in minutes of lent time.
    pytest.mark.filterwarnings("default"),
]


def tiny(**changes) -> tuple[TrainConfig, object, list]:
    config = tiny_run_config(str(READER_MODEL_DIR), **{"epochs": 1, "abstain_epochs": 0, **changes})
    tokenizer = AutoTokenizer.from_pretrained(READER_MODEL_DIR)
    torch.manual_seed(config.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(config.base_model, dtype=torch.float32)
    return config, (model, tokenizer), plan_stages(load_squad(SQUAD_TINY), config, tokenizer)


@pytest.mark.parametrize(
    "changes",
    [{}, {"all_references": True}, {"retrieved_companions": 1}],
    ids=["first-reference", "soft-targets", "companions"],
)
def test_steps_on_a_gpu_learn_checkpoint_and_read_as_on_the_cpu(tmp_path: Path, changes: dict) -> None:
    config, (model, tokenizer), stages = tiny(**changes)
    before = {name: value.clone() for name, value in model.state_dict().items()}

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
    assert (on_gpu.spans[0].start, on_gpu.spans[0].end) == (on_cpu.spans[0].start, on_cpu.spans[0].end)
    assert on_gpu.null_score == pytest.approx(on_cpu.null_score, abs=1e-2)


def test_a_run_killed_on_a_gpu_resumes_there_close_to_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cuda = training_device("cuda")
    config, (model, tokenizer), stages = tiny(epochs=2)
    run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "whole", resume=False, device=cuda)
    uninterrupted = {name: value.cpu() for name, value in model.state_dict().items()}

    real_save = reader_stages.save_checkpoint
    monkeypatch.setattr(reader_stages, "save_checkpoint", killed_after(real_save, 3))
    config, (model, tokenizer), stages = tiny(epochs=2)
    with pytest.raises(KeyboardInterrupt):
        run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "split", resume=False, device=cuda)
    monkeypatch.setattr(reader_stages, "save_checkpoint", real_save)
    config, (model, tokenizer), stages = tiny(epochs=2)
    run_stages(model, stages, config, tokenizer.pad_token_id, tmp_path / "split", resume=True, device=cuda)

    resumed = {name: value.cpu() for name, value in model.state_dict().items()}
    assert load_checkpoint(tmp_path / "split")["position"].stage == len(stages)
    for name, value in uninterrupted.items():  # CUDA's backward passes add in no fixed order: close, not equal
        assert torch.allclose(resumed[name], value, atol=1e-3), name
