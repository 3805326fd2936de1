"""What `qa bench` prints and writes: the headline table against the issue's targets, the load table, JSON, a plot."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.bench_stats import ratio
from eval.squad import read_json_file

Getter = Callable[[dict, dict], float | None]  # (whole run, one configuration) -> figure


def _at(config: dict, concurrency: int, key: str) -> float | None:
    level = next((level for level in config.get("http", []) if level["concurrency"] == concurrency), None)
    return level[key] if level else None


def _get(mapping: dict | None, *keys: str) -> float | None:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


@dataclass(frozen=True)
class Metric:
    label: str
    get: Getter
    target: tuple[str, float] | None = None  # (">=" or "<=", value): the target for this figure

    def meets(self, value: float | None) -> bool | None:
        if self.target is None or value is None:
            return None
        op, bound = self.target
        return value >= bound if op == ">=" else value <= bound

    @property
    def target_text(self) -> str:
        return "" if self.target is None else f"{'≥' if self.target[0] == '>=' else '≤'} {self.target[1]:g}"


HEADLINE = [
    Metric("in process: /ask p50 ms", lambda r, c: _get(c, "in_process", "p50_ms")),
    Metric("in process: /ask p95 ms", lambda r, c: _get(c, "in_process", "p95_ms")),
    Metric("Haystack, same models: p50 ms", lambda r, c: _get(c, "haystack", "p50_ms")),
    Metric("Haystack, same models: p95 ms", lambda r, c: _get(c, "haystack", "p95_ms")),
    Metric(
        "Haystack p50 ÷ ours, in process",
        lambda r, c: ratio(_get(c, "haystack", "p50_ms"), _get(c, "in_process", "p50_ms")),
        (">=", 3),
    ),
    Metric("HTTP: /ask p50 ms, 1 client", lambda r, c: _at(c, 1, "p50_ms"), ("<=", 40)),
    Metric(
        "Haystack p50 ÷ ours over HTTP",
        lambda r, c: ratio(_get(c, "haystack", "p50_ms"), _at(c, 1, "p50_ms")),
    ),
    Metric("HTTP: requests/s, 16 clients", lambda r, c: _at(c, 16, "requests_per_s"), (">=", 40)),
    Metric("HTTP: p99 ms, 16 clients", lambda r, c: _at(c, 16, "p99_ms"), ("<=", 600)),
    Metric("HTTP: errors, 16 clients", lambda r, c: _at(c, 16, "errors"), ("<=", 0)),
    Metric("index build chunks/s, bundled", lambda r, c: _get(r, "builds", "bundled", "chunks_per_s")),
    Metric("SQuAD paragraphs indexed", lambda r, c: _get(r, "builds", "squad", "paragraphs")),
    Metric("index build chunks/s, SQuAD", lambda r, c: _get(r, "builds", "squad", "chunks_per_s"), (">=", 300)),
    Metric("HTTP: /ask p50 ms at SQuAD scale", lambda r, c: _get(c, "scale", "p50_ms")),
    Metric(
        "/ask p50 at SQuAD scale ÷ bundled",
        lambda r, c: ratio(_get(c, "scale", "p50_ms"), _at(c, 1, "p50_ms")),
        ("<=", 1.5),
    ),
    Metric("cold start s, `qa ask` (median)", lambda r, c: _get(c, "cold_start", "median_s"), ("<=", 4)),
    Metric("held-out F1, reader mode", lambda r, c: _get(c, "quality", "f1")),
    Metric("F1 − float32 reader's", lambda r, c: _get(c, "quality", "f1_vs_float32"), (">=", -0.5)),
    Metric("gold set, open mode: recall@5", lambda r, c: _get(c, "quality", "gold_open", "recall@5")),
    Metric("gold set, open mode: F1", lambda r, c: _get(c, "quality", "gold_open", "f1")),
]


def _cell(value: float | None, metric: Metric) -> str:
    if value is None:
        return "–"
    mark = {True: " ✓", False: " ✗", None: ""}[metric.meets(value)]
    return f"{value:g}{mark}"


def headline_rows(runs: list[tuple[str, dict]]) -> tuple[list[str], list[list[str]]]:
    """Column names and rows: one column per configuration of each run, the target last."""
    columns = [
        f"{name}: {config['label']}" if len(runs) > 1 else config["label"]
        for name, run in runs
        for config in run["configs"]
    ]
    rows = []
    for metric in HEADLINE:
        cells = [_cell(metric.get(run, config), metric) for _, run in runs for config in run["configs"]]
        if any(cell != "–" for cell in cells):
            rows.append([metric.label, *cells, metric.target_text])
    return columns, rows


def headline_table(runs: list[tuple[str, dict]], title: str) -> Table:
    columns, rows = headline_rows(runs)
    table = Table(title=title)
    table.add_column("figure")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("target (issue 15)", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def load_table(config: dict) -> Table:
    table = Table(title=f"HTTP load over loopback · {config['label']}")
    for column in ("clients", "requests", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right")
    for level in config.get("http", []):
        keys = ("concurrency", "requests", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")
        table.add_row(*("–" if level[key] is None else f"{level[key]:g}" for key in keys))
    return table


def markdown(runs: list[tuple[str, dict]]) -> str:
    """The headline as a Markdown table, for the README's "Measured" section."""
    columns, rows = headline_rows(runs)
    lines = ["| figure | " + " | ".join(columns) + " | target |", "|---" * (len(columns) + 2) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_run(run: dict, console: Console) -> None:
    meta = run["meta"]
    note = " · contended CPU: figures are not comparable" if meta.get("contended") else ""
    console.print(headline_table([("", run)], f"qa bench · {meta['started']} · {meta['cpus']} CPUs{note}"))
    for config in run["configs"]:
        if config.get("http"):
            console.print(load_table(config))


def write_json(run: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict:
    run = read_json_file(path, "not a `qa bench` result")
    if not isinstance(run, dict) or "configs" not in run:
        raise ValueError(f"{path}: not a `qa bench` result (no 'configs')")
    return run


def plot_load(run: dict, path: Path) -> bool:
    """Latency percentiles and requests/s against concurrency, one line per configuration; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    for number, config in enumerate(run["configs"]):
        levels = config.get("http", [])
        clients = [level["concurrency"] for level in levels]
        colour = f"C{number}"  # one colour per configuration, its p50 solid and its p99 dashed
        for key, style in (("p50_ms", "-o"), ("p99_ms", "--^")):
            values = [level[key] for level in levels]
            latency.plot(clients, values, style, color=colour, label=f"{config['label']} {key[:3]}")
        throughput.plot(
            clients, [level["requests_per_s"] for level in levels], "-o", color=colour, label=config["label"]
        )
    every_level = sorted({level["concurrency"] for config in run["configs"] for level in config.get("http", [])})
    for axes, ylabel in ((latency, "latency (ms)"), (throughput, "requests/s")):
        axes.set_xscale("log", base=2)
        axes.set_xticks(every_level, [str(level) for level in every_level])
        axes.set_ylim(bottom=0)
        axes.set_xlabel("concurrent clients")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    latency.set_title("POST /ask latency against concurrency")
    throughput.set_title("throughput against concurrency")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
