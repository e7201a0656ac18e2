"""The package's layout keeps data flowing one way, no two files import each other, and moving code changes
no result.

Stages, in the order data flows: errors and resources, evidence, the importers (the ways data comes in
from outside, built on evidence, which knows nothing of them), the official factor sets, lang, relational, rules, run, render,
screening, then the public API and the command line. A module may import from its own stage or an earlier
one, never a later one (`vericarbon/__init__.py`, the face, loads the API lazily and is not a stage)."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

import vericarbon
from vericarbon.evidence.package import SchemaStore, load_package
from vericarbon.run.checker import Checker

PACKAGE = Path(vericarbon.__file__).resolve().parent
ROOT = Path(__file__).resolve().parent.parent
STAGES = ["errors", "resources", "evidence", "importers", "factors", "lang", "relational", "rules", "run", "render", "screening", "api", "service", "cli", "__main__"]
RANK = {name: index for index, name in enumerate(STAGES)} | {"resources": 0, "files": 0, "limits": 0, "version": 0, "_durable_rules_engine": STAGES.index("relational")}
GOLDEN = Path(__file__).parent / "golden-results.json"


def _stage(module: str) -> int:
    return RANK[module.split(".")[0]]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vericarbon."):
            found.append((node.lineno, node.module.removeprefix("vericarbon.")))
        elif isinstance(node, ast.ImportFrom) and node.module == "vericarbon":
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.removeprefix("vericarbon.")) for alias in node.names if alias.name.startswith("vericarbon.")]
    return found


def test_no_module_imports_from_a_later_stage() -> None:
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
        if module == "__init__":
            continue
        for line, imported in _imports(path):
            if _stage(imported) > _stage(module):
                backwards.append(f"{module} line {line} imports {imported}")
    assert backwards == []


def _import_graph() -> dict[str, set[str]]:
    """Which files of the package each file imports, by path inside the package, counting every import (at
    the top, inside a function or under TYPE_CHECKING: a circle is a circle whether or not it is deferred).
    `from vericarbon.x import y` is an edge to the module x.y when there is one, else to x; the engine
    setup.py compiles (vericarbon._durable_rules_engine, Python 3.13 and later) is a module of no file here."""
    modules: dict[str, str | None] = {"vericarbon._durable_rules_engine": None}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        modules[".".join(("vericarbon", *parts[: -1 if parts[-1] == "__init__" else None]))] = path.relative_to(PACKAGE).as_posix()
    graph: dict[str, set[str]] = {}
    for file in filter(None, modules.values()):
        imported: set[str | None] = set()
        for node in ast.walk(ast.parse((PACKAGE / file).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                imported |= {modules.get(f"{node.module}.{alias.name}", modules[node.module]) for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {modules[alias.name] for alias in node.names if alias.name in modules}
        graph[file] = {str(other) for other in imported - {file, None}}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, pending = {start}, [start]
    while pending:
        for following in graph[pending.pop()] - seen:
            seen.add(following)
            pending.append(following)
    return seen


def test_no_import_circle_between_files() -> None:
    """Files that import each other, directly or round a longer loop (a strongly connected component of
    the import graph), are one module in two pieces: each circle found is listed."""
    graph = _import_graph()
    reach = {file: _reachable(graph, file) for file in graph}
    circles = {tuple(sorted(other for other in reach[file] if file in reach[other])) for file in graph}
    assert sorted(circle for circle in circles if len(circle) > 1) == []


def test_every_stage_says_what_it_takes_and_gives() -> None:
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        assert ast.get_docstring(ast.parse((folder / "__init__.py").read_text())), folder.name


def test_stages_are_numbered_once_in_the_order_data_flows() -> None:
    """Each stage package's docstring opens with its number in STAGES' order (the README's table says the
    same); a module inside a stage does not number itself, so the numbers cannot disagree again."""
    packages = [name for name in STAGES if (PACKAGE / name / "__init__.py").is_file()]
    assert [ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())).split(":")[0] for name in packages] == [f"Stage {n}" for n in range(1, len(packages) + 1)]
    numbered = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != "__init__.py" and (ast.get_docstring(ast.parse(path.read_text())) or "").startswith("Stage ")]
    assert numbered == []


def canonical_results() -> dict[str, str]:
    """Every bundled sample's full result, each rule explained with every sub-expression, hashed; the
    version and where the ruleset files lie are the only things left out."""
    store = SchemaStore()
    hashes = {}
    for sample in sorted((ROOT / "evidence_samples").glob("*.json")):
        package = load_package(sample, store)
        checker = Checker(store, [], [], None)
        rule_ids = {r["id"] for rs in checker.check(package)["rulesets"] for r in rs["results"] if r["kind"] == "rule"}
        result = checker.check(package, rule_ids, True)
        result["vericarbon"] = "VERSION"
        result["evidence"]["file"] = sample.relative_to(ROOT).as_posix()
        for ruleset in result["rulesets"]:
            ruleset["file"] = Path(ruleset["file"]).name
        text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        hashes[sample.name] = hashlib.sha256(text.encode()).hexdigest()
    return hashes


def test_results_and_traces_of_every_sample_are_unchanged() -> None:
    """A change that moves or speeds up code must leave every result and trace byte-identical. A change
    meant to alter results updates the hashes: python tests/test_layout.py --update"""
    assert canonical_results() == json.loads(GOLDEN.read_text())


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python tests/test_layout.py --update")
    GOLDEN.write_text(json.dumps(canonical_results(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
