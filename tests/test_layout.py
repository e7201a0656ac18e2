"""The package's layout keeps data flowing one way, and moving code changes no result.

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
RANK = {name: index for index, name in enumerate(STAGES)} | {"resources": 0, "files": 0, "_durable_rules_engine": STAGES.index("relational")}
GOLDEN = Path(__file__).parent / "golden-results.json"


def _stage(module: str) -> int:
    return RANK[module.split(".")[0]]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vericarbon."):
            found.append((node.lineno, node.module.removeprefix("vericarbon.")))
        elif isinstance(node, ast.ImportFrom) and node.module == "vericarbon":
            found += [(node.lineno, alias.name) for alias in node.names if alias.name != "__version__"]
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


def test_every_stage_says_what_it_takes_and_gives() -> None:
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        assert ast.get_docstring(ast.parse((folder / "__init__.py").read_text())), folder.name


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
