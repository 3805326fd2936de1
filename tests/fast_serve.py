"""`qa serve` with the tests' fake embedder and answerer: the real command, server and index code, minus the model
loads (seconds).

The fault test restarts the service 20 times; loading torch and the models each time would take minutes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeAnswerer, FakeEmbedder

import index.embedding
import service.runtime
from service.cli import main

index.embedding.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]
service.runtime.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]
service.runtime.load_answerer = lambda settings: FakeAnswerer()  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main())
