"""Stage 5: joins and absence patterns. Takes a parsed condition; when it relates facts of a package (an
equality join, "no related fact", an interval overlap) plans it onto durable-rules or a sort-and-sweep, and
gives per-element verdicts. durable_session is the only module that calls durable-rules.
"""
