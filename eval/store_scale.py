"""Scale figures of the two stores: ~20k SQuAD paragraphs indexed into each, then `/ask` over `qa serve` on it.

`python -m eval.store_scale` takes the paragraphs as `qa bench`'s scale section does (`../shared/data/squad`, all three
files, spread evenly) with the bundled articles, chunks and embeds them once with the model loaded, and writes the same
vectors into the FAISS store and the Milvus store (Milvus Lite in a folder, or `--milvus-uri`). For each store it
reports the build (chunks/s over the embedding and that store's write), then starts `qa serve` on it with
`QA_STORE` set and measures `/ask` from one client over the gold questions (p50, p95), the time to ready and the
server's peak memory. With Milvus Lite the engine runs inside `qa serve`, so its memory is in the figure; with a server
URI it is not. Not part of CI: the embedding alone takes minutes.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from eval.bench import SQUAD_DIR, _squad_paragraphs, gold_questions
from eval.bench_load import run_load
from eval.bench_server import peak_rss_mb, serve
from index.chunking import chunk_document
from index.document_store import DocumentStore, EmbeddedDocument, IndexSettings
from index.documents import BUNDLED_CORPUS, Document, load_documents
from index.embedding import Embedder, SentenceEmbedder
from index.stores import open_store
from service.runtime import index_precision
from service.settings import Settings

COLLECTION = "scale"


def embed(documents: list[Document], embedder: Embedder, settings: Settings) -> tuple[list[EmbeddedDocument], float]:
    """Every document chunked and embedded (one call, full batches), and the seconds it took."""
    started = time.perf_counter()
    chunked = [chunk_document(d, settings.chunking) for d in documents]
    vectors = embedder.encode([c.text for chunks in chunked for c in chunks], progress=True)
    embedded, first = [], 0
    for document, chunks in zip(documents, chunked, strict=True):
        embedded.append(EmbeddedDocument(document, chunks, vectors[first : first + len(chunks)]))
        first += len(chunks)
    return embedded, time.perf_counter() - started


def write(store: DocumentStore, embedded: list[EmbeddedDocument], settings: IndexSettings) -> float:
    """Seconds to write them as a new index into `store` (closed after, so `qa serve` can open it)."""
    started = time.perf_counter()
    try:
        store.write(settings, embedded, fresh=True)
    finally:
        store.close()
    return time.perf_counter() - started


def ask_figures(env: dict[str, str], questions: list[str], requests: int) -> dict:
    """`qa serve` with `env`, a warm-up, then `requests` questions from one client."""
    bodies = [{"question": q} for q in questions]
    with serve(env) as server:
        run_load(server.base_url, bodies, 1, min(5, len(bodies)))  # first requests pay for lazy set-up
        load = run_load(server.base_url, bodies, 1, requests).to_json()
        return {**load, "ready_s": round(server.ready_s, 2), "peak_rss_mb": peak_rss_mb(server.pid)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.store_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad-dir", type=Path, default=SQUAD_DIR)
    parser.add_argument("--paragraphs", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="/ask requests per store, one client")
    parser.add_argument("--stores", default="faiss,milvus", help="comma-separated: faiss, milvus")
    parser.add_argument("--milvus-uri", help="a Milvus server or cluster; default: Milvus Lite in the work folder")
    parser.add_argument("--milvus-token", default="")
    parser.add_argument("--workdir", type=Path, help="keep the indexes here (default: a temporary folder)")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)

    files = [args.squad_dir / f"squad-v{v}-train.json" for v in ("1.0", "1.1", "2.0")]
    if not any(path.is_file() for path in files):
        print(f"no SQuAD files in {args.squad_dir} (--squad-dir)", file=sys.stderr)
        return 2
    settings = Settings()
    documents = load_documents([BUNDLED_CORPUS]) + _squad_paragraphs([p for p in files if p.is_file()], args.paragraphs)
    embedder = SentenceEmbedder(settings.embedding_model, precision=index_precision(settings)).load()  # as `qa serve`
    embedded, embed_s = embed(documents, embedder, settings)
    chunks = sum(len(e.chunks) for e in embedded)
    index_settings = IndexSettings(embedder.model_id, int(embedded[0].vectors.shape[1]), settings.chunking)
    del embedder
    questions = gold_questions(None)
    figures: dict = {"documents": len(documents), "chunks": chunks, "embed_s": round(embed_s, 2), "stores": {}}
    with tempfile.TemporaryDirectory(prefix="qa-store-scale-") as temporary:
        workdir = args.workdir or Path(temporary)
        milvus_uri = args.milvus_uri or str(workdir / "milvus.db")
        env = {
            "QA_INDEX_DIR": str(workdir / "index"),
            "QA_MILVUS_URI": milvus_uri,
            "QA_MILVUS_TOKEN": args.milvus_token,
            "QA_MILVUS_COLLECTION": COLLECTION,
        }
        for kind in args.stores.split(","):
            store = open_store(kind, workdir / "index", milvus_uri, args.milvus_token, COLLECTION)  # type: ignore[arg-type]
            write_s = write(store, embedded, index_settings)
            build = {"write_s": round(write_s, 2), "chunks_per_s": round(chunks / (embed_s + write_s), 1)}
            print(f"{kind}: built in {embed_s + write_s:.1f} s ({build['chunks_per_s']} chunks/s)", file=sys.stderr)
            figures["stores"][kind] = {
                "build": build,
                "ask": ask_figures(env | {"QA_STORE": kind}, questions, args.requests),
            }
    print(json.dumps(figures, indent=2))
    if args.output:
        args.output.write_text(json.dumps(figures, indent=2))
    for kind, found in figures["stores"].items():
        ask = found["ask"]
        print(
            f"{kind:<7} build {found['build']['chunks_per_s']:>7} chunks/s   /ask p50 {ask.get('p50_ms')} ms"
            f" p95 {ask.get('p95_ms')} ms   errors {ask['errors']}   peak {ask['peak_rss_mb']} MB",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
