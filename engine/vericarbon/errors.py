"""The one exception type for user mistakes: it names the file, the location and what is wrong."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user (evidence, ruleset, option). The CLI prints it and exits 2."""

    def __init__(self, file: str, problems: list[tuple[str, str]] | str, location: str = "") -> None:
        if isinstance(problems, str):
            problems = [(location, problems)]
        self.file = file
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for location, message in self.problems:
            where = f"{self.file}: {location}" if location else self.file
            lines.append(f"{where}: {message}")
        return "\n".join(lines)


class OutOfScope(InputError):
    """A well-formed package that none of the chosen rulesets (or the chosen profile) covers. `verify` stops
    with it like any input error; `screen` records the package as not applicable and goes on."""
