"""The canonical output: sorted keys, two-space indent, UTF-8, a final newline."""

from __future__ import annotations

import json


def render(result: dict) -> str:
    return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
