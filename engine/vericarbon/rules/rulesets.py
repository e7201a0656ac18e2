"""Stage 3: rulesets. A YAML ruleset is checked against schemas/ruleset.schema.json, linted, and each
rule's expressions are parsed and type-checked against the schema of every package kind it applies to."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vericarbon.errors import InputError
from vericarbon.evidence.documents import parse_document_cached, read_text
from vericarbon.evidence.package import SchemaStore
from vericarbon.evidence.shapes import Shape
from vericarbon.lang import MISSING, Call, Compiled, Env, ExprError, Node, Scope, Type, as_date, children, compile_expression, compile_rule, parse, type_of_shape
from vericarbon.lang import Path as FieldPath
from vericarbon.relational import relations
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.batch import CompiledBatchRule, CompiledSeries, compile_batch_rules, compile_series
from vericarbon.rules.overlays import apply_overlay
from vericarbon.rules.reports import CompiledReport, compile_report
from vericarbon.rules.templates import Template, TemplateError, template

_PARAM_TYPES = {"number": Type("number"), "string": Type("string"), "boolean": Type("boolean"), "date": Type("date")}

MAX_RULESET_BYTES = 2 << 20  # ten times the largest built-in ruleset: a longer file is a mistake or hostile (a 20 MB message took 9 s)


@dataclass
class Ruleset:
    """A loaded, schema-valid ruleset file: data plus where it came from."""

    path: str
    sha256: str
    data: dict
    overlays: list[dict] = field(default_factory=list)  # what each tailoring overlay changed, base first
    package_date: dict[tuple[str, str], Callable[[Env], Any]] = field(default_factory=dict)  # effective.selects_by, per kind
    compiled: dict[tuple[str, str], "CompiledRuleset"] = field(default_factory=dict)  # with its own parameter values

    @property
    def id(self) -> str:
        return self.data["ruleset"]

    @property
    def rules(self) -> list[dict]:
        return self.data["rules"]

    @property
    def manual_checks(self) -> list[dict]:
        return self.data.get("manual_checks", [])

    @functools.cached_property
    def batch_rules(self) -> list[CompiledBatchRule]:
        """The batch rules, compiled against the records the series declares (not against a package kind)."""
        if not self.data.get("batch_rules"):
            return []
        param_types = {name: _PARAM_TYPES[spec["type"]] for name, spec in self.data.get("parameters", {}).items()}
        return compile_batch_rules(self.path, self.data["series"], self.data["batch_rules"], param_types)

    def __getstate__(self) -> dict:
        """Pickled for a worker process without its compiled closures: the worker compiles on first use."""
        return {**{k: v for k, v in self.__dict__.items() if k != "batch_rules"}, "package_date": {}, "compiled": {}}

    def params(self) -> dict[str, Any]:
        return {name: spec.get("value") for name, spec in self.data.get("parameters", {}).items()}

    def base_params(self) -> dict[str, Any]:
        """Parameter values before any overlay changed them."""
        values = self.params()
        for overlay in reversed(self.overlays):
            values.update(overlay["base_parameters"])
        return values


@dataclass
class CompiledRule:
    spec: dict
    for_each: tuple[str, ...] | None
    run: Callable[..., list[str]]  # the generated loop: each item's status (vericarbon.lang.codegen.generate_rule)
    explain_when: Compiled | None
    explain_check: Compiled
    message: Template
    check_tree: Node
    relation: relations.RelationPlan | None = None
    engine_note: str = "python"
    reads: list[str] = field(default_factory=list)
    absent: str = "not_evaluated"  # the status when a field the rule reads is missing from the package
    base: str = field(init=False)  # the pointer of the collection it runs over ("" for the whole package)

    def __post_init__(self) -> None:
        self.base = "".join("/" + part for part in self.for_each) if self.for_each is not None else ""

    @property
    def id(self) -> str:
        return self.spec["id"]


@dataclass
class CompiledRuleset:
    ruleset: Ruleset
    kind: str
    params: dict[str, Any]
    rules: list[CompiledRule]
    report: CompiledReport | None = None
    series: CompiledSeries | None = None
    shape: Shape | None = None  # the package kind's schema, to describe the fields rules read
    relation_engine: relations.RelationEngine = field(init=False)

    def __post_init__(self) -> None:
        self.relation_engine = relations.RelationEngine([r.relation for r in self.rules if r.relation])


def load_ruleset(path: Path, store: SchemaStore, _extending: tuple[Path, ...] = (), *, compile_now: bool = True) -> Ruleset:
    """A ruleset file, or an overlay file applied to the ruleset it extends. Its rules are compiled for every
    package kind it applies to, which type-checks every expression, unless `compile_now` is false: the
    built-in rulesets (checked in CI by `rules test --strict`) compile on first use, so a run pays only for
    the kinds it meets (~0.15 s less at every start)."""
    raw = read_text(path)
    name = str(path)
    if len(raw) > MAX_RULESET_BYTES:
        raise InputError(name, f"{len(raw) / 1048576:.1f} MiB: a ruleset or overlay may be at most {MAX_RULESET_BYTES >> 20} MiB; not read")
    data = parse_document_cached(path, raw)
    is_overlay = isinstance(data, dict) and "overlay" in data
    digest = hashlib.sha256(raw).hexdigest()
    problems = store.file_errors("urn:vericarbon:schema:" + ("overlay" if is_overlay else "ruleset"), data, digest)
    if problems:
        raise InputError(name, problems)
    if is_overlay:
        base = load_ruleset(_extended(path, data["extends"], _extending), store, _extending + (path.resolve(),))
        merged, record = apply_overlay(data, name, digest, base.data)
        problems = store.errors("urn:vericarbon:schema:ruleset", merged)
        if problems:
            raise InputError(name, problems)
        record["extends"] = {"id": base.id, "file": base.path, "sha256": base.sha256}
        ruleset = Ruleset(name, digest, merged, base.overlays + [record])
    else:
        ruleset = Ruleset(name, digest, data)
    _lint(ruleset)
    if compile_now:
        ruleset.batch_rules  # noqa: B018 (type-checks them now)
    for kind in ruleset.data["applies_to"]:
        versions = sorted(v for k, v in store.kinds if k == kind)
        if not versions:
            raise InputError(name, f"applies to unknown package kind {kind!r} (known: {store.known_kinds()})", "/applies_to")
        if not compile_now:
            continue
        for version in versions:
            compile_ruleset(ruleset, kind, version, store)
            _check_selects_by(ruleset, store, kind, version)
    return ruleset


def _check_selects_by(ruleset: Ruleset, store: SchemaStore, kind: str, version: str) -> None:
    """Type-check effective.selects_by for a kind and keep it compiled for choosing versions."""
    source = ruleset.data.get("effective", {}).get("selects_by")
    if source is None:
        return
    try:
        compiled = compile_expression(parse(source), Scope(store.shape(kind, version), {}))
    except ExprError as error:
        raise _located_error(ruleset, "effective.selects_by", "/effective/selects_by", source, error) from None
    if compiled.type.kind not in ("date", "any"):
        raise InputError(ruleset.path, f"effective.selects_by must give a date, but {source!r} is {compiled.type}", "/effective/selects_by")
    ruleset.package_date[(kind, version)] = compiled.fn


def parameter_problem(spec: dict, value: Any) -> str | None:
    """Why `value` cannot be this parameter's value (its type, whole number, range), or None."""
    kind = spec["type"]
    if value is None:
        return None
    if kind == "boolean":
        fits = isinstance(value, bool)
    elif kind == "number":
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "date":
        fits = isinstance(value, str) and as_date(value) is not MISSING
    else:
        fits = isinstance(value, str)
    if not fits:
        return f"{value!r} is not a {kind}" + (" (write YYYY-MM-DD)" if kind == "date" else "")
    if kind == "number":
        if spec.get("integer") and value != int(value):
            return f"{value!r} is not a whole number"
        if "minimum" in spec and value < spec["minimum"]:
            return f"{value!r} is below the smallest allowed value, {spec['minimum']:g}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"{value!r} is above the largest allowed value, {spec['maximum']:g}"
    return None


def _extended(overlay: Path, extends: str, chain: tuple[Path, ...]) -> Path:
    """The file an overlay extends: a built-in ruleset id, or a path relative to the overlay."""
    relative = overlay.parent / extends
    builtin = {p.stem: p for p in builtin_rulesets()}
    target = relative if relative.suffix in (".yaml", ".yml") else builtin.get(extends)
    if target is None:
        raise InputError(str(overlay), f"extends {extends!r}, which is neither a built-in ruleset ({', '.join(builtin)}) nor a YAML file", "/extends")
    if target.resolve() in chain + (overlay.resolve(),):
        raise InputError(str(overlay), f"extends {extends!r}, which extends this overlay again", "/extends")
    return target


def _lint(ruleset: Ruleset) -> None:
    seen: dict[str, str] = {}
    problems = []
    for name, spec in ruleset.data.get("parameters", {}).items():
        problem = parameter_problem(spec, spec.get("value"))
        if problem:
            problems.append((f"/parameters/{name}/value", problem))
    for section in ("rules", "manual_checks", "batch_rules"):
        for index, item in enumerate(ruleset.data.get(section, [])):
            where = f"/{section}/{index}/id"
            if item["id"] in seen:
                problems.append((where, f"duplicate rule id {item['id']!r} (first at {seen[item['id']]})"))
            seen.setdefault(item["id"], where)
    index_ids: dict[str, int] = {}
    for position, entry in enumerate(ruleset.data.get("index", [])):
        if entry["id"] in index_ids:
            problems.append((f"/index/{position}/id", f"duplicate index id {entry['id']!r}"))
        index_ids.setdefault(entry["id"], position)
    if index_ids:
        for section in ("rules", "manual_checks"):
            for position, item in enumerate(ruleset.data.get(section, [])):
                for number, citation in enumerate(item["clauses"]):
                    for unknown in [c for c in citation.get("covers", []) if c not in index_ids]:
                        problems.append((f"/{section}/{position}/clauses/{number}/covers", f"{item['id']} covers {unknown!r}, which is not in the ruleset's index"))
    for section in ("rules", "batch_rules"):
        for index, rule in enumerate(ruleset.data.get(section, [])):
            expectations = {case["expect"] for case in rule["tests"]}
            if "pass" not in expectations or "fail" not in expectations:
                problems.append((f"/{section}/{index}/tests", f"rule {rule['id']} needs at least one 'pass' and one 'fail' test case"))
    if ruleset.data.get("batch_rules") and "series" not in ruleset.data:
        problems.append(("/batch_rules", "batch rules read the records the ruleset's series: section declares, and it has none"))
        if any("patch" in case for case in rule["tests"]) and "test_base" not in ruleset.data:
            problems.append((f"/rules/{index}/tests", "test cases patch test_base, but the ruleset has no test_base"))
    if problems:
        raise InputError(ruleset.path, problems)


def compile_ruleset(ruleset: Ruleset, kind: str, version: str, store: SchemaStore, params: dict[str, Any] | None = None) -> CompiledRuleset:
    """Compile every rule for one package kind; parameter values default to the ruleset's own, and that
    compilation (done once when the ruleset loads) is reused."""
    if params is None and (kind, version) in ruleset.compiled:
        return ruleset.compiled[(kind, version)]
    values = ruleset.params() if params is None else params
    param_types = {name: _PARAM_TYPES[spec["type"]] for name, spec in ruleset.data.get("parameters", {}).items()}
    shape = store.shape(kind, version)
    definitions = _definitions(ruleset, shape, param_types)
    report = compile_report(ruleset.data["report"], ruleset.path, shape, param_types, definitions) if "report" in ruleset.data else None
    series = compile_series(ruleset.data["series"], ruleset.path, shape, param_types, definitions) if "series" in ruleset.data else None
    compiled = CompiledRuleset(ruleset, kind, values, [_compile_rule(ruleset, index, rule, shape, param_types, values, definitions, kind == ruleset.data.get("test_base", {}).get("kind")) for index, rule in enumerate(ruleset.rules)], report, series, shape)
    if params is None:
        ruleset.compiled[(kind, version)] = compiled
    return compiled


def _definitions(ruleset: Ruleset, package: Shape, param_types: dict[str, Type]) -> dict[str, Node]:
    """The ruleset's named expressions, parsed, and each type-checked once on its own."""
    trees: dict[str, Node] = {}
    for name, source in ruleset.data.get("definitions", {}).items():
        try:
            trees[name] = parse(source)
        except ExprError as error:
            raise _located_error(ruleset, f"definition {name}", f"/definitions/{name}", source, error) from None
    for name, source in ruleset.data.get("definitions", {}).items():
        try:
            compile_expression(trees[name], Scope(package, param_types, definitions=trees, expanding=[name]))
        except ExprError as error:
            raise _located_error(ruleset, f"definition {name}", f"/definitions/{name}", source, error) from None
    return trees


def _compile_rule(ruleset: Ruleset, index: int, rule: dict, package: Shape, param_types: dict[str, Type], params: dict[str, Any], definitions: dict[str, Node], is_test_kind: bool) -> CompiledRule:
    """One rule, type-checked against one package kind. `is_test_kind`: the kind of the ruleset's test
    package, where a rule reading a field a package may leave out must have a case that leaves it out."""
    item_shape = None
    for_each = rule.get("for_each")
    if for_each:
        collection = Scope(package, param_types, definitions=definitions)
        try:
            found = compile_expression(parse(for_each), collection)
        except ExprError as error:
            raise _expression_error(ruleset, index, rule, "for_each", for_each, error) from None
        if found.type.kind != "list":
            raise InputError(ruleset.path, f"rule {rule['id']}: for_each {for_each!r} is {found.type}, not a list", f"/rules/{index}/for_each")
        item_shape = found.type.shape

    def scope() -> Scope:
        return Scope(package, param_types, item=item_shape, item_collection=for_each, definitions=definitions)

    def build(field_name: str, source: str, traced: bool) -> tuple[Node, Compiled]:
        """The field's tree, type-checked, and its closure: traced (what explaining runs) for a condition,
        plain for a message's expressions."""
        try:
            tree = parse(source, item_name="item" if for_each else None)
            compiled = compile_expression(tree, scope(), traced=traced)
        except ExprError as error:
            raise _expression_error(ruleset, index, rule, field_name, source, error) from None
        if field_name != "message" and compiled.type.kind not in ("boolean", "any"):
            error = ExprError(f"must be a condition (true/false), but it is {compiled.type}", 0)
            raise _expression_error(ruleset, index, rule, field_name, source, error)
        return tree, compiled

    when_tree = explain_when = None
    if "when" in rule:
        when_tree, explain_when = build("when", rule["when"], traced=True)
    check_tree, explain_check = build("check", rule["check"], traced=True)
    relation, engine_note = None, "python"
    if for_each:
        try:
            relation = relations.plan(rule["id"], for_each, check_tree, params, _date_paths(item_shape, package, check_tree))
            if relation.interval is not None:
                engine_note = "python sort-and-sweep (an overlap join, quadratic on durable-rules)"
            else:
                engine_note = "durable-rules (" + ("absence of a related fact" if relation.quantifier == "any" else "join between facts") + ")"
        except relations.NotRelational as reason:
            engine_note = f"python ({reason})"
    run = compile_rule(when_tree, check_tree, scope, rule["id"], per_item=bool(for_each), answered=relation is not None)
    try:
        message = template(rule["message"], lambda source: build("message", source, traced=False)[1].fn)
    except TemplateError as error:
        raise InputError(ruleset.path, f"rule {rule['id']}: {error}", f"/rules/{index}/message") from None
    compiled = CompiledRule(rule, tuple(for_each.split(".")) if for_each else None, run, explain_when, explain_check, message, check_tree, relation, engine_note)
    compiled.reads, tested = evidence_read(for_each, [check_tree] + ([when_tree] if when_tree is not None else []), definitions)
    compiled.absent = rule.get("absent", "not_evaluated")
    optional = absence_decides(compiled.reads, tested, for_each, package)
    if optional and "absent" not in rule:
        raise InputError(ruleset.path, f"rule {rule['id']} reads {', '.join(optional)}, which a package may leave out: say what that absence means with absent: fail, not_evaluated or not_applicable", f"/rules/{index}")
    if optional and is_test_kind and not any(_leaves_out(case) for case in rule["tests"]):
        raise InputError(ruleset.path, f"rule {rule['id']} reads {', '.join(optional)}, which a package may leave out: add a test case that leaves one out (null in set or patch) and expects what that gives", f"/rules/{index}/tests")
    return compiled


def evidence_read(for_each: str | None, trees: list[Node], definitions: dict[str, Node]) -> tuple[list[str], set[str]]:
    """Where in the package a rule looks, as JSON pointers (`*` for every element of a list): what a
    report shows as the evidence a conforming rule rests on; and the pointers the rule itself tests with
    `exists()`/`missing()`, whose absence it has already given a meaning."""
    found: set[str] = set()
    tested: set[str] = set()
    item_base = "/" + for_each.replace(".", "/") + "/*" if for_each else ""

    def pointer(path: FieldPath, element_base: str) -> str | None:
        base = {"package": "", "item": item_base, "element": element_base}.get(path.root)
        return None if base is None or not (path.parts or base) else base + "".join("/" + part for part in path.parts)

    def collection_pointer(node: Node, element_base: str) -> str | None:
        if isinstance(node, Call) and node.name == "others":  # the rule's own collection, without the item
            node = node.args[0]
        return pointer(node, element_base) if isinstance(node, FieldPath) else None

    def visit(node: Node, element_base: str, expanded: frozenset[str]) -> None:
        if isinstance(node, FieldPath):
            if node.root == "defs" and node.parts[0] in definitions and node.parts[0] not in expanded:
                visit(definitions[node.parts[0]], element_base, expanded | {node.parts[0]})
            elif (where := pointer(node, element_base)) is not None:
                found.add(where)
            return
        first = collection_pointer(node.args[0], element_base) if isinstance(node, Call) and node.args else None
        if first is not None and node.name in ("exists", "missing"):  # type: ignore[attr-defined]
            tested.add(first)
        for position, child in enumerate(children(node)):  # inside an aggregate, `.field` is a field of its collection's elements
            visit(child, first + "/*" if first is not None and position > 0 else element_base, expanded)

    for tree in trees:
        visit(tree, "", frozenset())
    if for_each:
        found.add(item_base.removesuffix("/*"))  # the collection itself: its absence makes the rule not applicable
    return sorted(found), tested


def _leaves_out(case: dict) -> bool:
    """Does a test case delete something from the test package (a null in `set`, or anywhere in `patch`)?"""
    def deletes(patch: Any) -> bool:
        return isinstance(patch, dict) and any(value is None or deletes(value) for value in patch.values())
    return any(value is None for value in case.get("set", {}).values()) or deletes(case.get("patch"))


def absence_decides(reads: list[str], tested: set[str], for_each: str | None, package: Shape) -> list[str]:
    """Where a valid package may leave out something a rule reads and the rule does not test for it
    itself: the outermost optional field on the way to each such read, which the rule must give a meaning
    (`absent:`). The rule's own collection is not one of them (its absence makes the rule not applicable,
    docs/semantics.md)."""
    collection = "/" + for_each.replace(".", "/") if for_each else None
    optional: list[str] = []
    for read in reads:
        if read == collection or read in tested:
            continue
        parts = read.strip("/").split("/")
        start = len(collection.strip("/").split("/")) + 1 if collection and read.startswith(collection + "/*/") else 0
        shape: Shape | None = package
        for position, part in enumerate(parts):
            if shape is None:
                break
            if part == "*":
                shape = shape.items()
                continue
            if position >= start and part not in shape.present_when_read():
                outermost = "/" + "/".join(parts[: position + 1])
                if outermost not in optional and outermost not in tested:
                    optional.append(outermost)
                break
            shape = shape.field(part)
    return optional


def _date_paths(item_shape: Shape | None, package: Shape, check: Node) -> set[tuple[str, tuple[str, ...]]]:
    """(side, field path) for every date field the check reads on the item or on the joined elements."""
    found: set[tuple[str, tuple[str, ...]]] = set()
    target = check.args[0] if hasattr(check, "args") and check.args else None  # type: ignore[attr-defined]
    if target is not None and getattr(target, "name", None) == "others":
        target = target.args[0]
    element_shape = None
    if target is not None and getattr(target, "root", None) == "package":
        element_shape = _walk_shape(package, tuple(target.parts))
        element_shape = element_shape.items() if element_shape else None

    def visit(node: Any) -> None:
        if getattr(node, "root", None) in ("item", "element") and node.parts:
            shape = _walk_shape(item_shape if node.root == "item" else element_shape, tuple(node.parts))
            if shape is not None and type_of_shape(shape).kind == "date":
                found.add((node.root, tuple(node.parts)))
        for child in children(node):
            visit(child)

    visit(check)
    return found


def _walk_shape(shape: Shape | None, path: tuple[str, ...]) -> Shape | None:
    for part in path:
        if shape is None:
            return None
        shape = shape.field(part)
    return shape


def _expression_error(ruleset: Ruleset, index: int, rule: dict, field_name: str, source: str, error: ExprError) -> InputError:
    return _located_error(ruleset, f"rule {rule['id']}, {field_name}", f"/rules/{index}/{field_name}", source, error)


def _located_error(ruleset: Ruleset, what: str, location: str, source: str, error: ExprError) -> InputError:
    caret = " " * error.pos + "^"
    return InputError(ruleset.path, f"{what}, column {error.pos + 1}: {error.message}\n    {source}\n    {caret}", location)


def resolve_rulesets(selectors: list[str], store: SchemaStore) -> list[Ruleset]:
    """Each selector is a path to a YAML file, a built-in ruleset id (every installed version of it) or
    ID@VERSION (that version only); none means every built-in ruleset."""
    builtins = [load_ruleset(path, store, compile_now=False) for path in builtin_rulesets()]
    if not selectors:
        return builtins
    chosen = []
    for selector in selectors:
        path = Path(selector)
        if path.suffix in (".yaml", ".yml") or path.exists():
            chosen.append(load_ruleset(path, store))
            continue
        ruleset_id, _, version = selector.partition("@")
        matches = [r for r in builtins if r.id == ruleset_id and version in ("", r.data["version"])]
        if not matches:
            known = ", ".join(f"{r.id}@{r.data['version']}" for r in builtins) or "none"
            raise InputError(selector, f"no such ruleset file or built-in ruleset (built-in: {known})")
        chosen += matches
    return chosen


def profile_view(ruleset: Ruleset, profile: str) -> Ruleset:
    """The ruleset narrowed to the rules of one profile (e.g. intake), without manual checks."""
    data = {**ruleset.data, "rules": [rule for rule in ruleset.rules if profile in rule.get("profiles", [])], "manual_checks": []}
    return Ruleset(ruleset.path, ruleset.sha256, data, ruleset.overlays)


def select_versions(rulesets: list[Ruleset], package: Any, kind: str, version: str, store: SchemaStore) -> list[tuple[Ruleset, str]]:
    """One version per ruleset id: the latest in effect on the package's date (each version's `selects_by`),
    with a sentence saying which was used and why. A single installed version is used as it is."""
    groups: dict[str, list[Ruleset]] = {}
    for ruleset in rulesets:
        groups.setdefault(ruleset.id, []).append(ruleset)
    chosen = []
    for ruleset_id, versions in groups.items():
        if len(versions) == 1:
            chosen.append((versions[0], ""))
            continue
        dated = [(r, _package_date(r, package, kind, version, store)) for r in versions]
        in_effect = [(r, day) for r, day in dated if day is not None and as_date(r.data["effective"]["from"]) <= day]
        installed = ", ".join(f"{r.data['version']} from {r.data['effective']['from']}" for r in versions)
        if any(day is None for _, day in dated):
            newest = max(versions, key=lambda r: r.data["effective"]["from"])
            chosen.append((newest, f"{ruleset_id} {newest.data['version']}: the package has no {newest.data['effective']['selects_by']}, so the newest installed version (installed: {installed})"))
        elif not in_effect:
            raise InputError(ruleset_id, f"no installed version is in effect on the package's date {dated[0][1]} (installed: {installed}); choose one with --ruleset {ruleset_id}@VERSION")
        else:
            picked, day = max(in_effect, key=lambda pair: pair[0].data["effective"]["from"])
            chosen.append((picked, f"{ruleset_id} {picked.data['version']}: {picked.data['effective']['selects_by']} is {day}, in effect from {picked.data['effective']['from']} (installed: {installed})"))
    return chosen


def _package_date(ruleset: Ruleset, package: Any, kind: str, version: str, store: SchemaStore) -> Any:
    if (kind, version) not in ruleset.package_date:  # compiled at load, or here in a worker process
        _check_selects_by(ruleset, store, kind, version)
    read = ruleset.package_date.get((kind, version))
    if read is None:
        return None
    day = as_date(read(Env(package, {})))
    return None if day is MISSING else day
