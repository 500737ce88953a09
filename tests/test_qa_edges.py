"""qa's variants at an edge (#22): ties at a threshold found by moving the numbers, checked against an
exact integer count of NMS decisions at IoU = 1/2; the bank's `ties` option (keep, or a margin qa
checks, with file:line errors); rounding edges of a sigfigs answer against a count by hand."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from grader.bank import load_bank
from grader.cli import main
from grader.qa import EDGE_MOVE, edges_of_problem
from grader.release_record import grading_spec
from grader.validation import check_bank_text
from grader.variants import draw

REPO = Path(__file__).resolve().parents[1]
BANK_TEXT = (REPO / "questions.yaml").read_text()
NMS_CONSTRAINT = "      - 2 <= len(nms(boxes, scores)) <= 3\n"
PAIRS = [(i, j) for i in range(4) for j in range(i + 1, 4)]
AWAY_FROM_THE_THRESHOLD = "".join(f"      - abs(iou(boxes[{i}], boxes[{j}]) - 0.5) > 0.05\n" for i, j in PAIRS)


def _nms_bank(ties=None, constrained=False):
    text = BANK_TEXT
    if ties is not None:
        text = text.replace("  - id: nms-table\n", f"  - id: nms-table\n    ties: {ties}\n")
    if constrained:
        assert text.count(NMS_CONSTRAINT) == 1
        text = text.replace(NMS_CONSTRAINT, NMS_CONSTRAINT + AWAY_FROM_THE_THRESHOLD)
    return text


def _decides_at_one_half(boxes, scores):
    """Greedy NMS in integers: does some comparison of a kept box with a remaining one have IoU exactly 1/2?"""
    boxes = [tuple(int(v) for v in box) for box in boxes]

    def inter_union(a, b):
        w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        area = lambda box: (box[2] - box[0]) * (box[3] - box[1])
        return w * h, area(a) + area(b) - w * h

    remaining = sorted(range(len(boxes)), key=lambda k: (-scores[k], k))
    while remaining:
        best, *rest = remaining
        pairs = [inter_union(boxes[best], boxes[k]) for k in rest]
        if any(2 * inter == union for inter, union in pairs):
            return True
        remaining = [k for k, (inter, union) in zip(rest, pairs) if 2 * inter <= union]
    return False


def test_nms_ties_found_by_moving_the_numbers_are_the_exact_ties():
    bank = load_bank(REPO / "questions.yaml")
    problem = bank.problems["nms-table"]
    report = edges_of_problem(bank, problem, 400)
    exact = sum(_decides_at_one_half(v["boxes"], v["scores"]) for v in
                (draw(bank, problem, "cnn-detection", f"qa-{i}") for i in range(400)))
    assert report.variants == 400 and report.ties == exact and exact >= 1
    assert report.near > report.ties          # within 0.25 % of a threshold: more of them
    assert report.warned and not report.failed
    (issue,) = report.issues(bank)
    assert re.match(r"questions\.yaml:\d+: problem 'nms-table': warning: \d+ of 400 variants hinge on a tie", str(issue))


def test_a_margin_fails_the_problem_until_constraints_keep_its_numbers_away(tmp_path, capsys):
    path = tmp_path / "questions.yaml"
    path.write_text(_nms_bank(ties=0.0025))
    line = 1 + path.read_text().splitlines().index("    ties: 0.0025")
    arguments = ["--bank", str(path), "qa", "--problem", "nms-table", "--variants", "3", "--class-size", "40",
                 "--edge-variants", "200"]
    assert main(arguments) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"questions.yaml:{line}: problem 'nms-table': ties:" in out and "come within the margin 0.0025" in out
    path.write_text(_nms_bank(ties=0.0025, constrained=True))
    assert main(arguments) == 0
    assert "0 failing their `ties` margin" in " ".join(capsys.readouterr().out.split())
    path.write_text(_nms_bank(ties="keep"))
    assert main(arguments) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "kept on purpose" in out and "warning" not in out


@pytest.mark.parametrize("value", ["kep", "0.5", "0", "-0.01"])
def test_a_bad_ties_option_is_a_file_line_error(value):
    text = _nms_bank(ties=value)
    line = 1 + text.splitlines().index(f"    ties: {value}")
    with pytest.raises(Exception, match=rf"questions\.yaml:{line}: problem 'nms-table': ties: expected `keep`"):
        check_bank_text(text)


def test_ties_is_not_a_grading_change_of_a_released_problem():
    kept = check_bank_text(_nms_bank(ties="keep")).problems["nms-table"]
    plain = load_bank(REPO / "questions.yaml").problems["nms-table"]
    assert grading_spec(kept) == grading_spec(plain)
    constrained = check_bank_text(_nms_bank(ties=0.0025, constrained=True)).problems["nms-table"]
    assert grading_spec(constrained) != grading_spec(plain)     # new constraints change the numbers: frozen


SIGFIGS_BANK = """\
course: test
seed: 7
assignments:
  - id: a
    title: A
    problems: [sig]
problems:
  - id: sig
    title: A product to 3 significant figures
    section: losses
    formula: [loss.mse]
    points: 1
    kind: numeric
    prompt: "Compute {{ x }} times {{ y }}."
    params:
      x: {float: [1, 9], decimals: 3}
      y: {float: [1, 9], decimals: 3}
    answer: x * y
    compare: {rule: sigfigs, sigfigs: 3}
"""


def test_rounding_edges_of_a_sigfigs_answer_against_a_count_by_hand():
    bank = check_bank_text(SIGFIGS_BANK)
    problem = bank.problems["sig"]
    report = edges_of_problem(bank, problem, 300)

    def at_edge(x):
        rounded = lambda v: float(f"{v:.2e}")
        return rounded(x * (1 + EDGE_MOVE)) != rounded(x) or rounded(x * (1 - EDGE_MOVE)) != rounded(x)

    expected = [problem.answer.evaluate(draw(bank, problem, "a", f"qa-{i}")) for i in range(300)]
    assert report.edges == sum(at_edge(x) for x in expected) and report.edges >= 1
    assert report.ties == 0 and report.near == 0
    low, high = report.magnitude
    assert np.percentile([math.log10(x) for x in expected], 5) == pytest.approx(low)
    assert np.percentile([math.log10(x) for x in expected], 95) == pytest.approx(high)
