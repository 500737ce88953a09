"""Checks before the deadline and the assignment's dates, as the bank states them (`attempts:` and
`dates:` in questions.yaml; docs/bank-format.md "Checking before the deadline").

    attempts:                  # an assignment's; a problem may override any field
      checks: 3                # checks of one problem's answer a student may make (0: none, the default)
      credit: [1, 0.8, 0.5]    # the share of its points an answer keeps by the try it was first checked
                               # right at (the submission counts as one more try); the last entry repeats
      interval: 30s            # at least this long between two checks of one problem (s, min, h, d)
      reveal: misconception    # verdict | misconception | band: what a check tells besides right or not
    dates:
      due: 2026-12-10T23:59:00-05:00   # ISO 8601 with its UTC offset
      late:                    # the credit timeline after the due date (a student's extension moves it)
        - {until: 2d, credit: 0.8}     # until two days after the due date, answers keep 80 %
                               # after the last step: practice only (fresh numbers, never counted)

This module is data and parsing only: what the policy does to a grade is grader.attempts.policy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

REVEALS = ("verdict", "misconception", "band")   # each tells what the one before it tells, and more
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class CheckPolicy:
    """How many checks a problem's answer gets before the deadline and what they cost."""

    checks: int = 0
    credit: tuple[float, ...] = (1.0,)
    interval: float = 0.0                 # seconds between two checks of one problem
    reveal: str = "verdict"

    def credit_of_try(self, number: int) -> float:
        """The share an answer keeps when it is the `number`-th try (1-based); the last entry repeats."""
        return self.credit[min(max(number, 1), len(self.credit)) - 1]

    def describe(self) -> str:
        """One sentence for the prompt's "How it is checked" (empty when there are no checks)."""
        if self.checks <= 0:
            return ""
        kept = ", ".join(f"{share:.0%}" for share in self.credit)
        text = (f"You may check this answer {self.checks} time{'s' if self.checks != 1 else ''} before the deadline "
                f"with the Check button under the test cell; the answer keeps {kept} of its points by the try "
                f"it is first checked right at (submitting counts as one more try)")
        if len(self.credit) == 1 and self.credit[0] == 1:
            text = (f"You may check this answer {self.checks} time{'s' if self.checks != 1 else ''} before the "
                    f"deadline with the Check button under the test cell, at no cost")
        if self.interval:
            text += f"; wait {duration_text(self.interval)} between two checks"
        return text + "."


@dataclass(frozen=True)
class LateStep:
    until: float          # seconds after the due date
    credit: float


@dataclass(frozen=True)
class Dates:
    due: dt.datetime
    late: tuple[LateStep, ...] = ()

    def closes(self, extension: float = 0.0) -> dt.datetime:
        """When answers stop counting (after the last late step), for a student with `extension` seconds."""
        last = self.late[-1].until if self.late else 0.0
        return self.due + dt.timedelta(seconds=extension + last)

    def credit_at(self, when: dt.datetime, extension: float = 0.0) -> float:
        """The share of its points an answer handed in (or checked) at `when` keeps: 1 up to the due
        date (plus the student's extension), then each late step's, then 0 (practice only)."""
        late = (when - self.due).total_seconds() - extension
        if late <= 0:
            return 1.0
        for step in self.late:
            if late <= step.until:
                return step.credit
        return 0.0

    def describe(self, checks: bool = True) -> str:
        """The timeline in one sentence (`checks`: whether the assignment has checks to mention)."""
        text = f"Due {self.due.isoformat(timespec='minutes')}"
        for step in self.late:
            text += f"; until {duration_text(step.until)} after it, answers keep {step.credit:.0%}"
        after = "answers count for nothing" + (
            "; the Check button then gives practice on fresh numbers, which counts for nothing" if checks else "")
        return f"{text}; after that, {after}."


@dataclass(frozen=True)
class AssignmentRules:
    """An assignment's `attempts:` and `dates:`, with each problem's own `attempts:` merged over them."""

    attempts: CheckPolicy = field(default_factory=CheckPolicy)
    dates: Dates | None = None
    overrides: tuple[tuple[str, CheckPolicy], ...] = ()   # (problem id, its merged policy)

    def policy_for(self, problem_id: str) -> CheckPolicy:
        return dict(self.overrides).get(problem_id, self.attempts)


def duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


# --- parsing (errors are (line, message) pairs: the loader names the file and the problem) ----------

def parse_duration(value: Any) -> float:
    """Seconds from 45, '45s', '5 min', '2h', '1.5d'; ValueError with what is accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    found = _DURATION.match(str(value))
    if not found or found.group(2) not in _UNITS:
        raise ValueError(f"{value!r} is not a duration (a number of seconds, or e.g. '30s', '5min', '2h', '2d')")
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_when(value: Any) -> dt.datetime:
    """A timezone-aware datetime from ISO 8601 text (YAML may have made it a datetime already)."""
    when = value if isinstance(value, dt.datetime) else None
    if when is None:
        try:
            when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{str(value)!r} is not a date and time (ISO 8601, e.g. 2026-12-10T23:59:00-05:00)") \
                from None
    if when.tzinfo is None:
        raise ValueError(f"{str(value)!r} has no UTC offset: write it as e.g. {when.isoformat()}-05:00 "
                         f"(or Z for UTC), so that every machine reads the same moment")
    return when


def _line(raw: Any, key: Any, default: int) -> int:
    return getattr(raw, "lines", {}).get(key, default)


def parse_policy(raw: Any, line: int, base: CheckPolicy | None = None) -> tuple[CheckPolicy | None, list]:
    """The `attempts:` mapping over `base` (the assignment's, for a problem's override)."""
    errors: list[tuple[int, str]] = []
    policy = base or CheckPolicy()
    if not isinstance(raw, dict):
        return None, [(line, "attempts: must be a mapping (checks, credit, interval, reveal)")]
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        at = _line(raw, key, line)
        if key == "checks":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors.append((at, f"attempts.checks: {value!r} is not a whole number ≥ 0"))
            else:
                changes["checks"] = value
        elif key == "credit":
            shares = value if isinstance(value, list) else [value]
            if not shares or any(isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s <= 1
                                 for s in shares):
                errors.append((at, f"attempts.credit: {value!r} must be a list of shares between 0 and 1, "
                                   f"one per try, e.g. [1, 0.8, 0.5]"))
            elif any(later > earlier for earlier, later in zip(shares, shares[1:])):
                errors.append((at, f"attempts.credit: {value!r} rises: a later try cannot keep more than an earlier one"))
            else:
                changes["credit"] = tuple(float(s) for s in shares)
        elif key == "interval":
            try:
                changes["interval"] = parse_duration(value)
            except ValueError as exc:
                errors.append((at, f"attempts.interval: {exc}"))
        elif key == "reveal":
            if value not in REVEALS:
                errors.append((at, f"attempts.reveal: {value!r} is not one of {', '.join(REVEALS)}"))
            else:
                changes["reveal"] = value
        else:
            errors.append((at, f"attempts: unknown field {key!r} (checks, credit, interval, reveal)"))
    if errors:
        return None, errors
    return replace(policy, **changes), []


def parse_dates(raw: Any, line: int) -> tuple[Dates | None, list]:
    errors: list[tuple[int, str]] = []
    if not isinstance(raw, dict):
        return None, [(line, "dates: must be a mapping (due, late)")]
    unknown = set(raw) - {"due", "late"}
    for key in sorted(unknown, key=str):
        errors.append((_line(raw, key, line), f"dates: unknown field {key!r} (due, late)"))
    if "due" not in raw:
        errors.append((line, "dates: needs 'due'"))
        return None, errors
    try:
        due = parse_when(raw["due"])
    except ValueError as exc:
        return None, errors + [(_line(raw, "due", line), f"dates.due: {exc}")]
    steps: list[LateStep] = []
    late = raw.get("late", [])
    if not isinstance(late, list):
        return None, errors + [(_line(raw, "late", line), "dates.late: a list of {until, credit} steps")]
    for index, step in enumerate(late):
        at = getattr(late, "lines", {}).get(index, _line(raw, "late", line))
        if not isinstance(step, dict) or set(step) != {"until", "credit"}:
            errors.append((at, f"dates.late[{index}]: a step is {{until: <time after the due date>, credit: <share>}}"))
            continue
        try:
            until = parse_duration(step["until"])
        except ValueError as exc:
            errors.append((at, f"dates.late[{index}].until: {exc}"))
            continue
        credit = step["credit"]
        if isinstance(credit, bool) or not isinstance(credit, (int, float)) or not 0 <= credit <= 1:
            errors.append((at, f"dates.late[{index}].credit: {credit!r} is not a share between 0 and 1"))
            continue
        if steps and until <= steps[-1].until:
            errors.append((at, f"dates.late[{index}].until: {duration_text(until)} is not after the step before it "
                               f"({duration_text(steps[-1].until)})"))
            continue
        steps.append(LateStep(until=until, credit=float(credit)))
    if errors:
        return None, errors
    return Dates(due=due, late=tuple(steps)), []
