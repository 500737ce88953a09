"""python -m grader validate: load the bank with every check and print a summary.

Exit 0 when the bank is valid; on errors print each one as `file:line: problem: message`
and exit 2; exit 1 when a released problem changed in a way that regrades submissions
(grader/release_record.py). Writes nothing.
"""

import sys
from collections import Counter

from grader.bank import BankError
from grader.bank.loader import problem_issue
from grader.kinds import KINDS
from grader.validation import load_checked_bank

QUICK_SAMPLE = 25


def add_arguments(parser):
    parser.add_argument("--quiet", action="store_true", help="print nothing when the bank is valid")
    parser.add_argument("--sample", type=int, default=QUICK_SAMPLE, metavar="N",
                        help=f"variants of every problem drawn for a quick qa (default {QUICK_SAMPLE}; "
                             f"`qa` draws 1000)")


def summary_lines(bank, contracts, verdict="valid."):
    """The summary as lines of text: problems per kind and assignment, contract coverage, misconceptions."""
    problems = bank.problems.values()
    kinds = Counter(problem.kind for problem in problems)
    lines = [f"{bank.path}: {verdict} {len(bank.problems)} problems, {len(bank.assignments)} assignments "
             f"(seed {bank.seed}, variants keyed by {bank.variant_key} unless an assignment says otherwise)"]
    lines.append("problems per kind: " + ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS))
    for assignment in bank.assignments.values():
        points = sum(bank.problems[pid].points for pid in assignment.problems)
        shared = sum(1 for pid in assignment.problems if bank.problems[pid].shared)
        keying = (f"per student ({shared} shared)" if assignment.variant_key == "student" else "by the assignment")
        lines.append(f"  {assignment.id}: {len(assignment.problems)} problems, {points:g} points, keyed {keying} "
                     f"— {assignment.title}")
    unassigned = [pid for pid in bank.problems if not bank.assignments_of(pid)]
    if unassigned:
        lines.append(f"  in no assignment: {', '.join(unassigned)}")
    covered = {contract for problem in problems for contract in problem.formula}
    missing = [contract for contract in contracts if contract not in covered]
    lines.append(f"contract ids covered: {len(contracts) - len(missing)}/{len(contracts)}"
                 + (f"; missing: {', '.join(missing)}" if missing else ""))
    misconceptions = sum(len(problem.misconceptions) for problem in problems)
    with_any = sum(1 for problem in problems if problem.misconceptions)
    lines.append(f"misconceptions: {misconceptions} in {with_any} problems")
    return lines


def run(args):
    from grader.engine import CONTRACTS
    from grader.prompt_checks import prompt_findings
    from grader.qa import run_qa

    try:
        bank = load_checked_bank(args.bank)
    except BankError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{len(exc.issues)} error{'s' if len(exc.issues) != 1 else ''}: the bank is not valid",
              file=sys.stderr)
        return 2
    failures = [issue for report in run_qa(bank, max(1, args.sample)) for issue in report.issues(bank)]
    failures += [problem_issue(bank, finding.problem, "prompt", f"{finding.assignment}: {finding.message}")
                 for finding in prompt_findings(bank)]
    if failures:
        for issue in failures:   # the loader's format: file:line: problem 'id': message
            print(issue, file=sys.stderr)
        print(f"{len(failures)} error{'s' if len(failures) != 1 else ''}: a quick qa of {args.sample} variants "
              f"per problem (`python -m grader qa` for the full table) and the prompt checks", file=sys.stderr)
        return 2
    from grader.release_record import changes_since_release

    changes = changes_since_release(args.course, bank, list(bank.assignments))
    regrades = [change for change in changes if not change.wording_only]
    if not args.quiet:
        verdict = "valid as a bank, but released problems changed (below)." if regrades else "valid."
        print("\n".join(summary_lines(bank, list(CONTRACTS), verdict)))
        for change in changes:
            print(change.describe(), file=sys.stderr if not change.wording_only else sys.stdout)
    if regrades:
        print(f"{len(regrades)} released problem(s) changed: `render` and `release` will refuse them "
              f"without --force (or give each a new id)", file=sys.stderr)
        return 1
    return 0
