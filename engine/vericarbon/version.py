"""This vericarbon's version, in a module of its own: the modules that write it into results, reports and
the service's answers read it here, not from the package's face (vericarbon/__init__.py), which loads the
API they are part of."""

__version__ = "0.2.0"
