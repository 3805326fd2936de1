"""1,000 requests at concurrency 32 over loopback (/ask, /chat, GET /documents) while a writer adds, replaces and
deletes documents: no 5xx, no connection error, and every citation exact in the generation it was answered from.

The real `qa serve` with the default answerer and the real embedding model. Each read names its generation
(X-Index-Generation) and each write returns the generation it made, so the test rebuilds every generation's documents.
"""

import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from service.api.deps import GENERATION_HEADER
from tests.live_service import report_figure, start_service

REQUESTS = 1000
CONCURRENCY = 32
TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOLD = Path(__file__).resolve().parents[2] / "eval" / "gold.jsonl"
P99_ASK_TARGET_MS = 1000  # issue 16's target on 2 idle AMX cores; reported, not asserted: it depends on the CPU
# Asserted, as ratios to the run's own /ask p50, so that they hold on any CPU (the questions' time is the model's):
# - document reads never wait behind questions: when reader passes ran on the event loop, GET /documents p99 was
#   about /ask's (1220 against 1189 ms); on the model thread it is a small share of the /ask p50 (220 against 815 ms
#   on an AMX CPU, 330 against 4101 ms on an AVX2 one with a training run beside it);
# - no question starves in the queue: batches are taken in arrival order, so p99 stays near p50 (1.2-1.5x measured).
DOCUMENTS_P99_SHARE_OF_ASK_P50 = 0.5
ASK_P99_OVER_P50 = 2.5


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # 5xx and connection errors
    reads: list[tuple[str, str, dict | list]] = field(default_factory=list)  # (kind, generation, body)
    generations: dict[str, dict[str, str]] = field(default_factory=dict)  # generation -> {document id: text}
    writes: int = 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def article(number: int, version: int) -> str:
    """A short article about the same companies as the bundled ones, so questions cite written documents too."""
    return (
        f"Scale AI update {number}. Meta took a {40 + version}% stake in Scale AI, according to report {number}. "
        f"Alexandr Wang founded Scale AI in {2000 + version % 20} and joined Meta's superintelligence unit."
    )


async def read(client: httpx.AsyncClient, kind: str, question: str, results: Results) -> None:
    started = time.perf_counter()
    try:
        if kind == "ask":
            response = await client.post("/ask", json={"question": question})
        elif kind == "chat":
            messages = [{"role": "user", "content": "Who founded Scale AI?"}, {"role": "assistant", "content": "-"}]
            response = await client.post("/chat", json={"messages": [*messages, {"role": "user", "content": question}]})
        else:
            response = await client.get("/documents")
    except httpx.TransportError as error:
        results.errors.append(f"{kind}: {type(error).__name__}: {error}")
        return
    results.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    if response.status_code >= 500 or response.status_code not in (200,):
        results.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return
    results.reads.append((kind, response.headers[GENERATION_HEADER], response.json()))


async def write(client: httpx.AsyncClient, results: Results, done: asyncio.Event) -> None:
    """Add, replace and delete documents one after another until the readers finish."""
    current = dict(results.generations[next(iter(results.generations))])
    rng = random.Random(32)
    number = 0
    while not done.is_set():
        number += 1
        written = [i for i in current if i.startswith("load-")]
        if written and rng.random() < 0.25:
            document_id, text = rng.choice(written), None
            response = await client.delete(f"/documents/{document_id}", headers=AUTH)
        elif written and rng.random() < 0.4:
            document_id, text = rng.choice(written), article(number, number)
            response = await client.put(f"/documents/{document_id}", json={"text": text}, headers=AUTH)
        else:
            document_id, text = f"load-{number}", article(number, number)
            response = await client.post("/documents", json={"id": document_id, "text": text}, headers=AUTH)
        if response.status_code >= 500:
            results.errors.append(f"write: {response.status_code} {response.text[:200]}")
            continue
        assert response.status_code in (200, 201), response.text
        if text is None:
            del current[document_id]
        else:
            current[document_id] = text
        results.generations[response.json()["generation"]] = dict(current)
        results.writes += 1


def citation_problems(results: Results) -> list[str]:
    """Reads whose documents, offsets or texts are not those of the generation they name."""
    problems = []
    for kind, generation, body in results.reads:
        documents = results.generations.get(generation)
        if documents is None:
            problems.append(f"{kind} answered from generation {generation}, which no write made")
            continue
        if kind == "documents":
            listed = {d["id"]: d["length"] for d in body}  # type: ignore[union-attr]
            if listed != {i: len(t) for i, t in documents.items()}:
                problems.append(f"GET /documents in {generation} listed {sorted(listed)}, not {sorted(documents)}")
            continue
        assert isinstance(body, dict)
        spans = [*body["passages"], *body["alternatives"], *([body["answer"]] if body["answer"] else [])]
        spans += [a["context"] for a in [*body["alternatives"], *([body["answer"]] if body["answer"] else [])]]
        for answer in [*body["alternatives"], *([body["answer"]] if body["answer"] else [])]:
            answer["context"]["document_id"] = answer["document_id"]
        for span in spans:
            text = documents.get(span["document_id"])
            if text is None or text[span["start"] : span["end"]] != span["text"]:
                problems.append(f"{kind} in {generation} cites {span['document_id']}[{span['start']}:{span['end']}]")
    return problems


async def run_load(url: str) -> Results:
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(16)
    kinds = rng.choices(["ask", "chat", "documents"], weights=[2, 1, 1], k=REQUESTS)
    results = Results()
    limits = httpx.Limits(max_connections=CONCURRENCY + 1, max_keepalive_connections=CONCURRENCY + 1)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        listed = await client.get("/documents")
        initial = {d["id"]: (await client.get(f"/documents/{d['id']}")).json()["text"] for d in listed.json()}
        results.generations[listed.headers[GENERATION_HEADER]] = initial
        queue: asyncio.Queue[str] = asyncio.Queue()
        for kind in kinds:
            queue.put_nowait(kind)

        async def reader() -> None:
            while not queue.empty():
                await read(client, queue.get_nowait(), rng.choice(questions), results)

        done = asyncio.Event()
        writer = asyncio.create_task(write(client, results, done))
        started = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(CONCURRENCY)))
        results.latencies["all"] = [time.perf_counter() - started]
        done.set()
        await writer
    return results


@pytest.mark.slow
@pytest.mark.model
def test_a_thousand_requests_at_concurrency_32_while_documents_change(tmp_path: Path) -> None:
    service = start_service(tmp_path, {"QA_ADMIN_TOKEN": TOKEN})
    try:
        results = asyncio.run(run_load(service.url))
    finally:
        service.stop()

    elapsed = results.latencies.pop("all")[0]
    served = sum(len(v) for v in results.latencies.values())
    figures = ", ".join(
        f"{kind} p50/p95/p99 {percentile(v, 0.5):.0f}/{percentile(v, 0.95):.0f}/{percentile(v, 0.99):.0f} ms (n={len(v)})"
        for kind, v in sorted(results.latencies.items())
    )
    problems = citation_problems(results)
    p50_ask, p99_ask = percentile(results.latencies["ask"], 0.5), percentile(results.latencies["ask"], 0.99)
    p99_documents = percentile(results.latencies["documents"], 0.99)
    verdict = "met" if p99_ask < P99_ASK_TARGET_MS else "missed"
    report_figure(
        f"load: {REQUESTS} requests at concurrency {CONCURRENCY} in {elapsed:.1f} s, {served / elapsed:.1f} QPS,"
        f" {results.writes} writes meanwhile, {len(results.errors)} errors, {len(problems)} citations outside"
        f" their generation; {figures}; mean /ask {statistics.mean(results.latencies['ask']):.0f} ms;"
        f" p99 /ask target {P99_ASK_TARGET_MS} ms {verdict}"
    )
    assert results.errors == []
    assert problems == []
    assert served == REQUESTS
    assert p99_documents < DOCUMENTS_P99_SHARE_OF_ASK_P50 * p50_ask, "document reads waited behind the questions"
    assert p99_ask < ASK_P99_OVER_P50 * p50_ask, "some questions waited far longer than the queue explains"
