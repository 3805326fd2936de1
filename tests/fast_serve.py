"""`qa serve` with the tests' fake embedder and answerer: the real command, server and index code, minus the model
loads (seconds).

The fault test restarts the service 20 times; loading torch and the models each time would take minutes.
"""

import sys
from pathlib import Path

# Run as a script, Python puts tests/ first on sys.path, where tests/index/ and tests/eval/ would stand in for the
# packages they test: the repository root goes before it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import index.embedding
import service.runtime
from service.cli import main
from tests.fakes import FakeAnswerer, FakeEmbedder

index.embedding.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]
service.runtime.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]
service.runtime.load_answerer = lambda settings, warm_up=True: FakeAnswerer()  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main())
