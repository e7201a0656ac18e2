"""The bounds on untrusted input, in one place: every reader of packages, rulesets and answers (files, text,
dicts given to the API) takes its limits from here, so a limit is raised or lowered once."""

MAX_FILE_BYTES = 64 * 1024 * 1024  # the largest package, ruleset or answers file read; `screen --max-package-mb` defaults to it
MAX_NESTING = 1000  # as deep as orjson lets JSON nest: a YAML document or a dict may nest as deep as its JSON twin
MAX_RULESET_BYTES = 2 << 20  # ten times the largest built-in ruleset: a longer file or folder is a mistake or hostile (a 20 MB message took 9 s)
