"""Shared fixtures: the tiny corpus on disk, the fake embedder, and the bundled articles indexed with it."""

from pathlib import Path

import pytest

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import BUNDLED_CORPUS
from index.store import IndexStore
from tests.fakes import TINY_CORPUS, FakeEmbedder, write_files


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    return write_files(tmp_path / "corpus", TINY_CORPUS)


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled articles indexed with the fake embedder and default chunking; tests load it, never save to it."""
    folder = tmp_path_factory.mktemp("bundled-index")
    IndexBuilder(IndexStore(folder), FakeEmbedder(), ChunkingSettings()).build([BUNDLED_CORPUS])
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault, fuzz and load tests' figures, so CI's log shows them."""
    from tests.live_service import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
