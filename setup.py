"""Only what pyproject.toml cannot say: on Python 3.13 and later, durable-rules' C engine is built here.

durable-rules 2.0.28 (the newest release) calls PyEval_CallObject, which Python 3.13 removed from the C API:
on 3.13 its extension fails to import (undefined symbol), and compilers that refuse implicit declarations
(GCC 14, Clang 16) cannot build it at all. Its engine's sources are vendored unmodified in
third_party/durable-rules-2.0.28 (MIT) and compiled as vericarbon._durable_rules_engine, with the removed
call mapped to PyObject_CallObject, its documented replacement (the same call: a callable and an argument
tuple, no keywords). Before 3.13 the durable-rules package from PyPI is used as it is.
"""

import sys
from pathlib import Path

from setuptools import Extension, setup

DURABLE = Path("third_party") / "durable-rules-2.0.28" / "src"

extensions = []
if sys.version_info >= (3, 13):
    extensions.append(
        Extension(
            "vericarbon._durable_rules_engine",
            sources=[str(DURABLE / "rulespy" / "rules.c")] + [str(DURABLE / "rules" / f"{name}.c") for name in ("json", "rete", "state", "events", "regex")],
            include_dirs=[str(DURABLE / "rules")],
            define_macros=[
                ("_GNU_SOURCE", None),
                ("PyEval_CallObject", "PyObject_CallObject"),
                ("PyInit_durable_rules_engine", "PyInit__durable_rules_engine"),  # the module's place inside vericarbon
            ],
            extra_compile_args=["-std=c99"],
        )
    )

setup(ext_modules=extensions)
