"""python -m grader release [--assignment A] [--check] [--per-student]: source/ -> release/ through nbgrader;
with --per-student also release-students/<student>/<a>/<a>.ipynb for every roster student."""


def add_arguments(parser):
    parser.add_argument("--assignment", action="append", metavar="A",
                        help="release only this assignment (repeatable); default: every assignment")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when release/ is not what source/ generates, "
                             "or when a release notebook leaks")
    parser.add_argument("--force", action="store_true",
                        help="release even when a released problem's numbers or grading changed "
                             "(every submission is then graded on the new spec); with --per-student, "
                             "replace personal notebooks and recorded variants that changed")
    parser.add_argument("--per-student", action="store_true",
                        help="also write release-students/<student>/<a>/<a>.ipynb with each student's own "
                             "numbers, for every student of the roster (nbgrader's students table), and record "
                             "what each was given in release-records/<a>.students.json")
    parser.add_argument("--student", action="append", metavar="S",
                        help="with --per-student: only this student (repeatable; may be someone not yet on the roster)")
    parser.add_argument("assignments", nargs="*", metavar="A", help="the same as --assignment A")


def run(args):
    import shutil

    from grader.bank import load_bank
    from grader.release import assignment_ids_of, check_release, orphaned_releases, release
    from grader.release_record import changes_since_release, refuse_regrades, write_record

    bank = load_bank(args.bank)
    args.assignment = (args.assignment or []) + list(getattr(args, "assignments", None) or [])
    assignment_ids = assignment_ids_of(bank, args.assignment)
    orphans = orphaned_releases(bank, args.course) if not args.assignment else []
    changes = changes_since_release(args.course, bank, assignment_ids)
    if not getattr(args, "force", False):
        refuse_regrades(changes, "release")
    if args.check:
        from grader.distribute import check_per_student_release

        differences = check_release(args.course, bank, assignment_ids)
        for difference in differences:
            print(f"out of date: {difference.path} ({difference.what})")
        for path in orphans:
            print(f"not in the bank: {path.relative_to(args.course)}/")
        personal = [problem for a in assignment_ids for problem in check_per_student_release(args.course, bank, a)]
        for problem in personal:
            print(f"per-student release: {problem}")
        if differences or orphans or personal:
            print("run `python -m grader release` (with --per-student for release-students/) to update them")
            return 1
        print(f"release/ is in sync with source/ for {len(assignment_ids)} assignment(s); no leaks"
              + ("; release-students/ checked too" if (args.course / "release-students").is_dir() else ""))
        return 0
    stale_sources = _sources_behind_the_bank(args.course, bank, assignment_ids)
    if stale_sources:
        from grader.errors import GraderError
        raise GraderError(f"source/ was rendered from an older questions.yaml ({', '.join(stale_sources)}); "
                          f"nothing was released: run `python -m grader render"
                          f"{' --force' if any(not c.wording_only for c in changes) else ''}` first")
    changed = release(args.course, bank, assignment_ids)
    for path in changed:
        print(f"wrote {path.relative_to(args.course)}")
    for change in changes:
        print(("" if change.wording_only else "forced: " if change.submissions else "notice: ") + change.describe())
    for assignment_id in assignment_ids:
        write_record(args.course, bank, assignment_id)
    for path in orphans:
        shutil.rmtree(path)
        print(f"removed {path.relative_to(args.course)}/ (no such assignment in the bank)")
    print(f"released {len(assignment_ids)} assignment(s), {len(changed)} file(s) changed")
    if getattr(args, "per_student", False):
        for assignment_id in assignment_ids:
            release_students(args, bank, assignment_id)
    return 0


def _sources_behind_the_bank(course, bank, assignment_ids) -> list[str]:
    """The source notebooks `render` would change now (release copies source/, so they would not be released)."""
    from grader.render import out_of_date, render_bank

    return [str(path.relative_to(course)) for path in out_of_date(render_bank(bank, course, assignment_ids))]


def release_students(args, bank, assignment_id):
    import time

    from grader.distribute import STUDENTS_DIR, release_per_student, roster, students_to_release
    from grader.variants import assignment_variant_key

    started = time.perf_counter()
    students = students_to_release(args.course, getattr(args, "student", None))
    result = release_per_student(args.course, bank, assignment_id, students, force=getattr(args, "force", False))
    for line in result.forced:
        print(f"forced: {line}")
    if assignment_variant_key(bank, assignment_id) != "student":
        print(f"note: {assignment_id} is keyed by the assignment: every student's notebook has the same numbers")
    off_roster = sorted(set(students) - set(roster(args.course))) if getattr(args, "student", None) else []
    if off_roster:
        print(f"note: not on the roster (nbgrader's students table): {', '.join(off_roster)}")
    print(f"{assignment_id}: {len(students)} personal notebook(s) under {STUDENTS_DIR}/<student>/{assignment_id}/ "
          f"({len(result.written)} written, {len(result.unchanged)} unchanged) in "
          f"{time.perf_counter() - started:.1f} s")
