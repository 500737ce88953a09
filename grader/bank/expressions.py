"""Expressions of the bank: parsed once, checked against a whitelist with `ast`, evaluated without builtins.

An expression may use parameter names, literals, arithmetic, comparisons, boolean
logic, conditional expressions, indexing and slicing, list/tuple/dict/set displays,
calls to engine functions, helpers, a few builtins and a fixed list of numpy
functions, and a fixed list of array methods and attributes. Everything else (other
attributes, names starting with `_`, lambdas, comprehensions, `:=`, `*args`, f-strings,
shifts) is rejected at parse time with an ExpressionError saying what.
"""

import ast
import copy
import functools
import inspect
import marshal
import types
from typing import Any

import numpy as np

from grader import engine

BUILTINS = {
    f.__name__: f for f in (
        abs, min, max, round, int, float, len, sum, range, list, tuple, sorted,
        bool, str, dict, set, zip, enumerate, any, all, reversed,
    )
}

NUMPY_FUNCTIONS = (
    "array", "asarray", "log", "log10", "log2", "log1p", "exp", "expm1", "sqrt", "square",
    "power", "sum", "mean", "var", "std", "max", "min", "maximum", "minimum", "abs",
    "absolute", "sign", "dot", "matmul", "outer", "einsum", "concatenate", "stack", "vstack",
    "hstack", "zeros", "ones", "zeros_like", "ones_like", "full", "eye", "diag", "trace",
    "transpose", "reshape", "clip", "round", "floor", "ceil", "tanh", "sin", "cos",
    "argmax", "argmin", "argsort", "sort", "prod", "cumsum", "where", "arange",
    "linspace", "isclose", "allclose", "count_nonzero", "unique", "tile", "repeat",
    "triu", "tril", "float64", "int64", "pi", "e", "inf", "nan", "newaxis",
)
NUMPY_LINALG_FUNCTIONS = ("norm", "inv", "det", "eigvalsh", "eigh", "eig", "solve")

ARRAY_ATTRIBUTES = frozenset((
    "T", "shape", "ndim", "size", "sum", "mean", "var", "std", "max", "min", "argmax", "argmin",
    "reshape", "round", "tolist", "item", "flatten", "ravel", "copy", "astype", "prod",
    "cumsum", "transpose", "keys", "values", "items",
))

_NODE_NAMES = {
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.NamedExpr: "the walrus operator ':='",
    ast.Starred: "starred arguments (*x)",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.LShift: "the shift operator '<<'",
    ast.RShift: "the shift operator '>>'",
}

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult, ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.UnaryOp, ast.USub, ast.UAdd, ast.Not, ast.Invert, ast.IfExp, ast.Compare, ast.Eq,
    ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.Call, ast.keyword, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Name,
    ast.Load, ast.List, ast.Tuple, ast.Dict, ast.Set,
)

MAX_INT_EXPONENT = 4096


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the whitelist."""


def _public_functions(module: Any) -> Any:
    return {
        name: obj for name, obj in vars(module).items()
        if not name.startswith("_") and callable(obj) and not isinstance(obj, (types.ModuleType, type))
    }


ENGINE_FUNCTIONS = {
    name: obj for name, obj in _public_functions(engine).items() if name not in ("CONTRACTS", "FUNCTIONS")
}


def _load_helpers() -> Any:
    try:
        from grader.bank import helpers
    except ImportError:  # the bank author's module is not there yet
        return {}
    return {
        name: obj for name, obj in vars(helpers).items()
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == helpers.__name__
    }


HELPERS = _load_helpers()

_NUMPY = types.SimpleNamespace(
    **{name: getattr(np, name) for name in NUMPY_FUNCTIONS},
    linalg=types.SimpleNamespace(**{name: getattr(np.linalg, name) for name in NUMPY_LINALG_FUNCTIONS}),
)


def _guarded_pow(base: Any, exponent: Any) -> Any:
    """`**` that refuses integer powers too large to compute quickly."""
    if (isinstance(base, int) and isinstance(exponent, int) and abs(exponent) > MAX_INT_EXPONENT
            and abs(base) > 1):
        raise ValueError(f"{base} ** {exponent}: exponent too large")
    return base ** exponent


_GLOBALS = {
    # C code (numpy's lazy imports) looks up __import__ in the calling frame's builtins.
    # Expressions cannot name it: names starting with "_" are rejected when parsed.
    "__builtins__": {"__import__": __import__},
    **BUILTINS,
    **HELPERS,
    **ENGINE_FUNCTIONS,
    "np": _NUMPY,
    "_pow": _guarded_pow,
}

RESERVED_NAMES = frozenset(_GLOBALS) - {"__builtins__", "_pow"}


def name_kind(name: Any) -> Any:
    """What a reserved name is ('engine function', 'helper', 'builtin', 'numpy'), or None."""
    if name in ENGINE_FUNCTIONS:
        return "engine function"
    if name in HELPERS:
        return "helper"
    if name in BUILTINS:
        return "builtin"
    if name == "np":
        return "numpy"
    return None


def _dotted_numpy(node: Any) -> Any:
    """For `np.a.b`, the tuple ('a', 'b'); None when the chain does not start at `np`."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "np":
        return tuple(reversed(parts))
    return None


def _check_node(node: Any) -> None:
    if type(node) in _NODE_NAMES:
        raise ExpressionError(f"{_NODE_NAMES[type(node)]} is not allowed in an expression")
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(f"{type(node).__name__} syntax is not allowed in an expression")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(f"name '{node.id}' is not allowed (names may not start with '_')")
    if isinstance(node, ast.keyword) and node.arg is None:
        raise ExpressionError("'**' argument unpacking is not allowed in an expression")
    if isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        raise ExpressionError("'**' dict unpacking is not allowed in an expression")
    if isinstance(node, ast.Attribute):
        _check_attribute(node)


def _check_attribute(node: Any) -> None:
    if node.attr.startswith("_"):
        raise ExpressionError(f"attribute '.{node.attr}' is not allowed (no names starting with '_')")
    dotted = _dotted_numpy(node)
    if dotted is None:
        if node.attr not in ARRAY_ATTRIBUTES:
            raise ExpressionError(
                f"attribute '.{node.attr}' is not allowed (allowed: {', '.join(sorted(ARRAY_ATTRIBUTES))})")
        return
    if dotted == ("linalg",):
        return  # checked by the enclosing np.linalg.<f>
    if len(dotted) == 1 and dotted[0] in NUMPY_FUNCTIONS:
        return
    if len(dotted) == 2 and dotted[0] == "linalg" and dotted[1] in NUMPY_LINALG_FUNCTIONS:
        return
    if len(dotted) > 2 and dotted[:2] in (("linalg", name) for name in NUMPY_LINALG_FUNCTIONS):
        raise ExpressionError(f"'np.{'.'.join(dotted)}' is not allowed")
    raise ExpressionError(f"'np.{'.'.join(dotted)}' is not one of the allowed numpy functions")


class _PowToCall(ast.NodeTransformer):
    def visit_BinOp(self, node: Any) -> Any:
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            call = ast.Call(func=ast.Name(id="_pow", ctx=ast.Load()), args=[node.left, node.right], keywords=[])
            return ast.copy_location(call, node)
        return node


@functools.lru_cache(maxsize=4096)
def _compile(source: Any) -> Any:
    """Parse, check and compile `source`; return (code, names used)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a Python expression: {exc.msg} in {source.strip()!r}") from None
    names = set()
    for node in ast.walk(tree):
        _check_node(node)
        if isinstance(node, ast.Name):
            names.add(node.id)
    tree = ast.fix_missing_locations(_PowToCall().visit(tree))
    return compile(tree, "<expression>", "eval"), frozenset(names)


class Expression:
    """A checked expression. `names` are the free names it uses; `evaluate(values)` computes it."""

    __slots__ = ("source", "names", "_code", "_constant", "_is_constant")

    def __init__(self, source: Any) -> None:
        if not isinstance(source, str):
            raise ExpressionError(f"expected an expression (a string), got {source!r}")
        self.source = source.strip()
        self._code, self.names = _compile(self.source)
        self._constant = None
        self._is_constant = False

    @classmethod
    def constant(cls, value: Any, source: Any=None) -> Any:
        """An expression that always gives (a copy of) `value`, e.g. a choice problem's answer key."""
        expression = cls.__new__(cls)
        expression.source = source if source is not None else repr(value)
        expression.names = frozenset()
        expression._code = None
        expression._constant = value
        expression._is_constant = True
        return expression

    @property
    def is_constant(self) -> Any:
        return self._is_constant

    @property
    def parameter_names(self) -> Any:
        """The names this expression uses that are neither engine functions, helpers, builtins nor np."""
        return frozenset(name for name in self.names if name not in RESERVED_NAMES)

    def evaluate(self, values: Any=None) -> Any:
        if self._is_constant:
            return copy.deepcopy(self._constant)
        return eval(self._code, _GLOBALS, dict(values or {}))  # noqa: S307 (checked AST, no builtins)

    def __getstate__(self) -> Any:
        """Pickled with its compiled code (marshal), so a grading worker handed the bank compiles nothing."""
        code = marshal.dumps(self._code) if self._code is not None else None
        return self.source, self.names, code, self._constant, self._is_constant

    def __setstate__(self, state: Any) -> None:
        self.source, self.names, code, self._constant, self._is_constant = state
        self._code = marshal.loads(code) if code is not None else None  # noqa: S302 (our own process's bytes)

    def __repr__(self) -> Any:
        return f"Expression({self.source!r})"

    def __eq__(self, other: Any) -> Any:
        return isinstance(other, Expression) and self.source == other.source

    def __hash__(self) -> Any:
        return hash(self.source)


def is_true(value: Any) -> Any:
    """Truth of a constraint's value: numpy booleans and 0-d/1-element arrays count, others must be all true."""
    if isinstance(value, np.ndarray):
        return bool(np.all(value))
    return bool(value)
