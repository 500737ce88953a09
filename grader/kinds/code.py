"""A bank expression as notebook code: engine and helper names qualified, parameter values inlined."""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from grader import engine
from grader.bank.expressions import Expression, name_kind
from grader.bank.templates import python_literal

if TYPE_CHECKING:
    from .base import ProblemVariant

MODULE_IMPORTS = {"engine": "from grader import engine", "helpers": "from grader.bank import helpers"}


class _EngineCode(ast.NodeTransformer):
    """Rewrites a bank expression as notebook code: engine/helper names qualified, values inlined."""

    def __init__(self, literals: dict[str, ast.expr]) -> None:
        self.literals = literals
        self.modules: set[str] = set()

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.literals:
            return copy.deepcopy(self.literals[node.id])
        kind = name_kind(node.id)
        if kind == "engine function":
            self.modules.add("engine")
            return ast.Attribute(value=ast.Name(id="engine", ctx=ast.Load()), attr=node.id, ctx=ast.Load())
        if kind == "helper":
            self.modules.add("helpers")
            return ast.Attribute(value=ast.Name(id="helpers", ctx=ast.Load()), attr=node.id, ctx=ast.Load())
        return node


def expression_code(expression: Expression, variant: ProblemVariant) -> tuple[list[str], str]:
    """(imports, code) computing `expression` for the variant: inputs by name, other parameters inlined."""
    inputs = set(variant.input_names)
    literals = {
        name: ast.parse(python_literal(value), mode="eval").body
        for name, value in variant.values.items() if name not in inputs
    }
    transformer = _EngineCode(literals)
    tree = transformer.visit(ast.parse(expression.source, mode="eval"))
    imports = [MODULE_IMPORTS[module] for module in sorted(transformer.modules)]
    return imports, ast.unparse(ast.fix_missing_locations(tree))


_RELATIVE_IMPORT = re.compile(r"^from \.(\w+) import [^\n]*(?:\([^)]*\))?\n", re.M)


def _engine_module_sources(module: str, seen: list[str]) -> None:
    """Append `module` (an engine module's name) after the engine modules it imports."""
    if module in seen:
        return
    text = (Path(engine.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    for dependency in _RELATIVE_IMPORT.findall(text):
        _engine_module_sources(dependency, seen)
    seen.append(module)


def standalone_function_code(function: Callable, name: str) -> str | None:
    """Notebook code defining `name` as the engine's `function` with numpy alone (no `grader`
    import): its module and the engine modules that module imports, run in a namespace of their
    own. What a simulated student who writes the function right hands in. None for a function
    that is not the engine's."""
    module = getattr(function, "__module__", "") or ""
    if not module.startswith("grader.engine.") or getattr(engine, function.__name__, None) is not function:
        return None
    modules: list[str] = []
    _engine_module_sources(module.rsplit(".", 1)[1], modules)
    texts = [(Path(engine.__file__).parent / f"{m}.py").read_text(encoding="utf-8") for m in modules]
    source = "\n".join(_RELATIVE_IMPORT.sub("", text).replace("from __future__ import annotations\n", "")
                       for text in texts)
    return (f"def _written_out():\n"
            f"    namespace = {{'__name__': 'solution'}}\n"
            f"    exec({source!r}, namespace)\n"
            f"    return namespace[{function.__name__!r}]\n"
            f"{name} = _written_out()")
