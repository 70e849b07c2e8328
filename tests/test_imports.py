"""The import graph of `src/traceviz` reads in the pipeline's order: no circles, no
backward arrows.

Every module is parsed with `ast` (nothing is imported), and every import in it counts,
at module level, inside a function or under `if TYPE_CHECKING:` alike: an import moved
into a function still ties the two modules together, it only hides the tie until run
time. An edge goes to the module an import names: `from traceviz.x import y` is an edge
to `traceviz.x.y` when `y` is a submodule, else to `traceviz.x` (its `__init__`).
Importing a submodule from outside its package also runs the package's `__init__`,
so that is an edge to the package too; from inside the package it is not (the
`__init__` is already running), which is why a package's `__init__` may import its own
submodules. A submodule that imports its package's `__init__` back, to get a sibling
the `__init__` re-exports, closes a circle.

The layers, leftmost first; a module may import from its own layer and those to its
left, never from one to its right:

    layer        modules                                     job
    foundation   _version, errors, escape, schema,           names, values, errors, safe text,
                 timestamps, stats, lazy_names, wording,     counts in words, response keys,
                 response_keys                               for all
    ingest       ingest.* (interface, registry, containers)  files -> raw records
    normalize    normalize.*                                 raw records -> traces (shapes)
    read         load, shards                                paths -> traces frames
    tokens       tokens, tokenizers, found_tokens,           token counts, tokenizer tables,
                 _preload_tokenizers, usage                  counts against logged usage
    segment      segment.*                                   steps, kinds, behaviour
    price        price.*                                     catalog, costs, what-ifs
    run          cache, engines, pipeline                    the stages run, cached, on workers
    report       report.*                                    aggregates rendered
    output       guard, outputs, write                       outputs whole, never over inputs
    cli          cli.*, traceviz (public API), __main__      the shells over the library

Foundation modules import no stage (only each other). A new module must be placed in a
layer here, or the test fails and says so. And no traceviz module is imported inside a
function: that is for heavy third-party dependencies (pyarrow, scikit-learn), with a
comment saying so; between traceviz modules it only hides a tie.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "foundation",
        frozenset(
            {
                "_version",
                "errors",
                "escape",
                "schema",
                "timestamps",
                "stats",
                "lazy_names",
                "wording",
                "response_keys",
            }
        ),
    ),
    ("ingest", frozenset({"ingest"})),
    ("normalize", frozenset({"normalize"})),
    ("read", frozenset({"load", "shards"})),
    ("tokens", frozenset({"tokens", "tokenizers", "found_tokens", "_preload_tokenizers", "usage"})),
    ("segment", frozenset({"segment"})),
    ("price", frozenset({"price"})),
    ("run", frozenset({"cache", "engines", "pipeline"})),
    ("report", frozenset({"report"})),
    ("output", frozenset({"guard", "outputs", "write"})),
    ("cli", frozenset({"cli", "", "__main__"})),  # "": traceviz/__init__.py
)

# NOTE: arrows in files other engineers are reworking under issue 15; each is to go
# once that work is merged (then delete its line here, and the test holds it).
KNOWN: frozenset[tuple[str, str]] = frozenset()
# NOTE: a traceviz module imported inside a function: never needed for weight (heavy
# dependencies are third-party), so it hides a tie; each one is to move to the top.
KNOWN_IN_FUNCTIONS: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` imports `target` at `line` of its file."""

    source: str
    target: str
    line: int
    in_function: bool = False


def modules(src: Path = SRC) -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name: its file, and whether it is a package."""
    found = {}
    for path in sorted((src / "traceviz").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


def _named(node: ast.Import | ast.ImportFrom, module: str, package: bool) -> Iterator[str]:
    """The dotted names one import statement reaches, submodules resolved."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = module.split(".") if package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    for alias in node.names:
        yield f"{target}.{alias.name}"  # a submodule, or a name `_owner` trims back


def edges(src: Path = SRC) -> list[Edge]:
    """Every import between two modules of the package, with the package edges it implies."""
    known = modules(src)
    found = []
    for module, (path, package) in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        in_functions = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _named(node, module, package):
                target = _owner(name, known)
                if target is None:
                    continue
                for reached in (target, *_packages_run(module, target)):
                    if reached != module:
                        inner = id(node) in in_functions
                        found.append(Edge(module, reached, node.lineno, inner))
    return found


def _owner(name: str, known: dict[str, tuple[Path, bool]]) -> str | None:
    """The module a dotted name lives in (itself, or the module defining it)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _packages_run(module: str, target: str) -> Iterator[str]:
    """The packages whose `__init__` importing `target` from `module` runs: those that
    hold `target` but not `module` (an `__init__` already running is not run again)."""
    parts = target.split(".")
    for end in range(1, len(parts)):
        package = ".".join(parts[:end])
        if module != package and not module.startswith(package + "."):
            yield package


def layer(module: str) -> int | None:
    """The index in `LAYERS` of a module's layer, or None if it is in none."""
    inner = module.removeprefix("traceviz").removeprefix(".")
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if inner == member or (member and inner.startswith(member + ".")):
                return index
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _graph(found: list[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for edge in found:
        if (edge.source, edge.target) not in KNOWN:
            graph.setdefault(edge.source, set()).add(edge.target)
    return graph


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in modules() if layer(m) is None)
    assert unplaced == [], f"put these modules in a layer of LAYERS: {unplaced}"


def test_no_import_circles() -> None:
    found = cycles(_graph(edges()))
    assert found == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_imports_point_left_along_the_pipeline() -> None:
    backward = []
    for edge in edges():
        source, target = layer(edge.source), layer(edge.target)
        if source is None or target is None or target <= source:
            continue
        if (edge.source, edge.target) in KNOWN:
            continue
        backward.append(
            f"{edge.source}:{edge.line} ({LAYERS[source][0]}) imports "
            f"{edge.target} ({LAYERS[target][0]})"
        )
    assert backward == [], "imports against the pipeline:\n" + "\n".join(sorted(set(backward)))


def test_no_traceviz_import_hides_in_a_function() -> None:
    hidden = sorted(
        f"{edge.source}:{edge.line} imports {edge.target} inside a function"
        for edge in edges()
        if edge.in_function and (edge.source, edge.target) not in KNOWN_IN_FUNCTIONS
    )
    assert hidden == [], "move these imports to the top of their module:\n" + "\n".join(hidden)


def test_known_exceptions_still_exist() -> None:
    """An allowlisted arrow that is gone must leave the list, so it cannot come back."""
    present = {(edge.source, edge.target) for edge in edges()}
    assert sorted(KNOWN - present) == []
    hidden = {(edge.source, edge.target) for edge in edges() if edge.in_function}
    assert sorted(KNOWN_IN_FUNCTIONS - hidden) == []


# --- the checker itself, on small packages written for the purpose ---------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "traceviz" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_submodule_importing_its_package_back_is_a_circle(tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "__init__.py": "",
            "ingest/__init__.py": "from traceviz.ingest.jsonl import read\n",
            "ingest/jsonl.py": "def read():\n    from traceviz.ingest import helper\n",
            "ingest/helper.py": "",
        },
    )
    graph: dict[str, set[str]] = {}
    for edge in edges(src):
        graph.setdefault(edge.source, set()).add(edge.target)
    # `helper` is a submodule: the function-level import is an edge to it, not a circle
    assert cycles(graph) == []
    (src / "traceviz/ingest/jsonl.py").write_text("from traceviz.ingest import RawRecord\n")
    graph = {}
    for edge in edges(src):
        graph.setdefault(edge.source, set()).add(edge.target)
    assert cycles(graph) == [["traceviz.ingest", "traceviz.ingest.jsonl"]]


@pytest.mark.parametrize(
    ("importer", "line", "expected"),
    [
        # a package's own __init__ runs already: siblings import each other freely
        ("normalize/chat.py", "from traceviz.normalize import fields\n", set()),
        # from outside, a submodule's import runs its package's __init__ (as stores did)
        (
            "stores/row.py",
            "from traceviz.normalize.chat import x\n",
            {"traceviz.normalize", "traceviz.stores.row"},
        ),
    ],
)
def test_an_import_from_outside_a_package_runs_its_init(
    tmp_path: Path, importer: str, line: str, expected: set[str]
) -> None:
    src = _package(
        tmp_path,
        {
            "__init__.py": "",
            "normalize/__init__.py": "from traceviz.normalize import chat\n"
            "from traceviz.stores import row\n",
            "normalize/chat.py": "",
            "normalize/fields.py": "",
            "stores/__init__.py": "",
            "stores/row.py": "",
        },
    )
    (src / "traceviz" / importer).write_text(line, encoding="utf-8")
    graph: dict[str, set[str]] = {}
    for edge in edges(src):
        graph.setdefault(edge.source, set()).add(edge.target)
    found = cycles(graph)
    assert (set(found[0]) if found else set()) == expected


def test_layers_are_packages_not_prefixes() -> None:
    assert layer("traceviz.ingest.jsonl") == 1
    assert layer("traceviz.normalize.chat") == 2
    assert layer("traceviz") == layer("traceviz.cli.report") == len(LAYERS) - 1
    assert layer("traceviz.ingestion") is None  # a prefix is not a package
