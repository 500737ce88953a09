"""python -m grader.devtools bench --assignment A --students 60: sequential `nbgrader autograde` vs `grader grade`.

Both grade the same simulated class in twin course copies under bench-out/, under the same
nbgrader configuration (the course's, plus the defences, one skip tag, the same timeout), and
both grade the hidden tests' reports outside the kernel: nbgrader through the same preprocessors
in its own sequential loop (grader/grading/notebook/plain.py, nbgrader_grades_reports), unsandboxed;
grader in parallel workers, sandboxed where the machine can. Every
score is compared; the only differences allowed are students whose submission nbgrader itself
failed on (a kernel that died: nbgrader drops the whole submission, grader keeps the rest).
"""


def add_arguments(parser):
    parser.add_argument("--assignment", default="cnn-detection")
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--timeout", type=int, default=5, help="per-cell timeout for both (default 5 s)")
    parser.add_argument("--workers", type=int, default=None)


def twin(course, target, assignment, config):
    import shutil
    import subprocess
    import sys

    from grader.grading.notebook.config import with_venv_on_path, write_config

    target.mkdir(parents=True)
    shutil.copy(course / "questions.yaml", target / "questions.yaml")
    for folder in ("source", "release"):
        shutil.copytree(course / folder / assignment, target / folder / assignment)
    write_config(config, target / "nbgrader_config.py", target, f"sqlite:///{target / 'gradebook.db'}")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                   cwd=target, check=True, capture_output=True, env=with_venv_on_path())


def scores(config, assignment):
    """{student: {grade id: score}} of `assignment` in the gradebook of the course `config` describes."""
    from grader.course import open_gradebook
    with open_gradebook(config) as gb:
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades}
                for s in gb.find_assignment(assignment).submissions}


def run(args):
    import copy
    import shutil
    import subprocess
    import sys
    import time

    from grader.bank import load_bank
    from grader.course import paths_of
    from grader.errors import GraderError
    from grader.grading.coordinator.progress import grade_with_progress
    from grader.grading.notebook.config import effective_config, with_venv_on_path
    from grader.grading.notebook.plain import nbgrader_grades_reports
    from grader.simulate import simulate_class

    course, assignment = args.course, args.assignment
    out = course / "bench-out"
    shutil.rmtree(out, ignore_errors=True)
    config = effective_config(course)
    config.Execute.timeout = args.timeout
    config.CourseDirectory.course_id = config.CourseDirectory.get("course_id", "elen521")
    twins = {"nbgrader": out / "nbgrader", "grader": out / "grader"}
    for name, target in twins.items():
        twin(course, target, assignment, nbgrader_grades_reports(copy.deepcopy(config)) if name == "nbgrader" else config)
    bank = load_bank(twins["grader"] / "questions.yaml")
    simulate_class(bank, twins["grader"], assignment, args.students)
    shutil.copytree(paths_of(twins["grader"]).submitted_root(), paths_of(twins["nbgrader"]).submitted_root())

    print(f"nbgrader autograde, sequential, {args.students} submissions ...", flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment], cwd=twins["nbgrader"],
                          capture_output=True, text=True, env=with_venv_on_path())
    nbgrader_seconds = time.monotonic() - started
    (out / "nbgrader-autograde.log").write_text(done.stderr)

    grader_config = effective_config(twins["grader"])
    grader_config.Execute.timeout = args.timeout
    grader_config.Execute.skip_cells_with_tag = config.Execute.skip_cells_with_tag
    started = time.monotonic()
    grade_with_progress(twins["grader"], assignment, workers=args.workers, config=grader_config)
    grader_seconds = time.monotonic() - started

    theirs, ours = (scores(effective_config(twins[name]), assignment) for name in ("nbgrader", "grader"))
    failed_by_nbgrader = {s for s in ours if not paths_of(twins["nbgrader"]).autograded(s, assignment).exists()}
    differ = sorted(s for s in ours if ours[s] != theirs.get(s))
    unexplained = [s for s in differ if s not in failed_by_nbgrader]
    for student in differ:
        print(f"  {student}: nbgrader {sum(theirs[student].values()):g}, grader {sum(ours[student].values()):g}"
              f"{'  (nbgrader failed this submission)' if student in failed_by_nbgrader else '  UNEXPLAINED'}")
    same = len(ours) - len(differ)
    print(f"scores: {same}/{len(ours)} students identical on every grade; "
          f"{len(differ) - len(unexplained)} differ only where nbgrader failed the whole submission")
    print(f"nbgrader autograde (sequential): {nbgrader_seconds:.1f} s")
    print(f"grader grade (parallel):         {grader_seconds:.1f} s")
    print(f"speed-up:                        {nbgrader_seconds / grader_seconds:.2f}x")
    if unexplained:
        raise GraderError(f"bench: scores differ for {', '.join(unexplained)} (see {out})")
    return 0
