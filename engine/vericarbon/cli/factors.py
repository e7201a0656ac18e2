"""`vericarbon factors`: the official emission-factor sets vericarbon ships, listed, searched and shown."""

from __future__ import annotations

import argparse
import sys

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK
from vericarbon.evidence.package import SchemaStore
from vericarbon.lang import format_value


def factors_options(factor_sets: argparse.ArgumentParser) -> None:
    factor_commands = factor_sets.add_subparsers(dest="factors_command", required=True)
    factor_commands.add_parser("list", help="the sets, with edition, GWP basis, licence and size")
    search = factor_commands.add_parser("search", help="factors whose description, unit or id contain every word given")
    search.add_argument("text", nargs="+")
    search.add_argument("--set", dest="sets", action="append", metavar="SET", help="search only this set (repeatable)")
    search.add_argument("--all-gases", action="store_true", help="also the per-gas parts (CO2, CH4, N2O) of CO2e factors")
    show = factor_commands.add_parser("show", help="one factor, with its set's edition, licence and attribution")
    show.add_argument("set")
    show.add_argument("id")


def factors(args: argparse.Namespace, store: SchemaStore) -> int:
    return {"list": _list, "search": _search, "show": _show}[args.factors_command](args)


def _list(args: argparse.Namespace) -> int:
    from vericarbon import factors as shipped  # named apart from this module's handler, factors()

    for set_id in shipped.available():
        about = shipped.load(set_id).about
        print(f"{set_id}: {about['title']} — edition {about['edition']} v{about['version']}, GWP {about['gwp'] or 'n/a'}, {len(shipped.load(set_id))} factors; {about['licence']}")
    return EXIT_OK


def _search(args: argparse.Namespace) -> int:
    from vericarbon import factors as shipped

    sets = args.sets or shipped.available()
    for set_id in sets:
        shipped.load(set_id)  # an unknown set is an input error before any output
    found = [f for f in shipped.search(" ".join(args.text), sets, limit=10_000) if args.all_gases or f.ghg in ("CO2e", "CO2") or f.set.startswith("epa")]
    for factor in found[:200]:
        print(f"{factor.set} {factor.id}  {factor.description} | {factor.unit} | {factor.ghg} {format_value(factor.value)} {factor.factor_unit}" + (f" | {factor.scope}" if factor.scope else ""))
    print(f"{len(found)} factor(s)" + (", the first 200 shown" if len(found) > 200 else ""), file=sys.stderr)
    return EXIT_OK if found else EXIT_FINDINGS


def _show(args: argparse.Namespace) -> int:
    from vericarbon import factors as shipped

    factor = shipped.load(args.set).by_id(args.id)
    about = shipped.load(args.set).about
    rows = [("set", f"{factor.set} — {about['title']}"), ("edition", f"{about['edition']} (version {about['version']}, for reporting year {about['year']})"),
            ("id", factor.id), ("description", factor.description), ("scope", factor.scope or "(not given)"), ("unit", factor.unit), ("gas", factor.ghg),
            ("value", f"{format_value(round(factor.value, 5))} {factor.factor_unit}" + (f" (to 5 decimal places, as the sets print it; the file holds {factor.value!r})" if round(factor.value, 5) != factor.value else ""))]
    if factor.low is not None:
        rows.append(("range", f"{format_value(factor.low)} to {format_value(factor.high)} {factor.factor_unit}"))
    rows += [("GWP basis", about["gwp"] or "n/a"), ("licence", about["licence"]), ("attribution", about["attribution"]), ("source", f"{about['source']['url']} ({about['source']['file']})")]
    for label, text in rows:
        print(f"{label + ':':13} {text}")
    return EXIT_OK
