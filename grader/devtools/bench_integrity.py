"""python -m grader.devtools bench-integrity: does grader.integrity find who copied, and only them?

Simulated classes with known ground truth (grader.simulate.integrity_class): honest students make
the class's common mistakes on their own numbers; in some classes, pairs copy all or part of an
assignment (a few answers, a whole assignment, a few answers in each of two), in either
direction (the copier's id before or after the source's), across kinds (numbers, arrays, tables,
function answers renamed and recommented). Nothing is graded or written: the answer cells go
straight to grader.integrity.analyse, as the report reads them from autograded notebooks.

Prints, over all classes: recall (copying pairs flagged, in the right direction) by how many
answers were copied, precision, direction accuracy, and the false-positive rate on honest pairs
(pairs where neither copied from the other, in every class, and all pairs of the honest classes).
Exits 1 when a pair that copied at least 3 answers fitting the source's numbers (the source's right
answers or misconception values on per-student problems) is not flagged in the right direction, or
when more than 1 honest pair in 1,000 is flagged. Copied answers that fit nobody's numbers (a wrong
value, a shared problem's answer) carry no evidence; function answers copied are listed apart (they
are evidence only where written unlike the rest of the class, and say nothing of the direction).
"""

ASSIGNMENTS = ("cnn-detection", "losses-activations-backprop", "embeddings-rnn-attention")


def add_arguments(parser):
    parser.add_argument("--students", type=int, default=60, help="students per class (default 60)")
    parser.add_argument("--copying-classes", type=int, default=3, help="classes with copying pairs (default 3)")
    parser.add_argument("--honest-classes", type=int, default=2, help="classes where nobody copies (default 2)")
    parser.add_argument("--pairs", type=int, default=8, help="copying pairs per copying class (default 8)")
    parser.add_argument("--reference", type=int, default=None, help="reference variants per problem")
    parser.add_argument("--mistakes", type=float, default=0.35,
                        help="share of each honest student's answers that are a common mistake (default 0.35)")
    parser.add_argument("--seed", type=int, default=521)
    parser.add_argument("--assignments", nargs="*", default=list(ASSIGNMENTS))


def plan_copying(bank, assignments, students, pairs, rng):
    """Copying plans: disjoint (copier, source) pairs, each copying 1..all answers of one assignment or
    2 in each of two, the copier before or after the source in the class list."""
    from grader.simulate import Copying

    people = list(students)
    rng.shuffle(people)
    plans = []
    for index in range(pairs):
        copier, source = people[2 * index], people[2 * index + 1]
        mode = index % 4
        first = assignments[index % len(assignments)]
        problems = list(bank.assignments[first].problems)
        if mode == 0:      # the whole assignment
            plans.append(Copying(copier, source, first, problems))
        elif mode == 3 and len(assignments) > 1:   # a few answers in each of two assignments
            second = assignments[(index + 1) % len(assignments)]
            for assignment in (first, second):
                plans.append(Copying(copier, source, assignment,
                                     rng.sample(list(bank.assignments[assignment].problems), 2)))
        else:              # part of an assignment: 1 to 6 answers
            plans.append(Copying(copier, source, first, rng.sample(problems, rng.randint(1, 6))))
    return plans


def evidence_bearing(bank, plan, cells):
    """(fitting, functions) of the plan's copied answers: how many answer a per-student problem with a
    value that fits the source's numbers (the source's right answer or one of their misconception
    values: a copied wrong value fits nobody's numbers, a shared problem's right answer is everyone's),
    and how many are function answers (evidence only when written unlike the class's)."""
    from grader.integrity import answer_value
    from grader.kinds import grade_answer, kind_of
    from grader.variants import draw_for, is_per_student

    fitting = functions = 0
    for problem_id in plan.problems:
        problem = bank.problems[problem_id]
        if problem.function is not None:
            functions += 1
            continue
        if not is_per_student(bank, plan.assignment, problem):
            continue
        values = draw_for(bank, problem, plan.assignment, plan.source)
        number = bank.assignments[plan.assignment].problems.index(problem_id) + 1
        ok, value = answer_value(cells[plan.source][problem_id], kind_of(problem).variable(problem, number),
                                 {name: values[name] for name in problem.inputs if name in values})
        if ok:
            result = grade_answer(problem, value, values)
            fitting += bool(result.correct or result.misconception)
    return fitting, functions


def run(args):
    import random
    import time
    from collections import defaultdict

    from grader.bank import load_bank
    from grader.errors import GraderError
    from grader.integrity import FLAG_P, REFERENCE_VARIANTS, Handed, analyse, listed
    from grader.simulate import integrity_class

    bank = load_bank(args.bank)
    unknown = [a for a in args.assignments if a not in bank.assignments]
    if unknown:
        raise GraderError(f"bench-integrity: no assignment {', '.join(unknown)} in {args.bank}")
    reference = args.reference or REFERENCE_VARIANTS
    totals: dict = defaultdict(int)
    by_count = defaultdict(lambda: [0, 0])      # copied answers -> [pairs, found in the right direction]
    missed, unrequired, flagged_honest = [], [], []
    started = time.monotonic()
    classes = [("copying", i) for i in range(args.copying_classes)] + [("honest", i) for i in range(args.honest_classes)]
    for kind, number in classes:
        rng = random.Random(f"{args.seed}:{kind}:{number}")
        students = [f"{kind}{number}-s{i:03d}" for i in range(1, args.students + 1)]
        plans = plan_copying(bank, args.assignments, students, args.pairs, rng) if kind == "copying" else []
        handed, honest_cells = {}, {}
        for assignment in args.assignments:
            seed = rng.randrange(1 << 30)
            cells = integrity_class(bank, assignment, students, plans, seed=seed, mistakes=args.mistakes)
            honest_cells[assignment] = integrity_class(bank, assignment, students, [], seed=seed, mistakes=args.mistakes)
            handed[assignment] = [Handed(assignment, s, p, src) for s in students for p, src in cells[s].items()]
        pairs = analyse(bank, handed, reference)
        flagged = {key for key, pair in pairs.items() if listed(pair) and pair.flagged}
        copied = defaultdict(lambda: [0, 0])
        for plan in plans:
            fitting, functions = evidence_bearing(bank, plan, honest_cells[plan.assignment])
            copied[(plan.copier, plan.source)][0] += fitting
            copied[(plan.copier, plan.source)][1] += functions
        involved = set(copied) | {(b, a) for a, b in copied}
        for (copier, source), (fitting, functions) in copied.items():
            right = (copier, source) in flagged and (source, copier) not in flagged
            either = (copier, source) in flagged or (source, copier) in flagged
            by_count[(min(fitting, 6), min(functions, 1))][0] += 1
            by_count[(min(fitting, 6), min(functions, 1))][1] += right
            totals["copying pairs"] += 1
            totals["found"] += either
            totals["right direction"] += right
            if fitting >= 3:
                totals["required"] += 1
                totals["required found"] += right
            if fitting >= 3 and not right or (not right and fitting + functions >= 3):
                found = pairs[(copier, source)].combined_p if (copier, source) in pairs else 1.0
                line = (f"{copier} copied {fitting} answers fitting {source}'s numbers and {functions} function "
                        f"answer(s): {'flagged the wrong way' if either else 'not flagged'} (combined p {found:.2g})")
                (missed if fitting >= 3 else unrequired).append(line)
        unordered_flags = {tuple(sorted(key)) for key in flagged}
        true_flags = {pair for pair in unordered_flags if pair in {tuple(sorted(k)) for k in involved}}
        totals["flagged pairs"] += len(unordered_flags)
        totals["true flagged pairs"] += len(true_flags)
        honest_pairs = len(students) * (len(students) - 1) // 2 - len(copied)
        totals["honest pairs"] += honest_pairs
        honest_p = [pair.combined_p for key, pair in pairs.items() if key not in involved and listed(pair)]
        totals["smallest honest p"] = min([totals.get("smallest honest p", 1.0), *honest_p])
        for pair in sorted(unordered_flags - true_flags):
            flagged_honest.append(f"{kind} class {number}: {pair[0]} and {pair[1]}")
        print(f"{kind} class {number}: {len(students)} students, {len(copied)} copying pairs, "
              f"{len(unordered_flags)} pairs flagged ({len(unordered_flags - true_flags)} honest)", flush=True)
    honest_flags = len(flagged_honest)
    recall = totals["right direction"] / totals["copying pairs"] if totals["copying pairs"] else float("nan")
    precision = totals["true flagged pairs"] / totals["flagged pairs"] if totals["flagged pairs"] else float("nan")
    direction = totals["right direction"] / totals["found"] if totals["found"] else float("nan")
    rate = honest_flags / totals["honest pairs"] if totals["honest pairs"] else 0.0
    print(f"\nreference variants per problem: {reference}; {time.monotonic() - started:.1f} s")
    print("copied answers fitting the source's numbers (+ function answers copied) -> pairs flagged in the "
          "right direction:")
    for fitting, functions in sorted(by_count):
        pairs_, found = by_count[(fitting, functions)]
        print(f"  {fitting if fitting < 6 else '6+'}{' + functions' if functions else '':12s} {found}/{pairs_}")
    print(f"recall, pairs with 3+ answers fitting the source's numbers: {totals['required found']}/{totals['required']}")
    print(f"recall (right direction, all copying pairs): {recall:.3f}")
    print(f"precision (flagged pairs that copied):       {precision:.3f}")
    print(f"direction accuracy (of pairs found):         {direction:.3f}")
    print(f"false positives on honest pairs:             {honest_flags} of {totals['honest pairs']} "
          f"({1000 * rate:.3f} per 1,000)")
    print(f"smallest combined p of an honest pair:       {totals['smallest honest p']:.2g} (flagged at {FLAG_P:g})")
    for line in missed + unrequired + flagged_honest:
        print(f"  {line}")
    if missed or rate > 1e-3:
        print("FAILED: a pair that copied 3 or more answers was missed, or more than 1 honest pair in 1,000 flagged")
        return 1
    return 0
