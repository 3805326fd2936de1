"""A command imports what it needs and no more: cold start is mostly imports (torch alone is about half of `qa ask`'s)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import BUNDLED_CORPUS
from index.store import IndexStore
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
# Heavy packages that the `qa` command does not need at all to answer: the HTTP stack, sentence-transformers and
# transformers (both models run on index.bert and tokenizers) and what they pull in, and the benchmark's extras.
NEVER_FOR_A_QUESTION = [
    "fastapi",
    "starlette",
    "uvicorn",
    "sentence_transformers",
    "transformers",
    "sklearn",
    "pandas",
    "pyarrow",
    "haystack",
    "matplotlib",
]
MODELS = ["torch", "tokenizers"]


def modules_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_command_loads_no_model_or_web_framework() -> None:
    loaded = modules_after("import service.cli")

    assert not set(loaded) & {*MODELS, *NEVER_FOR_A_QUESTION}


def test_listing_the_index_loads_no_model(tmp_path: Path) -> None:
    IndexBuilder(IndexStore(tmp_path), FakeEmbedder(), ChunkingSettings()).build([BUNDLED_CORPUS])

    loaded = modules_after(
        "from service.cli import main\nassert main(['-q', 'index', 'list']) == 0", {"QA_INDEX_DIR": str(tmp_path)}
    )

    assert "faiss" in loaded  # it did open the index
    assert not set(loaded) & {*MODELS, *NEVER_FOR_A_QUESTION}


@pytest.mark.model
def test_asking_loads_the_models_but_not_the_web_framework_nor_transformers(tmp_path: Path) -> None:
    # No index yet: `qa ask` builds one first, with the same embedder, so building is covered too.
    loaded = modules_after(
        "from service.cli import main\nassert main(['-q', 'ask', 'When was Scale AI founded?']) == 0",
        {"QA_INDEX_DIR": str(tmp_path / "index")},
    )

    assert set(MODELS) <= set(loaded)
    assert not set(loaded) & set(NEVER_FOR_A_QUESTION)
