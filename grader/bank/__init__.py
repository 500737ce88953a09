"""The question bank: questions.yaml loaded, checked and turned into objects.

    from grader.bank import load_bank, BankError
    bank = load_bank("questions.yaml")
"""

from .expressions import Expression, ExpressionError
from .loader import BankError, BankIssue, load_bank, load_bank_text
from .model import Assignment, Bank, FunctionSpec, Misconception, ParamSpec, Problem, TableSpec

__all__ = [
    "Assignment", "Bank", "BankError", "BankIssue", "Expression", "ExpressionError", "FunctionSpec",
    "Misconception", "ParamSpec", "Problem", "TableSpec", "load_bank", "load_bank_text",
]
