"""The package's shape: layers import only earlier layers, modules stay short, assets hold no SQL.

Layer order (a module may import its own layer and earlier ones):
core < collector < raw < staging < scores < accounts < snapshots < exports < destinations < ops, demo (same rank) < assets, checks
(the Dagster packages beside engagement_pipeline). `engagement_pipeline/definitions.py` is the
entry point and may import anything. Imports are read with `ast`, wherever they are in the
module (inside functions too), relative ones resolved against the module's package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "engagement_pipeline"
ORDER = (
    "core",
    "collector",
    "raw",
    "staging",
    "scores",
    "accounts",
    "snapshots",
    "exports",
    "destinations",
    ("ops", "demo"),
    ("assets", "checks"),
)
RANK = {name: i for i, entry in enumerate(ORDER) for name in ((entry,) if isinstance(entry, str) else entry)}
FREE = {PACKAGE / "definitions.py", PACKAGE / "__init__.py"}
MAX_LINES = 400
SQL_WORDS = ("SELECT ", "INSERT ", "DELETE ")


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in the file (or in `source`, read as that file);
    `from X import y` yields X.y as well as X, so `from engagement_pipeline import staging` names
    the staging layer."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source, filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path)[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def layer_of(module: str) -> str | None:
    """The layer a dotted module belongs to, None outside the project (or the package root itself)."""
    parts = module.split(".")
    if parts[0] in ("assets", "checks"):
        return parts[0]
    if parts[0] == "engagement_pipeline" and len(parts) > 1 and parts[1] in RANK:
        return parts[1]
    return None


def layer_violations() -> list[str]:
    found = []
    for path in _modules(PACKAGE):
        if path in FREE:
            continue
        own = path.relative_to(PACKAGE).parts[0]
        assert own in RANK, f"{_rel(path)}: engagement_pipeline/{own} is not in the layer order {ORDER}: add it"
        seen = set()
        for line, module in imported_modules(path):
            layer = layer_of(module)
            if layer is not None and RANK[layer] > RANK[own] and (line, layer) not in seen:
                seen.add((line, layer))
                found.append(f"{_rel(path)}:{line} (layer {own}) imports {module} (later layer {layer})")
    return found


def test_no_module_imports_from_a_later_layer() -> None:
    violations = layer_violations()
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_the_import_reader_sees_every_form() -> None:
    """The reader itself: absolute, `from package import layer`, relative and nested imports
    (read as if in engagement_pipeline/staging/, without writing there)."""
    source = (
        "import engagement_pipeline.exports.bundle\n"
        "from engagement_pipeline import accounts\n"
        "from ..scores import step\n"
        "from .stage import StagingResult\n"
        "def f():\n    from engagement_pipeline.ops.resources import open_warehouse\n"
    )
    modules = {m for _, m in imported_modules(PACKAGE / "staging" / "probe.py", source)}
    assert {layer_of(m) for m in modules} - {None} == {"exports", "accounts", "scores", "staging", "ops"}, modules
    assert {"engagement_pipeline.scores.step", "engagement_pipeline.staging.stage"} <= modules


def test_no_module_is_longer_than_400_lines() -> None:
    long = [
        f"{_rel(p)}: {n} lines"
        for p in _modules(PACKAGE)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)


def sql_literals(path: Path) -> Iterator[tuple[int, str]]:
    """String literals (f-strings' text parts included) that contain an upper-case SQL statement word."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for word in SQL_WORDS:
                if word in node.value:
                    yield node.lineno, word.strip()


def test_assets_hold_no_sql() -> None:
    found = [
        f"{_rel(p)}:{line} has a {word} string" for p in _modules(REPO / "assets") for line, word in sql_literals(p)
    ]
    assert not found, "SQL belongs in engagement_pipeline/<layer>/, not in the Dagster assets:\n" + "\n".join(found)
