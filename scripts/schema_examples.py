"""Give every field of the evidence schemas an example, written into the schema as `examples` where it has
none: first the value a bundled package holds for the field (evidence_samples/ and the built-in rulesets'
test packages), else the hand-written example in HAND_WRITTEN below (for fields no bundled package fills).
Prints the fields still without one.

    python scripts/schema_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vericarbon.evidence.package import SchemaStore
from vericarbon.evidence.shapes import Shape
from vericarbon.importers.skeletons import samples_of

ROOT = Path(__file__).resolve().parents[1]
HAND_WRITTEN = json.loads((Path(__file__).with_name("schema_examples.json")).read_text())


def values_at(value: Any, path: list[str]) -> list[Any]:
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*":
        return [found for item in (value if isinstance(value, list) else []) for found in values_at(item, rest)]
    return values_at(value.get(head), rest) if isinstance(value, dict) else []


def walk(shape: Shape, path: list[str], packages: list[dict], missing: list[str], depth: int = 0) -> None:
    for name in shape.field_names():
        child = shape.field(name)
        if child is None or depth > 12:
            continue
        here = path + [name]
        items = child.items() if child.kind == "array" else None
        if child.kind == "object" and child.field_names():
            walk(child, here, packages, missing, depth + 1)
        elif items is not None and items.kind == "object" and items.field_names():
            walk(items, here + ["*"], packages, missing, depth + 1)
        elif "examples" not in child.node and "const" not in child.node:
            found = next((value for package in packages for value in values_at(package, here) if value not in (None, [], {})), None)
            if found is None:
                found = HAND_WRITTEN.get("/".join(here))
            if found is None:
                missing.append("/".join(here))
            else:
                child.node["examples"] = [found]


def main() -> None:
    store = SchemaStore()
    missing: list[str] = []
    for kind, version in sorted(store.kinds):
        samples = [json.loads(p.read_text()) for p in sorted((ROOT / "evidence_samples").glob("*.json"))]
        walk(store.shape(kind, version), [], samples_of(kind, version, store) + [s for s in samples if s.get("kind") == kind], missing)
    for path in sorted((ROOT / "schemas").glob("*.json")):
        document = store.documents.get(json.loads(path.read_text()).get("$id"))
        if document is not None:
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(missing)} field(s) without an example" + (":" if missing else ""))
    for path in missing:
        print("  " + path)


if __name__ == "__main__":
    main()
