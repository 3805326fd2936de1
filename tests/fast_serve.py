"""`qa serve` with the tests' fake embedder: the real command, server and index code, minus the model load (seconds).

The fault test restarts the service 20 times; loading torch and the model each time would take minutes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder

import index.embedding
import service.runtime
from service.cli import main

index.embedding.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]
service.runtime.SentenceEmbedder = FakeEmbedder  # type: ignore[misc]

if __name__ == "__main__":
    sys.exit(main())
