"""The whole check of a bank: the loader's, plus one draw per (problem, assignment that uses it).

On each draw the constraints must be satisfiable, and the prompt, the answer and every
misconception must evaluate; the problem's kind then checks the expected answer
(grader.kinds: a table's rows, a function's cases, a chain of carried-forward rows, ...), and the
right answer must pass every public check (grader.kinds.checks).
The loader does not draw: variants are the next layer (bank -> variants).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader import variants
from grader.bank import Bank, Problem
from grader.bank.loader import BankError, Issues, display_name, field_line, load_bank, parse_bank, read_bank_text
from grader.bank.templates import render_prompt
from grader.kinds import ProblemVariant, kind_of
from grader.kinds.base import raises
from grader.kinds.checks import describe, failures

_CHECKED: dict[str, tuple[tuple[int, int], Bank]] = {}


def load_checked_bank(path: str | Path) -> Bank:
    """The bank at `path` after every check; raises BankError listing every error. Cached per file state."""
    path = Path(path)
    text, resolved, stamp = read_bank_text(path)
    hit = _CHECKED.get(resolved)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        bank = load_bank(path)   # the loader's cached bank, when its own checks pass
    except BankError:
        check_bank_text(text, path)   # raises, with the variant errors of the other problems too
        raise
    issues = Issues(display_name(path))
    check_variants(bank, issues)
    issues.raise_if_any()
    _CHECKED[resolved] = (stamp, bank)
    return bank


def check_bank_text(text: str, path: str | Path = "questions.yaml") -> Bank:
    """Like load_checked_bank, on text already read (not cached)."""
    bank, issues = parse_bank(text, path)
    if bank is not None:  # bank.problems holds only the problems that passed every other check
        check_variants(bank, issues)
    issues.raise_if_any()
    assert bank is not None
    return bank


TIES_MARGIN_MAX = 0.1


def ties_issue(problem: Problem) -> str | None:
    """The message when the problem's `ties` option is neither `keep` nor a margin in (0, TIES_MARGIN_MAX]."""
    if "ties" not in problem.spec:
        return None
    value = problem.spec["ties"]
    if value == "keep" or (isinstance(value, (int, float)) and not isinstance(value, bool)
                           and 0 < value <= TIES_MARGIN_MAX):
        return None
    return (f"ties: expected `keep` (the variants at a threshold are kept on purpose) or a margin, a relative move "
            f"of the numbers in (0, {TIES_MARGIN_MAX:g}] such as 0.0025, got {value!r}")


def check_variants(bank: Bank, issues: Issues) -> None:
    for problem in bank.problems.values():
        message = ties_issue(problem)
        if message is not None:
            issues.add(field_line(problem, "ties"), problem.id, message)
        for assignment_id in bank.assignments_of(problem.id) or ["qa"]:
            found = check_one_variant(bank, problem, assignment_id)
            if found is not None:
                field, text = found
                issues.add(field_line(problem, field), problem.id,
                           f"{field}: {text} (variant of assignment '{assignment_id}')")
                break


def check_one_variant(bank: Bank, problem: Problem, assignment_id: str) -> tuple[str, str] | None:
    """(field, message) of the first thing that fails on this assignment's draw, or None."""
    try:
        values = variants.draw(bank, problem, assignment_id)
    except variants.VariantError as exc:
        return exc.field, exc.message
    try:
        render_prompt(problem, values)
    except Exception as exc:  # noqa: BLE001
        return "prompt", raises(exc)
    try:
        expected: Any = problem.answer.evaluate(values)
    except Exception as exc:  # noqa: BLE001
        return "answer", raises(exc)
    found = kind_of(problem).check_variant(problem, expected, values)
    if found is not None:
        return found
    for index, misconception in enumerate(problem.misconceptions):
        if misconception.answer is None:
            continue
        try:
            misconception.answer.evaluate(values)
        except Exception as exc:  # noqa: BLE001
            return f"misconceptions[{index}]", "answer " + raises(exc)
    return public_check_failure(problem, values)


def public_check_failure(problem: Problem, values: dict[str, Any]) -> tuple[str, str] | None:
    """(field, message) when a right answer fails one of the problem's public checks: the check
    would tell students who are right that they are wrong."""
    if not problem.checks:
        return None
    variant = ProblemVariant(1, problem, values, kind_of(problem).expected(problem, values))
    try:
        failed = failures(variant)
    except Exception as exc:  # noqa: BLE001
        return "checks", "running the public checks " + raises(exc)
    if not failed:
        return None
    check, label = failed[0]
    return (f"checks[{check.index}]",
            f"the public check '{describe(check)}' fails {label}: it would tell right answers they are wrong")


__all__ = ["BankError", "check_bank_text", "check_variants", "field_line", "load_checked_bank"]
