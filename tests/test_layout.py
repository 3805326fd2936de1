"""The layout holds: each folder's modules import only downward or sideways, each folder says what it may import, and
the README's code map names every folder."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("index", "service", "eval")

# What the modules of each folder may import from this repository besides their own folder. A module under no entry
# (service.runtime, service.cli, the service package itself) is the top-level wiring and may import anything. eval is
# not ruled here: it measures the whole service (its runner loads the pipeline), while training uses only its leaves.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "index": (),
    "service.settings": ("index", "service.reader"),  # the shipped reader's folder, QA_READER_MODEL's default
    "service.answering": ("index",),
    "service.chat": (),
    "service.reader": ("service.answering", "index"),
    "service.training": (
        "service.reader",
        "service.answering",
        "service.settings",
        "index",
        # SQuAD loading, the metrics and the article split: eval modules that import nothing from service.
        "eval.squad",
        "eval.metrics",
        "eval.datasets",
    ),
    "service.api": ("service.answering", "service.chat", "service.settings", "index"),
}


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _rule(module: str) -> str | None:
    """The most specific folder (or module) in the table that holds `module`, if any."""
    return max((key for key in MAY_IMPORT if _within(module, key)), key=len, default=None)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every first-party module `source` imports, lazy imports and `__import__("...")` included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module if is_package else module.rpartition(".")[0]
            if node.level:
                base = ".".join(base.split(".")[: len(base.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found += [f"{base}.{a.name}" if _exists(f"{base}.{a.name}") else base for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return [name for name in found if name.split(".")[0] in FIRST_PARTY]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of `module` that its folder's rule does not allow."""
    rule = _rule(module)
    if rule is None:
        return []
    allowed = (rule, *MAY_IMPORT[rule])
    return [
        f"{module} imports {name}"
        for name in imported_modules(source, module, is_package)
        if not any(_within(name, package) for package in allowed)
    ]


def _modules() -> list[tuple[str, Path]]:
    paths = sorted(path for top in ("index", "service") for path in (ROOT / top).rglob("*.py"))
    return [(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), path) for path in paths]


def _sub_packages() -> list[Path]:
    return sorted(init.parent for init in (ROOT / "service").glob("*/__init__.py"))


def test_every_module_imports_only_downward_or_sideways() -> None:
    found = [
        problem
        for module, path in _modules()
        for problem in violations(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    ]
    assert not found, "\n".join(found)


def test_an_upward_import_is_caught() -> None:
    reader = "service.reader.answerer"
    assert violations("from service.training.train import main\n", reader)
    assert violations("def f():\n    from service.api.app import create_app\n", reader)  # lazy imports count
    assert violations("from ..runtime import load_answerer\n", reader)  # and relative ones
    assert violations("from service import runtime\n", reader)
    assert violations("import service.settings\n", reader)
    assert violations('__import__("service.cli")\n', reader)
    assert violations("from service.answering.answers import Passage\nimport torch\n", reader) == []
    assert violations("from . import spans\n", reader) == []
    assert violations("from service.reader.span_reader import SpanReader\n", "service.training.train") == []
    assert violations("from service.api.app import create_app\n", "service.runtime") == []


def test_every_sub_package_has_a_rule_and_says_what_it_may_import() -> None:
    assert all(_exists(key) for key in MAY_IMPORT), "a rule names a module that is gone"
    for package in _sub_packages():
        name = f"service.{package.name}"
        assert name in MAY_IMPORT, f"{name} has no rule in MAY_IMPORT"
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and "import" in docstring, f"{name}/__init__.py should say what lives there and may import"


def test_the_readme_code_map_names_every_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Code map\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- `([\w/]+/)`", section, flags=re.M)
    packages = sorted(init.parent for top in FIRST_PARTY for init in (ROOT / top).glob("**/__init__.py"))
    folders = [f"{package.relative_to(ROOT).as_posix()}/" for package in packages] + ["tests/"]
    assert sorted(listed) == sorted(folders)
    assert len(listed) == len(set(listed)), "one line per folder"
