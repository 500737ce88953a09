"""`python -m grader COMMAND`: one subcommand per step of the pipeline.

Each command lives in grader/commands/<name>.py and defines `HELP`, `add_arguments(parser)`
and `run(args) -> int`. Modules are imported only when their command runs, so
`python -m grader validate` never loads nbgrader.
"""

import argparse
import importlib
import sys
from pathlib import Path

from grader.errors import GraderError

COMMANDS = [
    ("validate", "check questions.yaml: schema, expressions, contract ids, constraints"),
    ("qa", "sample many variants of every problem and check answers and misconceptions"),
    ("render", "write nbgrader source notebooks under source/ from the bank"),
    ("release", "run nbgrader generate_assignment: source/ -> release/"),
    ("distribute", "deliver per-student notebooks: JupyterHub home folders, a zip or a folder for an LMS"),
    ("serve-checks", "serve the check-my-answer API: students check answers before the deadline, within the "
                     "policy (docs/checks.md)"),
    ("simulate", "write a synthetic class of submissions under submitted/"),
    ("roster", "who is on the roster and why; `roster import FILE` imports it into nbgrader's students table"),
    ("doctor", "which sandbox mode grading uses here, what is missing, and a real sandboxed kernel start"),
    ("grade", "autograde every submission of an assignment, in parallel"),
    ("answers", "one student's numbers, expected answers and misconception values, for a regrade request "
                "(printed to stdout only, never written to a file)"),
    ("extend", "give one student more time on an assignment (recorded, and mirrored into nbgrader's extension)"),
    ("attempts", "the checks students made before the deadline: one student's log, or counts per student"),
    ("feedback", "write one HTML feedback page per student"),
    ("report", "grades (nbgrader, Canvas and Moodle CSV), per-problem CSV, item analysis and plots"),
    ("demo", "render, release, simulate, grade, feedback and report, end to end"),
    ("export", "Moodle XML or Canvas QTI quiz with N pre-drawn variants per problem"),
    ("preview", "static HTML site for instructors: K variants of every problem with answers"),
]


def _add_course_options(parser, default_course, default_bank):
    parser.add_argument("--course", type=Path, default=default_course,
                        help="course directory (nbgrader_config.py, source/, release/ ...); default: .")
    parser.add_argument("--bank", type=Path, default=default_bank,
                        help="question bank; default: COURSE/questions.yaml")


def build_parser(commands=COMMANDS, package="grader.commands", prog="python -m grader", description=__doc__):
    parser = argparse.ArgumentParser(prog=prog, description=description.splitlines()[0])
    _add_course_options(parser, Path("."), None)
    # The same options after the subcommand; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_course_options(common, argparse.SUPPRESS, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in commands:
        module = f"{package}.{name.replace('-', '_')}"
        command_parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        command_parser.set_defaults(module=module)
        importlib.import_module(module).add_arguments(command_parser)
    return parser


def main(argv=None, commands=COMMANDS, package="grader.commands", prog="python -m grader", description=__doc__):
    """Run one command: `package`.<name> of `commands` (the course's commands, or grader.devtools')."""
    args = build_parser(commands, package, prog, description).parse_args(argv)
    args.course = args.course.resolve()
    if args.bank is None:
        args.bank = args.course / "questions.yaml"
    try:
        return importlib.import_module(args.module).run(args) or 0
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
