"""One check of one answer: what the service does between authenticating the student and replying.

The student is whoever the caller authenticated (the Hub's token, or a course token): nothing in
the request names them. A check reads the same plain data a hidden test reports
(grader/grading/kernel/in_kernel.py), draws the student's own variant of the problem, grades it
with the problem's kind, applies the assignment's policy (grader.bank.policy: checks left, the
interval, the timeline, the student's extension), appends the check to the course database
(grader.attempts.store) and replies with what the policy lets a check reveal. A refused check
(malformed, too big, unknown problem, none left, too soon) records nothing.

Replies are JSON dicts with an HTTP status; a refusal is {"error": "<what the notebook prints>"},
and a 429 also says when to try again ("retry_after", seconds, or null: not before the deadline).
No reply holds the expected value, the key, or anyone else's checks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader.attempts.rules import answers_count
from grader.attempts.store import Attempt, Extension, GroupRecorder, Store, TryTaken, answer_digest, verdict_word
from grader.bank import Bank
from grader.bank.policy import REVEALS, CheckPolicy, duration_text
from grader.grading.kernel.in_kernel import CodecError, encode
from grader.grading.notebook.answers import decode_plain
from grader.kinds import grade_answer, kind_of
from grader.kinds.rules import band_words
from grader.protocol import Code, Result
from grader.variants import draw, variant_key_for

MAX_BODY = 256 * 1024          # bytes of one check's request: far more than any answer of the bank
MAX_PRACTICE_VARIANT = 1_000_000
EXTENSIONS_FRESH_FOR = 5.0     # seconds a service trusts its copy of the extensions (`grader extend` elsewhere)
FORMAT_CODES = frozenset({Code.WRONG_TYPE, Code.WRONG_SHAPE, Code.NOT_FINITE, Code.NOT_AN_OPTION,
                          Code.WRONG_COUNT, Code.RAISED})   # what the format checks tell anyway


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    retry_after: float | None = None      # a 429's Retry-After

    @classmethod
    def refused(cls, status: int, message: str, retry_after: float | None = None, **extra: Any) -> Reply:
        body = {"error": message, **extra}
        if status == 429:
            body["retry_after"] = None if retry_after is None else round(retry_after, 1)
        return cls(status, body, retry_after)


def practice_key(student: str, number: int) -> str:
    """The variant key of a student's practice round `number` (never a real student's id: '/' is in no
    student id, grader.grading.coordinator.submission.unusable_student_id)."""
    return f"{student}/practice/{number}"


@dataclass(frozen=True)
class Pending:
    """A graded check waiting to be recorded, and the reply it gets once it is."""

    attempt: Attempt
    reply: dict[str, Any]


@dataclass
class Checker:
    bank: Bank
    store: Store
    clock: Callable[[], float] = time.time
    recorder: GroupRecorder | None = None      # check_async's writer (a service's; tests call check)
    _values: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    # A student's checks of a problem, read from the database once and then kept up to date by this
    # service's own records: another service recording meanwhile makes a try TryTaken, and the copy is read again.
    _tried: dict[tuple[str, str, str], list[Attempt]] = field(default_factory=dict)
    _extensions: dict[str, tuple[float, dict]] = field(default_factory=dict)

    # --- what a student may ask ------------------------------------------------------------------

    def check(self, student: str, body: bytes) -> Reply:
        """One check, recorded before it is answered."""
        pending = self.prepare(student, body)
        if isinstance(pending, Reply):
            return pending
        try:
            self.store.record(pending.attempt)
        except TryTaken:
            return self.settle(pending, recorded=False)
        return self.settle(pending, recorded=True)

    async def check_async(self, student: str, body: bytes, executor: Any = None) -> Reply:
        """`check` for an event loop: the record goes to `recorder` (a GroupRecorder: one commit for the
        checks that arrive together), and the loop serves other students while it is written. What
        `prepare` would read from the database (the student's checks of the problem, the first time;
        the extensions, when the copy is stale) is read first on `executor` (None: the loop's default),
        so that a database read never stalls the loop."""
        request = self._request(body)
        if not isinstance(request, Reply):
            await self._read_ahead(student, request, executor)
        pending = self._prepare(student, request)
        if isinstance(pending, Reply):
            return pending
        assert self.recorder is not None, "check_async needs the Checker's recorder"
        try:
            recorded = await asyncio.wrap_future(self.recorder.submit(pending.attempt))
        except Exception:
            self._forget(pending)
            raise
        return self.settle(pending, recorded=recorded)

    async def _read_ahead(self, student: str, request: dict, executor: Any) -> None:
        """Read into this service's copies what `prepare` will need of the database and does not have
        (nothing for a request it refuses before reading)."""
        assignment, problem_id = request["assignment"], request["problem"]
        found = self.problem_and_policy(assignment, problem_id)
        if isinstance(found, Reply) or found[1].checks <= 0:
            return
        loop = asyncio.get_running_loop()
        now = self.clock()
        read_at, _ = self._extensions.get(assignment, (None, {}))
        if read_at is None or not 0 <= now - read_at < EXTENSIONS_FRESH_FOR:
            extensions = await loop.run_in_executor(executor, self.store.extensions, assignment)
            self._extensions[assignment] = (now, extensions)
        key = (assignment, student, problem_id)
        if key not in self._tried:
            tried = await loop.run_in_executor(executor, self.store.attempts, assignment, student, problem_id)
            self._tried.setdefault(key, tried)   # another check of it read (and maybe used) its copy first

    def prepare(self, student: str, body: bytes) -> Reply | Pending:
        """A refusal, or the graded check with its try taken in this service's copy (so that a second
        check arriving before this one is on disk counts after it, or waits its interval)."""
        return self._prepare(student, self._request(body))

    @staticmethod
    def _request(body: bytes) -> Reply | dict:
        """The check's request read from its body, or the refusal of a body that is not one."""
        if len(body) > MAX_BODY:
            return Reply.refused(413, f"the answer is too big to check ({len(body):,} bytes; at most {MAX_BODY:,})")
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            return Reply.refused(400, "the check could not be read (not JSON)")
        if not isinstance(request, dict) or not isinstance(request.get("assignment"), str) \
                or not isinstance(request.get("problem"), str) or "answer" not in request:
            return Reply.refused(400, "a check holds an assignment, a problem and an answer")
        return request

    def _prepare(self, student: str, request: Reply | dict) -> Reply | Pending:
        if isinstance(request, Reply):
            return request
        assignment, problem_id = request["assignment"], request["problem"]
        found = self.problem_and_policy(assignment, problem_id)
        if isinstance(found, Reply):
            return found
        problem, policy = found
        if policy.checks <= 0:
            return Reply.refused(403, f"{problem_id} has no checks: it is checked when the assignment is graded")
        try:
            answer = decode_plain(request["answer"])
        except CodecError as exc:
            return Reply.refused(400, f"the answer could not be read: {exc}"[:300])
        now = self.clock()
        rules = self.bank.assignments[assignment].rules
        extension = self._extension(assignment, student, now)
        counting = answers_count(rules, moment(now), extension.seconds if extension else 0.0)
        tried = self._tried_of(assignment, student, problem_id)
        if policy.interval > 0 and tried and now - tried[-1].at < policy.interval:
            wait = policy.interval - (now - tried[-1].at)
            return Reply.refused(429, f"too soon: checks of {problem_id} are at least {duration_text(policy.interval)} "
                                      f"apart; try again in {duration_text(round(wait))}", wait)
        counted = [one for one in tried if one.try_number is not None]
        if counting:
            if len(counted) >= policy.checks:
                opens = self._practice_opens(assignment, student)
                when = f"; practice opens {opens.isoformat(timespec='minutes')}" if opens else ""
                return Reply.refused(429, f"no checks of {problem_id} left ({policy.checks} used){when}",
                                     (opens.timestamp() - now) if opens else None)
            try_number: int | None = len(counted) + 1
            key = variant_key_for(self.bank, assignment, student, problem)
        else:
            number = request.get("practice", 1)
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PRACTICE_VARIANT:
                return Reply.refused(400, f"practice: a round number from 1 to {MAX_PRACTICE_VARIANT:,}")
            try_number, key = None, practice_key(student, number)
        result = grade_answer(problem, answer, self.draw(assignment, problem_id, key))
        encoded = json.dumps(request["answer"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        keeps = policy.credit_of_try(try_number) if try_number is not None else 0.0
        attempt = Attempt(assignment=assignment, problem=problem_id, student=student, at=now, try_number=try_number,
                          variant=key, answer_digest=answer_digest(encoded), answer=encoded,
                          fraction=result.fraction, correct=result.correct, misconception=result.misconception,
                          code=result.code, keeps=keeps)
        tried.append(attempt)
        # what a right answer keeps when submitted: grading's rule, the credit of the first try checked right
        first_right = next((one.try_number for one in counted if one.correct), try_number)
        kept = policy.credit_of_try(first_right) if try_number is not None else 0.0
        return Pending(attempt, self._verdict(problem, policy, result, attempt, len(counted) + (try_number is not None),
                                              kept))

    def settle(self, pending: Pending, recorded: bool) -> Reply:
        """The reply to a prepared check once the database took it (or refused its try: another service
        recorded that try meanwhile; this service's copy is read again at the next check)."""
        if recorded:
            return Reply(200, pending.reply)
        self._forget(pending)
        return Reply.refused(429, "another check of this problem was being recorded: try again", 1.0)

    def _forget(self, pending: Pending) -> None:
        one = pending.attempt
        self._tried.pop((one.assignment, one.student, one.problem), None)

    def cases(self, student: str, assignment: str, problem_id: str, practice: int | None = None) -> Reply:
        """The argument lists a function answer is called on before it is checked (inputs are not
        secret: grading sends the same to the kernel); {"cases": null} for an answer that is a value."""
        found = self.problem_and_policy(assignment, problem_id)
        if isinstance(found, Reply):
            return found
        problem, _ = found
        key = practice_key(student, practice) if practice else variant_key_for(self.bank, assignment, student, problem)
        cases = kind_of(problem).report_cases(problem, self.draw(assignment, problem_id, key))
        return Reply(200, {"problem": problem_id, "cases": None if cases is None else encode(cases)})

    def attempts_of(self, student: str, assignment: str) -> Reply:
        """The student's own checks of the assignment (verdicts as they were told; never the answer key)."""
        if assignment not in self.bank.assignments:
            return Reply.refused(404, f"no assignment {assignment!r}")
        rows = [{"problem": one.problem, "at": moment(one.at).isoformat(timespec="seconds"),
                 "try": one.try_number, "practice": one.practice, "verdict": one.verdict}
                for one in self.store.attempts(assignment, student)]
        return Reply(200, {"assignment": assignment, "attempts": rows})

    def status(self, student: str, assignment: str) -> Reply:
        """Per problem of the assignment: checks allowed, used and left, when the next may be made."""
        if assignment not in self.bank.assignments:
            return Reply.refused(404, f"no assignment {assignment!r}")
        now = self.clock()
        found = self.bank.assignments[assignment]
        extension = self.store.extension(assignment, student)
        counting = answers_count(found.rules, moment(now), extension.seconds if extension else 0.0)
        tried = self.store.attempts(assignment, student)
        problems = {}
        for problem_id in found.problems:
            policy = found.rules.policy_for(problem_id)
            mine = [one for one in tried if one.problem == problem_id]
            used = sum(1 for one in mine if one.try_number is not None)
            wait = max(0.0, policy.interval - (now - mine[-1].at)) if mine else 0.0
            problems[problem_id] = {"checks": policy.checks, "used": used,
                                    "left": max(0, policy.checks - used) if counting else None,
                                    "next_check_in": round(wait, 1), "policy": policy.describe()}
        return Reply(200, {"assignment": assignment, "practice": not counting, "problems": problems,
                           "extension": extension.label if extension else None})

    # --- the parts -------------------------------------------------------------------------------

    def problem_and_policy(self, assignment: str, problem_id: str) -> Reply | tuple[Any, CheckPolicy]:
        """The problem and its policy in the assignment, or the 404 of an unknown assignment or problem."""
        found = self.bank.assignments.get(assignment)
        if found is None:
            return Reply.refused(404, f"no assignment {assignment!r}")
        if problem_id not in found.problems:
            return Reply.refused(404, f"{assignment} has no problem {problem_id!r}")
        return self.bank.problems[problem_id], found.rules.policy_for(problem_id)

    def _tried_of(self, assignment: str, student: str, problem_id: str) -> list[Attempt]:
        key = (assignment, student, problem_id)
        if key not in self._tried:
            self._tried[key] = self.store.attempts(assignment, student, problem_id)
        return self._tried[key]

    def _extension(self, assignment: str, student: str, now: float) -> Extension | None:
        read_at, extensions = self._extensions.get(assignment, (None, {}))
        if read_at is None or not 0 <= now - read_at < EXTENSIONS_FRESH_FOR:
            extensions = self.store.extensions(assignment)
            self._extensions[assignment] = (now, extensions)
        return extensions.get(student)

    def draw(self, assignment: str, problem_id: str, key: str) -> dict:
        cache_key = (assignment, problem_id, key)
        if cache_key not in self._values:
            if len(self._values) > 100_000:
                self._values.clear()
            self._values[cache_key] = draw(self.bank, self.bank.problems[problem_id], assignment, key)
        return self._values[cache_key]

    def _practice_opens(self, assignment: str, student: str) -> dt.datetime | None:
        dates = self.bank.assignments[assignment].rules.dates
        if dates is None:
            return None
        extension = self._extension(assignment, student, self.clock())
        return dates.closes(extension.seconds if extension else 0.0)

    def _verdict(self, problem: Any, policy: CheckPolicy, result: Result, attempt: Attempt, used: int,
                 kept: float) -> dict:
        level = REVEALS.index(policy.reveal)
        words = [verdict_word(result.fraction, result.correct).capitalize() + "."]
        if result.code in FORMAT_CODES:
            words.append(result.message)
        if level >= 1 and result.misconception:
            feedback = next((m.feedback for m in problem.misconceptions if m.id == result.misconception), "")
            words.append(feedback.strip())
        if level >= 2 and result.error:
            words.append(f"Your answer is {band_words(result.error)}.")
        if attempt.practice:
            words.append("Practice: this check counts for nothing.")
        elif result.correct:
            words.append(f"Submitted as it is, it keeps {kept:.0%} of its points.")
        body = {"problem": problem.id, "verdict": verdict_word(result.fraction, result.correct),
                "message": " ".join(word for word in words if word), "practice": attempt.practice,
                "try": attempt.try_number, "keeps": attempt.keeps if not attempt.practice else None,
                "checks_left": None if attempt.practice else max(0, policy.checks - used),
                "next_check_in": policy.interval}
        if level >= 1 and result.misconception:
            body["misconception"] = result.misconception
        return body


def moment(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
