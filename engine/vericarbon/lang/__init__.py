"""Stage 4: the rule expression language. Takes a condition's source text and the package schema's shapes;
gives a type-checked closure (and keeps the tree for the relational compiler).

tokens → parser → nodes → types → compiler (with functions, the built-ins), reading runtime at run time.
The names below are what the later stages use.
"""

from vericarbon.lang.compiler import compile_expression, compile_rule
from vericarbon.lang.functions import FUNCTION_NAMES
from vericarbon.lang.nodes import Binary, Call, ListOf, Literal, Node, Path, Unary, children
from vericarbon.lang.parser import parse
from vericarbon.lang.runtime import MISSING, Env, Months, as_date, escape_pointer_part, format_value
from vericarbon.lang.tokens import ExprError
from vericarbon.lang.types import NUMBER, Compiled, Scope, Type, type_of_shape

__all__ = [
    "FUNCTION_NAMES", "MISSING", "NUMBER", "Binary", "Call", "Compiled", "Env", "ExprError", "ListOf", "Literal", "Months",
    "Node", "Path", "Scope", "Type", "Unary", "as_date", "children", "compile_expression", "compile_rule", "escape_pointer_part",
    "format_value", "parse", "type_of_shape",
]
