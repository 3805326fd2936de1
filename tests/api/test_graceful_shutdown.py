"""SIGTERM lets an in-flight write finish and be acknowledged; the next start serves it."""

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.live_service import start_service

TOKEN = "shutdown-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.slow
def test_sigterm_during_a_write_lets_it_finish(tmp_path: Path) -> None:
    env = {"QA_ADMIN_TOKEN": TOKEN}
    service = start_service(tmp_path, env, fast=True)
    # Long enough to take a second or more to chunk (pysbd is quadratic in a paragraph), so the signal lands mid-write.
    text = " ".join(f"Sentence {n} says the ferry carries {n} cars." for n in range(2000))
    outcome: dict[str, object] = {}

    def post() -> None:
        try:
            files = {"file": ("long.txt", text.encode())}  # an upload: the text is over the 64 KiB a JSON body may be
            outcome["response"] = httpx.post(service.url + "/documents", files=files, headers=AUTH, timeout=120)
        except httpx.HTTPError as error:
            outcome["error"] = error

    writer = threading.Thread(target=post)
    writer.start()
    time.sleep(0.5)
    in_flight = writer.is_alive()
    service.stop()  # SIGTERM, then waits for the process to exit
    writer.join(timeout=60)
    assert in_flight, "the write finished before the signal; make the document longer"

    response = outcome.get("response")
    assert isinstance(response, httpx.Response), outcome
    assert response.status_code == 201, response.text
    restarted = start_service(tmp_path, env, fast=True)
    try:
        document = httpx.get(restarted.url + "/documents/long")
        assert document.status_code == 200, document.text
        assert document.json()["text"] == text
    finally:
        restarted.stop()
