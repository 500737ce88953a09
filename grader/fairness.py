"""Were everyone's numbers equally hard? How reliable is the assignment? What should each student review?

Three measurements from what grading already knows (the gradebook's scores and each student's
drawn parameters), for TAs and, the last one, for the student:

* **Fairness of per-student numbers** (`problem_fairness`): per problem keyed per student, does the
  score depend on the drawn parameters beyond chance? Each variant is described by numbers
  (`variant_features`: every numeric parameter, the mean and largest magnitude of every array,
  one indicator per option of a `choice` parameter, and how large the right answer's numbers are).
  The statistic is the largest |Spearman ρ| between any feature and the score fraction; its p-value
  comes from a permutation test (scipy.stats.permutation_test: students' scores shuffled against
  their parameters, all features at once, so testing many features costs no extra false alarms: a
  max-statistic test). A problem is flagged when p is below `ALPHA` divided by the number of problems
  tested in the assignment (Bonferroni). The hardest and easiest region is the third of the class
  (by the most telling feature) or the option with the lowest and highest mean score.
  What it does not prove: a flag says the score and the numbers move together in this class; the
  cause may be the numbers (a rounding edge, large values, a tie at a threshold) or chance
  (a problem tested at 1 % flags 1 time in 100 on a fair problem) or who happened to draw them.
  An unflagged problem may still be unfair with a class too small to show it.
* **Reliability** (`cronbach_alpha`): Cronbach's alpha over the assignment's problems (KR-20 when
  every problem was scored all or nothing).
* **What to review** (`review_sections`): per student, across every graded assignment, the
  formula-sheet sections whose problems cost them points (a problem counts for the section of each
  contract id in its `formula`, mapped through the bank: `contract_sections`). Only section names and
  points: never an expected value.

Imports numpy and scipy; knows the bank through its Problem objects and draws through grader.variants.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ALPHA = 0.05            # family-wise level over the problems of one assignment (Bonferroni)
RESAMPLES = 9999        # permutations per problem
MIN_STUDENTS = 8        # fewer students: no test (nothing could reach significance)
REVIEW_ITEMS = 3        # sections on the "what to review" list

# The sheet's own headings (docs/formula-sheet.txt) for the bank's `section` names (grader.bank.model.SECTIONS).
SECTION_TITLES = {
    "losses": "Loss functions", "activations": "Activation functions",
    "backprop": "Backprop and gradient descent", "batchnorm": "Batch normalization",
    "regularization": "Regularization", "initialization": "Weight initialization",
    "cnn": "Convolutional neural networks", "nlp": "Embeddings and NLP metrics", "word2vec": "Word2Vec (skip-gram)",
    "rnn": "Simple RNN", "lstm": "LSTM gates", "attention": "Attention mechanism",
    "vae": "Variational autoencoder (VAE)", "style": "Style transfer", "detection": "Object detection",
    "architectures": "Architectures (ResNet, MobileNet)", "gan": "GANs",
}


# --- describing a variant by numbers -------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _numbers(value: Any) -> np.ndarray | None:
    """The value as a flat float array when it is numeric (a number, an array, a list of numbers), else None."""
    if isinstance(value, (bool, np.bool_)):
        return np.array([float(value)])
    if _is_number(value):
        return np.array([float(value)])
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 (ragged or odd values describe nothing)
        return None
    if array.dtype.kind not in "biuf" or array.size == 0:
        return None
    return array.astype(float).ravel()


def _leaves(value: Any) -> list[float]:
    """Every number inside an answer (dicts, lists, arrays), bools and strings left out."""
    if isinstance(value, dict):
        return [x for item in value.values() for x in _leaves(item)]
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _leaves(item)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return [float(x) for x in value.ravel()]
    if _is_number(value):
        return [float(value)]
    return []


def answer_magnitude(expected: Any) -> float | None:
    """log10 of the largest |number| in a right answer (how large the numbers get), None without numbers."""
    found = [abs(x) for x in _leaves(expected) if math.isfinite(x)]
    return math.log10(max(found)) if found and max(found) > 0 else (None if not found else -12.0)


def variant_features(problem, values: dict, expected: Any = None) -> dict[str, float]:
    """{feature name: number} describing one variant: each numeric parameter (arrays by their mean
    and largest |value|), an indicator per option of a `choice` parameter, and `|answer|` (log10 of
    the right answer's largest number) when `expected` is given."""
    features: dict[str, float] = {}
    for name, value in values.items():
        spec = problem.params.get(name)
        if spec is not None and spec.sampler == "choice" and len(spec.spec.get("choice", [])) > 1:
            options = spec.spec["choice"]
            for index, option in enumerate(options):
                features[f"{name} = {_option_text(option, index)}"] = float(_same(value, option))
            continue
        numbers = _numbers(value)
        if numbers is None or not np.all(np.isfinite(numbers)):
            continue
        if numbers.size == 1:
            features[name] = float(numbers[0])
        else:
            features[f"mean of {name}"] = float(numbers.mean())
            features[f"largest |{name}|"] = float(np.abs(numbers).max())
    if expected is not None:
        magnitude = answer_magnitude(expected)
        if magnitude is not None:
            features["|answer| (log10)"] = magnitude
    return features


def _option_text(option: Any, index: int) -> str:
    """A choice's option as a region names it: the value when it is a short number or word, else its place."""
    if isinstance(option, (int, float, str)) and not isinstance(option, bool) and len(str(option)) <= 12:
        return f"{option:g}" if isinstance(option, float) else str(option)
    return f"option {index + 1}"


def _same(value: Any, option: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(value, dtype=object), np.asarray(option, dtype=object)))
    except Exception:  # noqa: BLE001
        return value == option


# --- the permutation test -------------------------------------------------------------------------

@dataclass
class Region:
    """A part of the class by one feature: 'W in [41, 60]' or 'scores = option 2'."""

    feature: str
    label: str
    students: int
    mean: float          # mean score fraction of its students


@dataclass
class Fairness:
    problem: str
    students: int
    variants: int
    tested: bool = False
    statistic: float = 0.0          # the largest |Spearman ρ| between a feature and the score
    feature: str = ""               # the feature that has it
    rho: float = 0.0                # its signed ρ (negative: larger values, lower scores)
    p_value: float = 1.0
    threshold: float = ALPHA        # p below this flags (ALPHA / problems tested)
    hardest: Region | None = None
    easiest: Region | None = None
    note: str = ""                  # why it was not tested
    features: dict = field(default_factory=dict)   # {feature: ρ}

    @property
    def flagged(self) -> bool:
        return self.tested and self.p_value < self.threshold


def _ranks(matrix: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata
    return rankdata(matrix, axis=0)


def _standardize(matrix: np.ndarray) -> np.ndarray:
    centered = matrix - matrix.mean(axis=0)
    return centered / np.sqrt((centered ** 2).sum(axis=0))


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big")


def max_rho_test(scores: np.ndarray, features: np.ndarray, seed: int = 0,
                 resamples: int = RESAMPLES) -> tuple[np.ndarray, float]:
    """(ρ of each feature column with the scores, p-value of max |ρ|) by a permutation test.

    `features`: (students, features), no constant column. Spearman's ρ is Pearson's correlation of
    the ranks (mid-ranks for ties); the null hypothesis shuffles the scores among the students."""
    from scipy.stats import permutation_test

    ranked_features = _standardize(_ranks(features))          # (n, f), each column unit norm, mean 0
    ranked_scores = _ranks(scores.reshape(-1, 1)).ravel()

    def statistic(ranked, axis=-1):
        ranked = np.moveaxis(np.asarray(ranked, dtype=float), axis, -1)
        centered = ranked - ranked.mean(axis=-1, keepdims=True)
        unit = centered / np.sqrt((centered ** 2).sum(axis=-1, keepdims=True))
        return np.abs(unit @ ranked_features).max(axis=-1)

    # batch: at most 1,000 shuffles in memory at once (a class of 1,000 is then 8 MB per batch)
    result = permutation_test((ranked_scores,), statistic, permutation_type="pairings", vectorized=True,
                              n_resamples=resamples, batch=1000, alternative="greater",
                              rng=np.random.default_rng(seed))
    centered = ranked_scores - ranked_scores.mean()
    rhos = (centered / np.sqrt((centered ** 2).sum())) @ ranked_features
    return rhos, float(result.pvalue)


def _regions(feature: str, column: np.ndarray, scores: np.ndarray) -> list[Region]:
    """The class split by one feature: an indicator into its two groups, else into thirds by value."""
    if " = " in feature and set(np.unique(column)) <= {0.0, 1.0}:     # one option of a choice
        inside = column == 1.0
        name, option = feature.split(" = ", 1)
        return [Region(feature, f"{name} = {option}", int(inside.sum()), float(scores[inside].mean())),
                Region(feature, f"{name} != {option}", int((~inside).sum()), float(scores[~inside].mean()))]
    order = np.argsort(column, kind="stable")
    regions = []
    for part in np.array_split(order, 3):
        if len(part):
            low, high = column[part].min(), column[part].max()
            label = f"{feature} = {low:g}" if low == high else f"{feature} in [{low:g}, {high:g}]"
            regions.append(Region(feature, label, len(part), float(scores[part].mean())))
    return regions


def problem_fairness(problem_id: str, fractions: list[float], features: list[dict],
                     variants: int, resamples: int = RESAMPLES) -> Fairness:
    """The permutation test of one problem: `fractions[i]` the score fraction of student i, `features[i]`
    their variant_features. Untested (and never flagged) with one variant, too few students, or no
    feature that varies."""
    scores = np.asarray(fractions, dtype=float)
    report = Fairness(problem_id, len(scores), variants)
    if variants < 2:
        report.note = "one variant for the class"
        return report
    if len(scores) < MIN_STUDENTS:
        report.note = f"fewer than {MIN_STUDENTS} students"
        return report
    if np.ptp(scores) == 0:
        report.note = "every student has the same score"
        return report
    names = sorted({name for item in features for name in item})
    matrix = np.array([[item.get(name, np.nan) for name in names] for item in features], dtype=float)
    keep = [j for j in range(len(names)) if np.all(np.isfinite(matrix[:, j])) and np.ptp(matrix[:, j]) > 0]
    if not keep:
        report.note = "no parameter varies"
        return report
    names, matrix = [names[j] for j in keep], matrix[:, keep]
    rhos, report.p_value = max_rho_test(scores, matrix, _seed("fairness", problem_id), resamples)
    best = int(np.argmax(np.abs(rhos)))
    report.tested, report.statistic, report.feature, report.rho = True, float(abs(rhos[best])), names[best], \
        float(rhos[best])
    report.features = {name: float(rho) for name, rho in zip(names, rhos)}
    regions = _regions(names[best], matrix[:, best], scores)
    report.hardest = min(regions, key=lambda region: region.mean)
    report.easiest = max(regions, key=lambda region: region.mean)
    return report


def assignment_fairness(bank, assignment: str, students: list[str], table: dict, max_points: dict,
                        problems: list[str], resamples: int = RESAMPLES) -> dict[str, Fairness]:
    """{problem: Fairness} for the problems of `assignment` (graded `table[student][problem]` points),
    each student's variant redrawn from the bank; the flag threshold is ALPHA over the problems tested."""
    from grader.kinds import kind_of
    from grader.personalize import values_digest
    from grader.variants import draw_for

    found = {}
    for problem_id in problems:
        problem = bank.problems.get(problem_id)
        if problem is None or not max_points.get(problem_id):
            continue
        features, digests = [], set()
        with np.errstate(all="ignore"):
            for student in students:
                values = draw_for(bank, problem, assignment, student)
                digests.add(values_digest(values))
                try:
                    expected = kind_of(problem).expected(problem, values)
                except Exception:  # noqa: BLE001 (the parameters alone still describe the variant)
                    expected = None
                features.append(variant_features(problem, values, expected))
        fractions = [table[student].get(problem_id, 0.0) / max_points[problem_id] for student in students]
        found[problem_id] = problem_fairness(problem_id, fractions, features, len(digests), resamples)
    tested = sum(report.tested for report in found.values())
    for report in found.values():
        report.threshold = ALPHA / max(1, tested)
    return found


# --- reliability ----------------------------------------------------------------------------------

def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's alpha of a (students, items) score matrix: k/(k−1)·(1 − Σ var(item) / var(total)),
    sample variances. With 0/1 items it is KR-20. NaN with fewer than 2 items or 2 students, or when
    every total is the same."""
    items = np.asarray(items, dtype=float)
    students, k = items.shape
    if k < 2 or students < 2:
        return float("nan")
    total_variance = items.sum(axis=1).var(ddof=1)
    if total_variance == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / total_variance))


def reliability(students: list[str], problems: list[str], table: dict, max_points: dict) -> dict:
    """{"alpha", "kr20" (only when every score is all or nothing), "students", "problems",
    "alpha_if_deleted": {problem: alpha without it}}."""
    items = np.array([[table[s].get(p, 0.0) for p in problems] for s in students], dtype=float)
    alpha = cronbach_alpha(items)
    binary = bool(np.all(np.isin(items, [0.0]) | np.isclose(items, [max_points[p] for p in problems])))
    dropped = {p: cronbach_alpha(np.delete(items, j, axis=1)) for j, p in enumerate(problems)}
    return {"alpha": alpha, "kr20": alpha if binary else None, "students": len(students),
            "problems": len(problems), "alpha_if_deleted": dropped}


# --- what to review -------------------------------------------------------------------------------

def contract_sections(bank) -> dict[str, str]:
    """{contract id: the sheet section it belongs to}, from the bank: the section of the problems that name
    it first in their `formula` (their main formula), by majority, ties to the first in the bank; a contract
    id no problem names first takes the majority of the problems naming it at all. So act.softmax is in
    activations (softmax-function), though the cross-entropy problems (section losses) also name it."""
    main: dict[str, Counter] = {}
    named: dict[str, Counter] = {}
    first: dict[tuple[str, str], int] = {}
    for index, problem in enumerate(bank.problems.values()):
        for position, contract in enumerate(getattr(problem, "formula", None) or []):
            (named if position else main).setdefault(contract, Counter())[problem.section] += 1
            first.setdefault((contract, problem.section), index)
    found = {}
    for contract in {*main, *named}:
        counter = main.get(contract) or named[contract]
        found[contract] = min(counter, key=lambda s: (-counter[s], first[(contract, s)]))
    return found


@dataclass
class ReviewItem:
    section: str         # the bank's section name
    title: str           # the sheet's heading
    lost: float          # points lost on problems using it
    possible: float      # points of those problems
    problems: int


def review_sections(bank, scores: list[tuple[str, float, float]], limit: int = REVIEW_ITEMS) -> list[ReviewItem]:
    """The formula-sheet sections that cost a student points, most lost first: `scores` holds
    (problem id, score, max score) over every graded assignment. A problem counts, whole, for each
    section its contract ids belong to (and its own `section`). Sections with nothing lost are left out."""
    sections_of = contract_sections(bank)
    lost: Counter = Counter()
    possible: Counter = Counter()
    count: Counter = Counter()
    for problem_id, score, max_score in scores:
        problem = bank.problems.get(problem_id)
        own = getattr(problem, "section", None)
        if own is None or max_score <= 0:
            continue
        sections = {own} | {sections_of.get(c, own) for c in getattr(problem, "formula", None) or []}
        for section in sections:
            lost[section] += max(0.0, max_score - score)
            possible[section] += max_score
            count[section] += 1
    items = [ReviewItem(section, SECTION_TITLES.get(section, section), lost[section], possible[section],
                        count[section]) for section in lost if lost[section] > 1e-9]
    items.sort(key=lambda item: (-item.lost / item.possible, -item.lost, item.section))
    return items[:limit]


# --- the files `report` writes --------------------------------------------------------------------

def _region_text(region: Region | None) -> str:
    return f"{region.label}: {100 * region.mean:.0f} % of the points ({region.students} students)" if region else ""


def item_columns(found: dict[str, Fairness], reliable: dict) -> dict[str, dict]:
    """{problem: the columns fairness adds to the item analysis}: p-value of the permutation test,
    the hardest and easiest variants, flagged, alpha if the problem were left out."""
    columns = {}
    for problem, dropped in reliable.get("alpha_if_deleted", {}).items():
        report = found.get(problem)
        tested = report is not None and report.tested
        columns[problem] = {
            "variant_p": f"{report.p_value:.4f}" if tested else "",
            "hardest_variants": _region_text(report.hardest) if tested else "",
            "easiest_variants": _region_text(report.easiest) if tested else "",
            "variants_unfair": ("yes" if report.flagged else "no") if tested else "",
            "alpha_if_deleted": "" if math.isnan(dropped) else f"{dropped:.3f}",
        }
    return columns


FAIRNESS_COLUMNS = ("problem", "students", "variants", "tested", "p_value", "flag_below", "flagged", "feature", "rho",
                    "hardest", "hardest_mean", "hardest_students", "easiest", "easiest_mean", "easiest_students",
                    "note")


def fairness_rows(found: dict[str, Fairness]) -> list[list[str]]:
    rows = []
    for report in found.values():
        hard, easy = report.hardest, report.easiest
        rows.append([report.problem, str(report.students), str(report.variants), "yes" if report.tested else "no",
                     f"{report.p_value:.4f}" if report.tested else "", f"{report.threshold:.4f}",
                     "yes" if report.flagged else "no", report.feature,
                     f"{report.rho:.3f}" if report.tested else "",
                     hard.label if hard else "", f"{hard.mean:.3f}" if hard else "", str(hard.students) if hard else "",
                     easy.label if easy else "", f"{easy.mean:.3f}" if easy else "", str(easy.students) if easy else "",
                     report.note])
    return rows


def reliability_rows(assignment: str, reliable: dict) -> list[list[str]]:
    def number(value):
        return "" if value is None or math.isnan(value) else f"{value:.3f}"
    return [[assignment, str(reliable["students"]), str(reliable["problems"]), number(reliable["alpha"]),
             number(reliable["kr20"])]]


def fairness_plot(assignment: str, found: dict[str, Fairness]) -> bytes:
    """PNG: per tested problem, the mean score of its hardest and easiest variants; flagged in red."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tested = [report for report in found.values() if report.tested]
    figure, axes = plt.subplots(figsize=(max(6, 0.8 * max(1, len(tested))), 4))
    positions = np.arange(len(tested))
    hard = [100 * r.hardest.mean for r in tested]
    easy = [100 * r.easiest.mean for r in tested]
    from matplotlib.patches import Patch

    colors = {"easiest": "#9fc5e8", "hardest": "#3a6ea5", "flagged": "#c0392b"}
    axes.bar(positions - 0.2, easy, width=0.4, color=colors["easiest"])
    axes.bar(positions + 0.2, hard, width=0.4,
             color=[colors["flagged"] if r.flagged else colors["hardest"] for r in tested])
    axes.set_xticks(positions, [r.problem for r in tested], rotation=45, ha="right")
    axes.set_ylim(0, 125)
    axes.set_yticks(range(0, 101, 20))
    axes.set_ylabel("mean score (% of points)")
    axes.set_title(f"{assignment}: score by drawn numbers" if tested else f"{assignment}: no per-student problem tested")
    # the easiest and hardest of three groups always differ somewhat: only a flagged gap is beyond chance
    axes.legend(handles=[Patch(color=colors["easiest"], label="easiest variants"),
                         Patch(color=colors["hardest"], label="hardest variants"),
                         Patch(color=colors["flagged"], label="hardest, beyond chance")],
                loc="upper center", ncol=3, fontsize="small", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def write_fairness_reports(folder, bank, assignment: str, students: list[str], problems: list[str], table: dict,
                           max_points: dict) -> dict:
    """Write fairness.csv, reliability.csv and fairness.png under `folder`; return {"fairness": {problem:
    Fairness}, "reliability": {...}, "columns": item_columns(...)}. Without a bank that has the assignment
    (a course whose bank moved on), fairness is left out and reliability still written."""
    from grader.files import write_atomic
    from grader.spreadsheet_csv import csv_text

    found = {}
    if bank is not None and assignment in bank.assignments:
        found = assignment_fairness(bank, assignment, students, table, max_points, problems)
    reliable = reliability(students, problems, table, max_points)
    write_atomic(folder / "fairness.csv", csv_text(FAIRNESS_COLUMNS, fairness_rows(found)).encode())
    write_atomic(folder / "reliability.csv", csv_text(("assignment", "students", "problems", "cronbach_alpha", "kr20"),
                                                      reliability_rows(assignment, reliable)).encode())
    write_atomic(folder / "fairness.png", fairness_plot(assignment, found))
    return {"fairness": found, "reliability": reliable, "columns": item_columns(found, reliable)}
