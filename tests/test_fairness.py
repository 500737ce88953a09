"""grader.fairness against independent computations: the permutation test against a plain numpy
permutation loop and scipy's Spearman test, Cronbach's alpha and KR-20 against their textbook
formulas, and a simulated class where one range of a parameter is harder on purpose (flagged) while
the other problems are even (not flagged)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from grader.bank import load_bank
from grader.fairness import (
    ALPHA,
    assignment_fairness,
    contract_sections,
    cronbach_alpha,
    max_rho_test,
    problem_fairness,
    reliability,
    review_sections,
    variant_features,
)
from grader.variants import draw

REPO = Path(__file__).resolve().parents[1]


def _brute_force_p(scores, features, permutations, rng):
    """max |Spearman ρ| over the feature columns, its p-value by shuffling the scores: numpy only."""
    def max_rho(s):
        return max(abs(np.corrcoef(rankdata(s), rankdata(column))[0, 1]) for column in features.T)
    observed = max_rho(scores)
    hits = sum(max_rho(rng.permutation(scores)) >= observed - 1e-12 for _ in range(permutations))
    return observed, (hits + 1) / (permutations + 1)


def test_max_rho_test_agrees_with_a_plain_permutation_loop_and_scipy_spearman():
    rng = np.random.default_rng(7)
    n = 40
    W = rng.integers(8, 60, n).astype(float)
    noise = rng.normal(size=n)
    scores = (rng.random(n) < np.where(W > 40, 0.35, 0.85)).astype(float)
    features = np.c_[W, noise]
    rhos, p = max_rho_test(scores, features, seed=1, resamples=4999)
    assert rhos[0] == pytest.approx(spearmanr(W, scores).statistic)
    assert rhos[1] == pytest.approx(spearmanr(noise, scores).statistic)
    observed, brute = _brute_force_p(scores, features, 2000, np.random.default_rng(2))
    assert observed == pytest.approx(max(abs(rhos)))
    assert abs(p - brute) < 0.01 + 0.25 * brute        # Monte Carlo error of both
    # one feature: the permutation p-value of |ρ| is Spearman's two-sided test
    _, single = max_rho_test(scores, features[:, :1], seed=3, resamples=9999)
    assert single == pytest.approx(spearmanr(W, scores).pvalue, abs=0.01, rel=0.5)


def test_an_even_problem_is_rarely_flagged():
    """50 fair classes of 40: the per-problem p-value falls below 5 % about 5 % of the time."""
    rng = np.random.default_rng(11)
    flagged = 0
    for trial in range(50):
        features = [{"W": float(w), "K": float(k)} for w, k in zip(rng.integers(8, 60, 40), rng.choice([3, 5, 7], 40))]
        scores = (rng.random(40) < 0.7).astype(float)
        flagged += problem_fairness(f"even-{trial}", scores, features, 40, resamples=999).p_value < ALPHA
    assert flagged <= 7        # binomial(50, 0.05): P(X > 7) < 1 %


def test_not_tested_with_one_variant_or_one_score():
    features = [{"W": float(w)} for w in range(20)]
    assert not problem_fairness("p", [1.0, 0.0] * 10, features, 1).tested
    assert not problem_fairness("p", [1.0] * 20, features, 20).tested
    assert not problem_fairness("p", [1.0, 0.0] * 10, [{"W": 3.0}] * 20, 20).tested


def test_cronbach_alpha_and_kr20_against_the_textbook_formulas():
    rng = np.random.default_rng(5)
    ability = rng.normal(size=50)
    binary = (ability[:, None] + rng.normal(size=(50, 8)) > 0).astype(float)
    # KR-20: k/(k-1) (1 - Σ p q / σ²), σ² the population variance of the totals
    k, p = binary.shape[1], binary.mean(axis=0)
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / binary.sum(axis=1).var())
    assert cronbach_alpha(binary) == pytest.approx(kr20)
    # alpha from the covariance matrix: k/(k-1) (1 - trace / sum of every entry)
    points = binary * rng.choice([1, 2, 4], 8) * rng.random((50, 8)).round(1)
    covariance = np.cov(points, rowvar=False)
    assert cronbach_alpha(points) == pytest.approx(8 / 7 * (1 - np.trace(covariance) / covariance.sum()))
    table = {f"s{i}": {f"p{j}": binary[i, j] for j in range(8)} for i in range(50)}
    found = reliability(list(table), [f"p{j}" for j in range(8)], table, {f"p{j}": 1.0 for j in range(8)})
    assert found["kr20"] == pytest.approx(kr20) and found["alpha"] == pytest.approx(kr20)
    assert found["alpha_if_deleted"]["p0"] == pytest.approx(cronbach_alpha(binary[:, 1:]))
    assert np.isnan(cronbach_alpha(np.ones((5, 3))))


def test_variant_features_describe_numbers_options_and_the_answer_size():
    bank = load_bank(REPO / "questions.yaml")
    problem = bank.problems["conv-output-size"]
    features = variant_features(problem, {"W": 100, "K": 5, "P": 2, "S": 3}, 34)
    assert features["W"] == 100 and features["K = 5"] == 1.0 and features["K = 3"] == 0.0
    assert features["|answer| (log10)"] == pytest.approx(np.log10(34))
    nms = bank.problems["nms-table"]
    values = draw(bank, nms, "cnn-detection", "qa-1")
    options = nms.params["scores"].spec["choice"]
    chosen = [k for k, option in enumerate(options) if option == list(values["scores"])]
    features = variant_features(nms, values)
    assert [k for k in range(len(options)) if features[f"scores = option {k + 1}"] == 1.0] == chosen
    assert features["largest |boxes|"] == np.abs(values["boxes"]).max()


@pytest.fixture(scope="module")
def harder_class(tmp_path_factory):
    """90 simulated students of cnn-detection: conv-output-size is answered wrong 9 times in 10 when W >= 150."""
    from grader.simulate import simulate_class

    root = tmp_path_factory.mktemp("fairness")
    shutil.copy(REPO / "questions.yaml", root / "questions.yaml")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "release" / "cnn-detection", root / "release" / "cnn-detection")
    bank = load_bank(root / "questions.yaml")

    def difficulty(problem, values):
        return 0.9 if problem.id == "conv-output-size" and values["W"] >= 150 else 0.0

    plan = simulate_class(bank, root, "cnn-detection", 90, difficulty=difficulty)
    table = {s.student: {a.problem: a.fraction * a.points for a in s.answers} for s in plan}
    max_points = {a.problem: a.points for a in plan[0].answers}
    return bank, plan, table, max_points


def test_a_range_made_harder_on_purpose_is_flagged_and_even_problems_are_not(harder_class):
    bank, plan, table, max_points = harder_class
    students = [s.student for s in plan]
    problems = ["conv-output-size", "conv-params", "maxpool-small", "nms-table", "same-padding"]
    found = assignment_fairness(bank, "cnn-detection", students, table, max_points, problems)
    harder = found["conv-output-size"]
    assert harder.flagged and harder.feature == "W" and harder.rho < 0
    assert harder.hardest.label.startswith("W in [") and harder.hardest.mean < harder.easiest.mean - 0.4
    assert float(harder.hardest.label.split("[")[1].split(",")[0]) >= 140     # the top third of W
    assert [p for p, report in found.items() if report.flagged] == ["conv-output-size"]
    assert not found["same-padding"].tested          # shared: one variant for the class
    assert found["conv-params"].tested and found["conv-params"].threshold == pytest.approx(ALPHA / 4)
    # the hook changes only the harder answers: every other problem is planned as without it
    assert any(a.what == "wrong" and a.problem == "conv-output-size" for s in plan for a in s.answers)


def test_contract_sections_follow_the_bank_and_the_review_list_names_sections_only():
    bank = load_bank(REPO / "questions.yaml")
    sections = contract_sections(bank)
    assert sections["act.softmax"] == "activations" and sections["loss.cce"] == "losses"
    assert sections["det.iou"] == "detection"
    scores = [("nms-table", 1.0, 4.0), ("conv-output-size", 2.0, 2.0), ("cce-batch", 0.0, 2.0),
              ("softmax-function", 3.0, 3.0)]
    items = review_sections(bank, scores)
    assert [item.section for item in items] == ["losses", "detection"]
    assert items[0].lost == 2.0 and items[0].possible == 2.0 and items[1].lost == 3.0
    assert review_sections(bank, [("conv-output-size", 2.0, 2.0)]) == []


def test_simulate_harder_option_reads_a_condition_over_the_parameters():
    from grader.commands.simulate import HARDER_CHANCE, harder_difficulty
    from grader.errors import GraderError

    bank = load_bank(REPO / "questions.yaml")
    difficulty = harder_difficulty(bank, ["conv-output-size:W >= 150 and S == 2"])
    problem = bank.problems["conv-output-size"]
    assert difficulty(problem, {"W": 150, "K": 3, "P": 1, "S": 2}) == HARDER_CHANCE
    assert difficulty(problem, {"W": 149, "K": 3, "P": 1, "S": 2}) == 0.0
    assert difficulty(bank.problems["conv-params"], {"W": 200}) == 0.0
    assert harder_difficulty(bank, None) is None
    for bad, says in (("nope:W > 1", "PROBLEM:CONDITION"), ("conv-output-size:Q > 1", "no parameter 'Q'"),
                      ("conv-output-size:W >", "--harder")):
        with pytest.raises(GraderError, match=says):
            harder_difficulty(bank, [bad])


def test_the_files_report_writes(harder_class, tmp_path):
    import csv

    from grader.fairness import write_fairness_reports

    bank, plan, table, max_points = harder_class
    students = [s.student for s in plan]
    problems = list(max_points)
    found = write_fairness_reports(tmp_path, bank, "cnn-detection", students, problems, table, max_points)
    rows = {r["problem"]: r for r in csv.DictReader((tmp_path / "fairness.csv").open())}
    assert rows["conv-output-size"]["flagged"] == "yes" and rows["conv-output-size"]["feature"] == "W"
    assert [p for p, r in rows.items() if r["flagged"] == "yes"] == ["conv-output-size"]
    assert rows["same-padding"]["tested"] == "no" and rows["same-padding"]["note"] == "one variant for the class"
    (reliable,) = csv.DictReader((tmp_path / "reliability.csv").open())
    items = np.array([[table[s][p] for p in problems] for s in students])
    assert float(reliable["cronbach_alpha"]) == pytest.approx(cronbach_alpha(items), abs=5e-4)
    assert reliable["students"] == "90" and reliable["problems"] == str(len(problems))
    columns = found["columns"]["conv-output-size"]
    assert columns["variants_unfair"] == "yes" and columns["hardest_variants"].startswith("W in [")
    assert found["columns"]["same-padding"]["variant_p"] == ""
    assert (tmp_path / "fairness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # without a bank (a course whose bank moved on), reliability only
    write_fairness_reports(tmp_path, None, "cnn-detection", students, problems, table, max_points)
    assert list(csv.DictReader((tmp_path / "fairness.csv").open())) == []
