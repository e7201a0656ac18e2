"""Stage 6: rulesets. Takes ruleset YAML files or folders of them (built-in or the user's) and tailoring
overlays; gives linted, type-checked, compiled rulesets, the version in effect for a package, and the
requirement → rule matrix.
"""
