"""A bank expression as notebook code: engine and helper names qualified, parameter values inlined."""

from __future__ import annotations

import ast
import copy
from typing import TYPE_CHECKING

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
