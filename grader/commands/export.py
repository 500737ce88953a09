"""python -m grader export moodle|qti ASSIGNMENT | --problems IDS --variants N [--out FILE].

The bank's `attempts:` and `dates:` go along where the format has a place for them (Moodle: each
question's penalty and tries; Canvas: the quiz's attempts and dates); the printed notes say what the
LMS's quiz settings must add and where the LMS cannot follow the bank's credit list."""

from grader.errors import GraderError

FORMATS = {"moodle": ".moodle.xml", "qti": ".qti.zip"}


def add_arguments(parser):
    parser.add_argument("format", choices=sorted(FORMATS), help="moodle: Moodle XML; qti: Canvas QTI 1.2 zip")
    parser.add_argument("assignment", nargs="?", help="an assignment id from the bank")
    parser.add_argument("--problems", metavar="IDS", help="comma-separated problem ids instead of an assignment")
    parser.add_argument("--variants", type=int, default=20, help="pre-drawn variants per problem (default 20)")
    parser.add_argument("--out", metavar="FILE", help="default: COURSE/exports/<assignment><format suffix>")
    parser.add_argument("--cloze-weights", choices=("points", "equal"), default="points",
                        help="Moodle Cloze boxes (tables, arrays): whole weights adding up to the problem's points, "
                             "so each question's mark is its points (default), or every box the same weight")


def _problem_ids(text):
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def run(args):
    from grader.bank import load_bank
    from grader.export.common import select
    from grader.files import write_atomic

    if args.variants < 1:
        raise GraderError(f"--variants: expected a positive number, got {args.variants}")
    if (args.assignment is None) == (args.problems is None):
        raise GraderError("export: name an assignment or give --problems ID[,ID...] (not both)")
    bank = load_bank(args.bank)
    selection = select(bank, args.assignment, _problem_ids(args.problems))
    if args.format == "moodle":
        from grader.export.moodle import export_moodle, moodle_policy_notes, weights_note

        data, exported, skipped, uneven = export_moodle(bank, selection, args.variants, args.cloze_weights)
        notes = [weights_note(uneven, args.cloze_weights)] if uneven else []
        notes += moodle_policy_notes(bank, selection, exported)
    else:
        from grader.export.qti import canvas_policy_notes, export_qti

        data, exported, skipped, credit_lost = export_qti(bank, selection, args.variants)
        notes = [f"Canvas gives no partial credit to numerical answers: misconception credit of "
                 f"{', '.join(credit_lost)} is lost (their feedback is kept)"] if credit_lost else []
        notes += canvas_policy_notes(bank, selection, exported)
    if not exported:
        raise GraderError(f"export {args.format}: none of the problems can be exported "
                          f"({'; '.join(f'{pid}: {why}' for pid, why in skipped)})")
    name = args.assignment or "problems"
    out = args.out or args.course / "exports" / f"{name}{FORMATS[args.format]}"
    write_atomic(out, data)
    print(f"wrote {out}: {len(exported)} problems x {args.variants} variants")
    for problem_id, reason in skipped:
        print(f"skipped {problem_id}: {reason}")
    for note in notes:
        print(f"note: {note}")
    return 0
