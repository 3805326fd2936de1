"""The `qa` command: serve, ask, manage the index, evaluate, benchmark, train the reader."""

import argparse
import logging
import os
import socket
import sys
from contextlib import closing
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from index.documents import DocumentError
from index.store import IndexUnavailable
from service.settings import MAX_TOP_K, Settings, unknown_settings

# No automatic highlighting: it would colour every number and quote of an article's sentence, not the answer alone.
console = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not hasattr(args, "rest"):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:  # `qa train-reader --help`, or options before the SQuAD files: the trainer parses its own arguments
        args.rest = unknown + args.rest
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    if args.quiet:
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # transformers' "Loading weights" bar reads this switch
    for name in unknown_settings(dict(os.environ)):
        logging.getLogger("qa").warning("%s is not a setting: ignored (the settings are in the README)", name)
    # Exit 2 with one line saying why when a command cannot do its work (as argparse does for a bad option); 1 is
    # for work done whose result fails (`qa eval --thresholds`), 130 for Ctrl-C.
    try:
        return args.run(args) or 0
    except ValidationError as error:  # a question or option the request's schema refuses, or a QA_ setting
        message = _refused(error)
    except (DocumentError, IndexUnavailable, ValueError) as error:
        message = str(error)
    except OSError as error:  # a file that cannot be read or written: named on one line, not a traceback
        message = (f"{error.filename}: " if error.filename else "") + (error.strerror or str(error))
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
    errors.print(f"[red]error:[/red] {escape(message)}")
    return 2


def _refused(error: ValidationError) -> str:
    """A validation error as one line: where (a QA_ variable for a setting), then pydantic's sentence."""
    item = error.errors()[0]
    where = ".".join(str(part) for part in item["loc"])
    if error.title == "Settings":
        where = "QA_" + where.upper()
    message = str(item["msg"]).removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {message}{more}" if where else message + more


def _top_k(value: str) -> int:
    """--top-k as a number of passages, refused in the flag's own words (as /ask's schema bounds it)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of passages (1-{MAX_TOP_K})") from None
    if not 1 <= number <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"{number} passages: give 1-{MAX_TOP_K}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Answers from news articles with exact, cited spans.")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service (builds the index first if it is missing)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.set_defaults(run=_serve)

    ask = commands.add_parser("ask", help="answer one question from the command line")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=_top_k, help=f"passages to retrieve (1-{MAX_TOP_K})")
    ask.add_argument("--json", action="store_true", help="print the /ask response as JSON")
    ask.set_defaults(run=_ask)

    index = commands.add_parser("index", help="build, update or list the index").add_subparsers(
        required=True, metavar="ACTION"
    )
    build = index.add_parser("build", help="build the index from scratch (default: the bundled articles)")
    build.add_argument("paths", nargs="*", type=Path, help="files or folders (.txt, .md, .html)")
    build.add_argument(
        "--replace",
        action="store_true",
        help="drop the indexed documents that are not among these files (added over HTTP or with `index add`);"
        " without it such an index is left as it is",
    )
    build.set_defaults(run=_index_build)
    add = index.add_parser("add", help="add documents, or replace changed ones; unchanged ones are skipped")
    add.add_argument("paths", nargs="+", type=Path)
    add.set_defaults(run=_index_add)
    listing = index.add_parser("list", help="list the indexed documents")
    listing.set_defaults(run=_index_list)

    evaluate = commands.add_parser("eval", help="measure answers against gold questions or a SQuAD file")
    evaluate.add_argument(
        "--dataset",
        type=Path,
        action="append",
        help="JSONL gold set or SQuAD v1.1/v2.0 JSON (default: eval/gold.jsonl); repeat to merge SQuAD files",
    )
    evaluate.add_argument("--mode", choices=["open", "reader"], default="open")
    evaluate.add_argument("--output", type=Path, help="write the figures and per-question records as JSON")
    evaluate.add_argument("--limit", type=positive, help="evaluate N questions, sampled evenly over the dataset")
    evaluate.add_argument(
        "--articles",
        help="SQuAD only: comma-separated article titles to keep, or 'held-out' for the reader's test articles",
    )
    evaluate.add_argument("--thresholds", type=Path, help="fail (exit 1) when a figure misses these thresholds")
    evaluate.set_defaults(run=_eval)

    bench = commands.add_parser(
        "bench", help="benchmark against Haystack: latency, load, scale, cold start", add_help=False
    )
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(run=lambda args: __import__("eval.bench").bench.main(args.rest))

    train = commands.add_parser("train-reader", help="fine-tune the span reader on SQuAD files", add_help=False)
    train.add_argument("rest", nargs=argparse.REMAINDER)
    train.set_defaults(run=lambda args: __import__("service.training.train").training.train.main(args.rest))
    return parser


def positive(value: str) -> int:
    """An argparse type: a whole number of 1 or more (`qa eval --limit`, and `qa bench`'s counts)."""
    try:
        number = int(value)
    except ValueError:  # argparse would say "invalid positive value", naming this function
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (1 or more)") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _port(text: str) -> int:
    number = int(text) if text.isdigit() else -1
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is a number from 1 to 65535, not {text!r}")
    return number


def _check_listening(host: str, port: int) -> None:
    """Refuse a host and port the server could not listen on now, before minutes of loading models: a port in use, an
    address this machine does not have, a host name that does not resolve. (Another process may still take the port
    in between; uvicorn then says so.)"""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no hindrance
            probe.bind(address)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(f"cannot listen on {host}:{port}: {reason}") from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api.model_turn import ModelThread
    from service.app import create_app
    from service.runtime import ensure_index, index_embedder

    _check_listening(args.host, args.port)
    settings = Settings()
    # A first build embeds on the thread that then serves the models: torch is fastest on one thread only.
    model_thread = ModelThread()
    try:
        store = model_thread.run(lambda: ensure_index(settings, index_embedder(settings), progress=not args.quiet))
    except KeyboardInterrupt:
        # The build goes on in the model thread, which the interpreter would wait for at exit; a build switches to
        # its new generation only once it is complete, so stopping it here leaves the index as it was.
        errors.print("interrupted: the index was left as it was")
        sys.stdout.flush()
        os._exit(130)
    # Held open while serving: Milvus Lite's embedded server then starts once, shared with the app's store.
    with closing(store):
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish (up to the grace period), then runs the
        # lifespan's shutdown, which waits for a document write to reach its generation switch.
        uvicorn.run(
            create_app(settings, model_thread=model_thread),
            host=args.host,
            port=args.port,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            # -q: warnings and errors only, as every command (no start-up lines, no line per request)
            log_level="warning" if args.quiet else "info",
            access_log=not args.quiet,
        )
    return 0


def _ask(args: argparse.Namespace) -> int:
    from service.api.schemas import AskRequest, AskResponse, too_long
    from service.runtime import load_pipeline, open_store

    try:
        args.question.encode("utf-8")
    except UnicodeEncodeError as error:  # bytes the shell passed that are not UTF-8 (a Latin-1 file's text, say)
        raise ValueError(f"question: not valid UTF-8 (character {error.start + 1}); give it as UTF-8 text") from None
    request = AskRequest(question=args.question, top_k=args.top_k)
    settings = Settings()
    refused = too_long("question", request.question, settings.max_question_chars)  # QA_MAX_QUESTION_CHARS, as served
    if refused:
        raise ValueError(f"question: {refused}")
    with closing(open_store(settings)) as store:
        # One question, then exit: warming the reader up for every request shape would cost more than it saves.
        response = AskResponse.of(
            load_pipeline(settings, store=store, warm_up=False).ask(request.question, request.top_k)
        )
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    answer = response.answer
    if answer is None:
        console.print(f"[yellow]{escape(response.reason or 'The articles do not say.')}[/yellow]")
        for passage in response.passages[:2]:
            console.print(f"  closest: {escape(passage.title)} [{passage.start}:{passage.end}]")
        return 0
    context = answer.context
    before = context.text[: answer.start - context.start]
    after = context.text[answer.end - context.start :]
    console.print(f"[bold]{escape(answer.text)}[/bold]  (confidence {answer.score:.2f})")
    console.print(f"  {escape(answer.title)} · {answer.document_id} [{answer.start}:{answer.end}]")
    # Colour marks the span on a terminal that shows colour; piped, redirected or TERM=dumb, Markdown's ** marks it.
    coloured = console.is_terminal and console.color_system is not None
    marked = f"[bold yellow]{escape(answer.text)}[/bold yellow]" if coloured else f"**{escape(answer.text)}**"
    console.print(f"  “{escape(before)}{marked}{escape(after)}”")
    for alternative in response.alternatives:
        console.print(f"  also: {escape(alternative.text)} ({escape(alternative.title)}, {alternative.score:.2f})")
    return 0


def _report(report) -> None:
    removed = f", removed {len(report.removed)}" if report.removed else ""
    console.print(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}{removed};"
        f" {report.chunks} chunks embedded"
    )


def _index_build(args: argparse.Namespace) -> int:
    from index.documents import load_documents
    from service.runtime import describe_store, make_builder, open_store

    settings = Settings()
    documents = load_documents(args.paths or settings.corpus)  # a file it cannot read is refused before anything
    with closing(open_store(settings)) as store:
        given = {document.id for document in documents}
        try:
            dropped = sorted(set(store.documents()) - given) if store.settings() is not None else []
        except IndexUnavailable:
            if not args.replace:  # its message says to give --replace: what only it held cannot be listed
                raise
            logging.getLogger("qa").warning("the index cannot be read: building a new one from these files alone")
            dropped = []
        if dropped and not args.replace:  # a document posted over HTTP lives in the index alone: never drop it unasked
            named = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
            raise ValueError(
                f"{describe_store(settings)} holds {len(dropped)} document(s) that are not among these files ({named}):"
                " `qa index build --replace` drops them and builds from these files alone; `qa index add` adds the"
                " files to the index instead"
            )
        builder = make_builder(settings, progress=not args.quiet, store=store)
        report = builder.build_documents(documents)
        report.removed = dropped
        _report(report)
    return 0


def _index_add(args: argparse.Namespace) -> int:
    from index.documents import load_documents
    from service.runtime import describe_store, make_builder, open_store, rebuild_if_changed

    settings = Settings()
    documents = load_documents(args.paths)  # a file it cannot read is refused before anything is written
    with closing(open_store(settings)) as store:
        builder = make_builder(settings, progress=not args.quiet, store=store)
        if store.settings() is None:  # as `qa serve` and `qa ask` would: the corpus first, then these files
            logging.getLogger("qa").info(
                "no index in %s: building it from %s first",
                describe_store(settings),
                ", ".join(map(str, settings.corpus)),
            )
            builder.build(settings.corpus)
        rebuild_if_changed(settings, store, builder)  # before adding, so new chunks match the stored ones
        _report(builder.change(documents))
    return 0


def _index_list(args: argparse.Namespace) -> int:
    from rich.table import Table  # about 2% of `qa ask`'s imports, and only the listing prints a table

    from service.runtime import describe_store, open_store

    settings = Settings()
    with closing(open_store(settings, create=False)) as store:  # a listing reads: a mistyped path is not made
        if store.settings() is None:
            raise IndexUnavailable(f"no index in {describe_store(settings)}; build one with `qa index build`")
        listing = store.documents()
    rows = [(e.id, e.title, e.source, str(e.characters), str(e.chunks)) for e in listing.values()]
    if not console.is_terminal:  # piped or redirected: whole values, one document a line, tab-separated
        for row in rows:
            print("\t".join(" ".join(value.split()) for value in row))
        return 0
    table = Table("id", "title", "source", "characters", "chunks")
    table.columns[0].no_wrap = True  # an id is copied whole, e.g. for `GET /documents/{id}`
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from eval.runner import run_from_cli

    return run_from_cli(args, Settings())


if __name__ == "__main__":
    sys.exit(main())
