"""`qa bench` (or `python -m eval.bench`): this project against a Haystack pipeline with the same models, one run.

Same questions (the gold set over the bundled articles), same machine: in process and over HTTP with p50/p95 and the
ratio; throughput over loopback at 1/4/16/32 clients; index build throughput and /ask p50 at ~20k SQuAD paragraphs
against the bundled articles; cold start of whole `qa ask` processes; held-out F1 of each configuration. Prints a
table against the targets of issue 15 and writes JSON and a PNG plot. `--compare A.json B.json` prints earlier runs
side by side (before/after a change).
"""

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from eval import bench_report, bench_sections
from eval.bench_plan import FULL, QUICK, SECTIONS, Config, Plan, configurations
from service.cli import positive

SQUAD_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
status = Console(stderr=True)


def gold_questions(limit: int | None) -> list[str]:
    from eval.datasets import load_eval_set
    from eval.runner import sample

    return [q.question for q in sample(load_eval_set(None).questions, limit)]


def _meta(plan: Plan, configs: list[Config]) -> dict:
    import torch

    from service.reader.span_reader import bf16_supported

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "bf16_native": bf16_supported(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average_at_start": round(load, 2),
        # Anything else on the CPU skews absolutes; the ratios of interleaved measurements hold up better.
        "contended": load > 0.5,
        "plan": {**asdict(plan), "skip": sorted(plan.skip)},
        "configs": [c.label for c in configs],
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def run_bench(plan: Plan, configs: list[Config], squad_dir: Path, workdir: Path) -> dict:
    """Every section not skipped, for every configuration; the whole run as JSON-ready dicts."""
    from eval.bench_haystack import HaystackQA, word_split_for
    from index.documents import BUNDLED_CORPUS, load_documents
    from index.embedding import SentenceEmbedder
    from service.runtime import index_precision
    from service.settings import Settings

    run: dict = {"meta": _meta(plan, configs), "builds": {}, "configs": [c.to_json() for c in configs]}
    questions = gold_questions(plan.questions)
    documents = load_documents([BUNDLED_CORPUS])
    settings = Settings()
    bundled = workdir / "bundled"
    _step(
        f"indexing the bundled articles; {len(questions)} questions, configurations {', '.join(c.label for c in configs)}"
    )
    # At the precision `qa index build` and the service build with.
    embedder = SentenceEmbedder(settings.embedding_model, precision=index_precision(settings)).load()
    run["builds"]["bundled"] = bench_sections.build_index(bundled, documents, embedder, settings)

    if "inprocess" not in plan.skip:
        haystack = None
        if "haystack" not in plan.skip:
            _step("loading the Haystack pipeline and indexing the bundled articles with it")
            split = word_split_for(documents, settings.chunking)
            haystack = HaystackQA(settings.embedding_model, settings.reader_model, split).load()
            run["builds"]["haystack_bundled"] = {**haystack.index(documents), "split_words": split.to_json()}
        for config, figures in zip(configs, run["configs"], strict=True):
            _step(f"in process, {config.label}" + (" alternating with Haystack" if haystack else ""))
            figures.update(bench_sections.in_process(config, bundled, questions, haystack))
        del haystack

    if "http" not in plan.skip:
        for config, figures in zip(configs, run["configs"], strict=True):
            _step(f"over HTTP at {', '.join(map(str, plan.concurrency))} clients, {config.label}")
            figures.update(bench_sections.over_http(config, bundled, questions, plan.concurrency, plan.requests))

    squad_v10, squad_v11, squad_v2 = (squad_dir / f"squad-v{v}-train.json" for v in ("1.0", "1.1", "2.0"))
    if "scale" not in plan.skip and _have(squad_v10, "scale"):
        # The 1.0 training share holds 18.9k paragraphs, the 1.1 and 2.0 dev shares 1.4k more: ~20k in all.
        paragraphs = _squad_paragraphs([p for p in (squad_v10, squad_v11, squad_v2) if p.is_file()], plan.paragraphs)
        _step(f"indexing {len(paragraphs)} SQuAD paragraphs with the bundled articles")
        large = workdir / "squad"
        build = bench_sections.build_index(large, documents + paragraphs, embedder, settings)
        run["builds"]["squad"] = {"paragraphs": len(paragraphs), **build}
        for config, figures in zip(configs, run["configs"], strict=True):
            _step(f"/ask at {len(paragraphs)} paragraphs, {config.label}")
            figures["scale"] = bench_sections.at_scale(config, large, questions, plan.requests)
    del embedder

    if "coldstart" not in plan.skip:
        for config, figures in zip(configs, run["configs"], strict=True):
            _step(f"cold start, {plan.cold_runs} × `qa ask`, {config.label}")
            figures["cold_start"] = bench_sections.cold_start(config, bundled, questions[0], plan.cold_runs)

    if "quality" not in plan.skip and _have(squad_v2, "quality") and _have(squad_v11, "quality"):
        from eval.datasets import load_eval_set, merge
        from eval.runner import only_articles

        held_out = only_articles(merge([load_eval_set(squad_v11), load_eval_set(squad_v2)]), "held-out")
        gold = load_eval_set(None)
        for config, figures in zip(configs, run["configs"], strict=True):
            _step(f"held-out F1 (reader mode) and the gold set in open mode, {config.label}")
            figures["quality"] = bench_sections.quality(config, held_out, workdir / "eval", plan.f1_limit, gold)
        _compare_to_float32(run["configs"])

    run["meta"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return run


def _step(text: str) -> None:
    status.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {text}")


def _have(path: Path, section: str) -> bool:
    if not path.is_file():
        status.print(f"[yellow]skipping {section}: {path} not found (--squad-dir)[/yellow]")
    return path.is_file()


def _squad_paragraphs(files: list[Path], count: int) -> list:
    """`count` paragraphs spread evenly over the SQuAD files, one document each (as `qa eval --mode open` indexes)."""
    from eval.datasets import load_eval_set

    documents = list({d.id: d for path in files for d in load_eval_set(path).documents}.values())
    step = max(1.0, len(documents) / count)
    return [documents[int(i * step)] for i in range(min(count, len(documents)))]


def _compare_to_float32(configs: list[dict]) -> None:
    """F1 of each reader configuration minus the float32 reader's, where the run has one (speed must not cost F1)."""
    readers = [c for c in configs if c["answerer"] == "reader"]
    baseline = next(
        (c for c in readers if c["precision"] == "float32" and c.get("embedder_precision", "float32") == "float32"),
        None,
    )
    if baseline is None or "quality" not in baseline:
        return
    for config in readers:
        if config is not baseline and config.get("quality", {}).get("f1") is not None:
            config["quality"]["f1_vs_float32"] = round(config["quality"]["f1"] - baseline["quality"]["f1"], 2)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of every section on a few questions")
    parser.add_argument(
        "--precision",
        action="append",
        choices=["auto", "float32", "bfloat16", "int8"],
        help="the reader's; repeat to compare (default: QA_READER_PRECISION, else auto)",
    )
    parser.add_argument(
        "--embedder-precision",
        action="append",
        choices=["float32", "bfloat16", "int8"],
        help="the question embedder's; repeat to compare, with each --precision (default: QA_EMBEDDER_PRECISION)",
    )
    parser.add_argument("--top-k", type=positive, help="passages per question (default: the reader's own)")
    parser.add_argument("--questions", type=positive, help="gold questions used (default: all; --quick: 8)")
    parser.add_argument("--requests", type=positive, help="requests per concurrency level (default 200)")
    parser.add_argument("--concurrency", type=_levels, help="comma-separated client counts (default 1,4,16,32)")
    parser.add_argument("--paragraphs", type=positive, help="SQuAD paragraphs in the large index (default 20000)")
    parser.add_argument("--cold-runs", type=positive, help="`qa ask` processes timed (default 5)")
    parser.add_argument("--f1-limit", type=positive, help="held-out questions for F1 (default: all 704)")
    parser.add_argument("--skip", type=_sections, default=frozenset(), help=f"comma-separated: {','.join(SECTIONS)}")
    parser.add_argument("--squad-dir", type=Path, default=SQUAD_DIR, help="folder of the SQuAD train files")
    parser.add_argument("--output", type=Path, help="JSON file (default var/bench/bench-TIME.json); a .png beside it")
    parser.add_argument("--compare", nargs="+", type=Path, metavar="JSON", help="print earlier runs side by side")
    parser.add_argument("--markdown", action="store_true", help="also print the headline as a Markdown table")
    return parser


def _levels(value: str) -> tuple[int, ...]:
    levels = tuple(int(part) for part in value.split(",") if part.strip())
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"expected client counts of 1 or more, like 1,4,16,32, not {value!r}")
    return levels


def _sections(value: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    if names - set(SECTIONS):
        raise argparse.ArgumentTypeError(f"unknown sections {sorted(names - set(SECTIONS))}; known: {SECTIONS}")
    return names


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Console(soft_wrap=True)
    if not out.is_terminal:  # a log file or a pipe: wide enough that the tables keep one line per row
        out = Console(soft_wrap=True, width=160)
    if args.compare:
        runs = [(path.stem, bench_report.read_json(path)) for path in args.compare]
        out.print(bench_report.headline_table(runs, "qa bench · " + " against ".join(name for name, _ in runs)))
        if args.markdown:
            out.print(bench_report.markdown(runs), markup=False)
        return 0
    overrides = {
        key: getattr(args, key)
        for key in ("questions", "requests", "concurrency", "paragraphs", "cold_runs", "f1_limit")
        if getattr(args, key) is not None
    }
    plan = replace(QUICK if args.quick else FULL, skip=args.skip, **overrides)
    if not {"inprocess", "haystack"} & plan.skip and importlib.util.find_spec("haystack") is None:
        install = escape("pip install -e '.[bench]'")
        status.print(f"[red]error:[/red] the Haystack baseline needs the bench extra: {install} (or --skip haystack)")
        return 2
    from eval.runner import check_writable
    from service.settings import Settings

    defaults = Settings()
    configs = configurations(
        args.precision or [defaults.reader_precision],
        args.top_k,
        args.embedder_precision or [defaults.embedder_precision],
    )
    output = args.output or Path("var/bench") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    check_writable(output, "bench.json")  # a folder or an unwritable place is refused before the run, not after
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as workdir:
        run = run_bench(plan, configs, args.squad_dir, Path(workdir))
    run["meta"]["took_s"] = round(time.perf_counter() - started, 1)
    # The figures first: a write that fails after all (a full disk) must not take a run of minutes with it.
    bench_report.print_run(run, out)
    if args.markdown:
        out.print(bench_report.markdown([("", run)]), markup=False)
    bench_report.write_json(run, output)
    plotted = bench_report.plot_load(run, output.with_suffix(".png")) if "http" not in plan.skip else False
    out.print(
        f"wrote {output}" + (f" and {output.with_suffix('.png')}" if plotted else "") + f" in {run['meta']['took_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
