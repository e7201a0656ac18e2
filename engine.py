"""Not a module: engine/ is the source root of the package `vericarbon` (engine/vericarbon/).

Python would import the folder engine/ from the repository root as an empty namespace package; this file
takes that name first so `import engine` fails there with a pointer to the real name, as it does anywhere
else after `pip install .` (nothing named engine is installed)."""

raise ImportError("engine/ is the source root of the package vericarbon: `pip install .`, then `import vericarbon`")
