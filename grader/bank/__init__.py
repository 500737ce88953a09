"""The question bank: questions.yaml loaded, checked and turned into objects.

    from grader.bank import load_bank, BankError
    bank = load_bank("questions.yaml")
"""

from typing import TYPE_CHECKING, Any

from .expressions import Expression, ExpressionError
from .model import Assignment, Bank, FunctionSpec, Misconception, ParamSpec, Problem, TableSpec

if TYPE_CHECKING:
    from .loader import BankError, BankIssue, load_bank, load_bank_text

_LOADER_NAMES = ("BankError", "BankIssue", "load_bank", "load_bank_text")


def __getattr__(name: str) -> Any:
    """The loader's names, imported when first asked for: the loader builds problems with the
    kinds, which import the model from here, so the package itself must not import the loader."""
    if name in _LOADER_NAMES:
        from . import loader
        return getattr(loader, name)
    raise AttributeError(f"module 'grader.bank' has no attribute {name!r}")

__all__ = [
    "Assignment", "Bank", "BankError", "BankIssue", "Expression", "ExpressionError", "FunctionSpec",
    "Misconception", "ParamSpec", "Problem", "TableSpec", "load_bank", "load_bank_text",
]
