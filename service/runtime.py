"""Putting the parts together from Settings: open (or build) the index, load the models, return a pipeline."""

import logging
import os
import sys
from collections.abc import Callable

import faiss

from index import stores
from index.builder import IndexBuilder
from index.document_store import DocumentStore, IndexSettings, StoreDocuments, StoreRetriever
from index.embedding import Embedder, EmbedderPrecision, SentenceEmbedder
from index.precision import bf16_supported
from index.store import IndexMismatch, IndexUnavailable
from service.answering.answers import Answerer
from service.answering.pipeline import QAPipeline
from service.api.live_index import LiveIndex
from service.api.model_turn import ModelThread, TurnTakingEmbedder
from service.settings import Settings

log = logging.getLogger(__name__)


def open_store(settings: Settings, create: bool = True) -> DocumentStore:
    """The store QA_STORE names: the FAISS folder QA_INDEX_DIR, or the Milvus collections at QA_MILVUS_URI (a Milvus
    Lite path that does not exist is refused unless `create`)."""
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    return stores.open_store(
        settings.store, settings.index_dir, settings.milvus_uri, token, settings.milvus_collection, create
    )


def describe_store(settings: Settings) -> str:
    return stores.describe(settings.store, settings.index_dir, settings.milvus_uri, settings.milvus_collection)


def make_builder(
    settings: Settings, embedder: Embedder | None = None, progress: bool = False, store: DocumentStore | None = None
) -> IndexBuilder:
    embedder = embedder or index_embedder(settings)
    return IndexBuilder(store or open_store(settings), embedder, settings.chunking, progress=progress)


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    progress: bool = False,
    store: DocumentStore | None = None,
    writer: bool = True,
) -> DocumentStore:
    """The configured store, after building its index from the configured corpus when it holds none, or rebuilding
    it when its model or chunking differ from the settings'. A shared one (a Milvus server) is built or rebuilt only
    by a `writer` with QA_ADMIN_TOKEN (the service's writer replica), never by a process that only asks."""
    store = store or open_store(settings)
    if settings.shared_store and not (writer and settings.writes_enabled):
        check_replica_index(settings, store)  # another process builds it: a read-only replica never drops it
        return store
    builder = make_builder(settings, embedder, progress, store)
    if store.settings() is None:
        log.info("no index in %s: building it from %s", describe_store(settings), ", ".join(map(str, settings.corpus)))
        builder.build(settings.corpus)
        return store
    rebuild_if_changed(settings, store, builder)
    return store


def check_replica_index(settings: Settings, store: DocumentStore) -> None:
    """What a read-only replica of a shared index needs: the index built, under this replica's model and chunking.
    Building or rebuilding it would drop the collections every replica answers from, while another may be filling
    them; that is the writer's job (QA_ADMIN_TOKEN) or `qa index build`'s."""
    stored = store.settings()
    where = describe_store(settings)
    if stored is None:
        raise IndexUnavailable(
            f"no index in {where} yet: build it with `qa index build`, or start the writer (the replica with"
            " QA_ADMIN_TOKEN) first; a read-only replica does not build a shared index"
        )
    reason = stored.mismatch(IndexSettings(settings.embedding_model, stored.dimension, settings.chunking))
    if reason:
        raise IndexUnavailable(
            f"the index in {where} was {reason}: start this process with the index's QA_EMBEDDING_MODEL and QA_CHUNK_*"
            " settings (only a writer, the replica with QA_ADMIN_TOKEN or `qa index build`, rebuilds a shared index)"
        )


def rebuild_if_changed(settings: Settings, store: DocumentStore, builder: IndexBuilder) -> None:
    """Re-embed the stored documents when the index's model or chunking differ from the settings'. The store keeps
    every document's text, so a settings change is fixed here rather than by a build from the corpus, which would drop
    the documents added since."""
    stored = store.settings()
    reason = stored and stored.mismatch(IndexSettings(settings.embedding_model, stored.dimension, settings.chunking))
    if reason:
        log.warning("index in %s was %s: rebuilding it from its stored documents", describe_store(settings), reason)
        builder.rebuild()


# QA_READER_PRECISION as the reader's (bf16, int8) switches; bf16 None: where the CPU runs it natively.
READER_PRECISIONS: dict[str, tuple[bool | None, bool]] = {
    "auto": (None, False),
    "float32": (False, False),
    "bfloat16": (True, False),
    "int8": (False, True),
}


def load_answerer(settings: Settings, warm_up: bool = True, given_passages: bool = False) -> Answerer:
    """The trained span reader, warmed up for the shapes a request makes (a process asking one question skips that).

    `given_passages`: it reads each question's own paragraph (`qa eval --mode reader`), so it abstains by the threshold
    calibrated that way rather than the one calibrated through retrieval. QA_NO_ANSWER_THRESHOLD overrides either."""
    from service.reader.answerer import ReaderAnswerer  # loads torch: only when a process answers

    bf16, int8 = READER_PRECISIONS[settings.reader_precision]
    answerer = ReaderAnswerer.from_dir(settings.reader_model, bf16, int8)
    if settings.no_answer_threshold is not None:
        answerer = ReaderAnswerer(answerer.reader, settings.no_answer_threshold, settings.reader_early_exit)
    elif given_passages:
        answerer = answerer.for_given_passages()
    elif not settings.reader_early_exit:  # QA_READER_EARLY_EXIT=false: every retrieved passage read
        answerer = ReaderAnswerer(answerer.reader, early_exit=False)
    if warm_up:
        answerer.warm_up(settings.top_k or answerer.top_k)
    return answerer


def question_embedder(settings: Settings) -> SentenceEmbedder:
    """The embedder of questions, loaded, at QA_EMBEDDER_PRECISION (the index has its own: `index_precision`)."""
    return SentenceEmbedder(settings.embedding_model, precision=settings.embedder_precision).load()


def index_precision(settings: Settings) -> EmbedderPrecision:
    """QA_INDEX_PRECISION resolved: `auto` is bfloat16 where the CPU runs it natively. On this machine's CPU (AMX) it
    embedded SQuAD paragraphs 2.7x as fast as float32 (53 -> 144 a second), each vector within cosine 0.99998 of the
    float32 one and 99.7% of 300 questions' nearest paragraph unchanged."""
    if settings.index_precision == "auto":
        return "bfloat16" if bf16_supported() else "float32"
    return settings.index_precision


def index_embedder(settings: Settings, questions: Embedder | None = None) -> Embedder:
    """The embedder that builds the index and embeds written documents, at `index_precision`: the question embedder
    itself at the same precision, else one of its own that loads when a build first needs it (a service that takes
    writes loads it at startup). An embedder that is not a SentenceEmbedder (the tests' fake) does both jobs as it is."""
    precision = index_precision(settings)
    if isinstance(questions, SentenceEmbedder):
        return questions.sharing(precision)
    if questions is not None:
        return questions
    return SentenceEmbedder(settings.embedding_model, precision=precision)


def load_pipeline(
    settings: Settings, progress: bool = False, warm_up: bool = True, store: DocumentStore | None = None
) -> QAPipeline:
    """Everything loaded once, ready to answer, over `store` when given (the caller closes it), else the configured one;
    `warm_up=False` for a process that asks one question and exits."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    embedder = question_embedder(settings)
    # `qa ask` and `qa eval` read: on a shared index they never rebuild, whatever QA_ADMIN_TOKEN this shell exports.
    store = ensure_index(settings, index_embedder(settings, embedder), progress, store, writer=False)
    return pipeline_opener(embedder, load_answerer(settings, warm_up), settings)(store.snapshot())


def pipeline_opener(
    embedder: Embedder, answerer: Answerer, settings: Settings
) -> Callable[[DocumentStore], QAPipeline]:
    """Opens a pipeline over a store's snapshot with models already loaded: the listing read once, texts on demand."""
    top_k = settings.top_k or answerer.top_k

    def open_pipeline(snapshot: DocumentStore) -> QAPipeline:
        generation = snapshot.generation()  # before the listing: a live (Milvus) read is then never older than its name
        stored = snapshot.settings()
        reason = stored and stored.mismatch(
            IndexSettings(settings.embedding_model, stored.dimension, settings.chunking)
        )
        if reason:  # rebuilt by a writer under other settings since this process started: its answers would be wrong
            raise IndexMismatch(
                f"the index in {describe_store(settings)} is now {reason}: restart this process with the index's"
                " QA_EMBEDDING_MODEL and QA_CHUNK_* settings"
            )
        listing = snapshot.documents()
        counts = {document_id: entry.chunks for document_id, entry in listing.items()}
        documents = StoreDocuments(snapshot, listing)
        return QAPipeline(StoreRetriever(snapshot, embedder), answerer, documents, top_k, counts, generation, listing)

    return open_pipeline


def load_live_index(
    settings: Settings, embedder: Embedder | None = None, model_thread: ModelThread | None = None
) -> LiveIndex:
    """The service's index: answers from the current generation, and takes document writes when a token is set.

    Everything that runs a model (a first build, the warm-up) runs on the model thread that later reads the questions
    (`model_thread`, else a new one): one thread for torch keeps its forward passes fast (service.api.model_turn)."""
    model_thread = model_thread or ModelThread()
    try:
        return model_thread.run(_load_live_index, settings, embedder, model_thread)
    except BaseException:
        model_thread.shutdown()
        raise


def _load_live_index(settings: Settings, embedder: Embedder | None, model_thread: ModelThread) -> LiveIndex:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    embedder = embedder or question_embedder(settings)
    threads = settings.torch_threads
    if threads and "torch" in sys.modules:  # loaded by a real model; a fake embedder in tests needs none
        sys.modules["torch"].set_num_threads(threads)
    # One question is one row against a small flat index: FAISS's OpenMP team only adds its start-up and, with another
    # process on the cores, its spinning (8 ms a search here against 0.01 ms on one thread). The setting is the calling
    # thread's: this is the model thread, where searches run.
    faiss.omp_set_num_threads(1)
    writes = index_embedder(settings, embedder)
    store = ensure_index(settings, writes)
    builder = None
    if settings.writes_enabled:
        # Written documents embed on the model thread too, in turns with the question batches instead of halving their
        # cores; one thread also means the questions' model and tokenizer can serve the writes without a copy.
        builder = IndexBuilder(store, TurnTakingEmbedder(writes, model_thread), settings.chunking)
        if isinstance(writes, SentenceEmbedder):
            # Loaded and run once now rather than on the first write: a model loading or building its kernels on
            # the model thread holds up every question queued behind it (0.3 s of one load test's samples).
            writes.load().encode(["warm-up"])
    opener = pipeline_opener(embedder, load_answerer(settings), settings)
    return LiveIndex(store, opener, builder, model_thread=model_thread).load()
