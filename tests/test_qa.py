"""Variant QA and the validate/qa commands."""

import textwrap
from pathlib import Path

import pytest

from grader.bank import load_bank_text
from grader.cli import main
from grader.qa import run_qa
from grader.validation import check_bank_text

HERE = Path(__file__).parent / "bank"
MINI = HERE / "fixtures" / "mini.yaml"

HEAD = textwrap.dedent("""\
    course: T
    seed: 11
    assignments: [{id: a, title: A, problems: [p]}]
    problems:
      - id: p
        title: P
        section: cnn
        formula: [cnn.out_size]
        points: 1
        prompt: x
    """)


def bank_with(body, check_variants=False):
    text = HEAD + textwrap.indent(textwrap.dedent(body), "    ")
    return check_bank_text(text) if check_variants else load_bank_text(text)


def only_report(bank, variants=200):
    (report,) = run_qa(bank, variants)
    return report


def test_qa_catches_a_misconception_inside_the_tolerance():
    # forgot-padding equals the answer whenever P = 0 (a quarter of the variants).
    report = only_report(bank_with("""\
        kind: numeric
        params:
          W: {int: [16, 64]}
          P: {int: [0, 3]}
        answer: W - 3 + 2*P
        misconceptions:
          - {id: forgot-padding, answer: W - 3, feedback: f}
        """))
    assert report.failed and set(report.failures) == {"misconception"}
    assert 20 < report.failures["misconception"] < 80          # about 200 / 4
    assert "misconception 'forgot-padding' is graded correct" in report.examples["misconception"]


def test_qa_catches_a_misconception_within_a_close_tolerance():
    report = only_report(bank_with("""\
        kind: numeric
        params:
          x: {float: [1, 2], decimals: 2}
        answer: x
        compare: {rule: close, rtol: 0.01}
        misconceptions:
          - {id: slightly-off, answer: x * 1.005, feedback: f}
        """), 50)
    assert report.failures["misconception"] == 50


def test_qa_catches_an_unsatisfiable_constraint_the_load_time_draw_missed():
    # Satisfiable only for a few keys: validate's single draw may pass, QA sees the rest.
    report = only_report(bank_with("""\
        kind: numeric
        params:
          a: {int: [0, 1000000]}
        constraints: [a < 0]
        answer: a
        """), 3)
    assert report.failures["draw"] == 3
    assert "cannot be met: 'a < 0'" in report.examples["draw"]


def test_qa_catches_non_finite_and_non_integer_answers_and_raising_answers():
    report = only_report(bank_with("""\
        kind: numeric
        params:
          n: {int: [0, 3]}
        answer: 1 / n if n else float('inf')
        compare: {rule: exact}
        """))
    assert report.failures["not finite"] > 0 and report.failures["not integer"] > 0
    report = only_report(bank_with("""\
        kind: numeric
        params:
          n: {int: [0, 3]}
        answer: 6 // n
        """))
    assert report.failures["answer error"] > 0 and "ZeroDivisionError" in report.examples["answer error"]


def test_qa_choice_misconception_that_is_the_answer():
    report = only_report(bank_with("""\
        kind: choice
        options: {A: a, B: b}
        answer: A
        misconceptions:
          - {id: same, option: A, feedback: f}
        """), 5)
    assert report.failures["misconception"] == 5


def test_qa_passes_the_mini_bank_and_counts_distinct_answers():
    from grader.bank import load_bank

    reports = run_qa(load_bank(MINI), 300)
    assert [r.problem_id for r in reports if r.failed] == []
    by_id = {r.problem_id: r for r in reports}
    assert by_id["init-choice"].distinct == 1 and by_id["softmax-rows"].distinct == 300


def test_validate_command(capsys):
    assert main(["--bank", str(MINI), "validate"]) == 0
    out = capsys.readouterr().out
    assert "problems per kind: numeric 1, array 1, choice 2, function 1, table 1" in out
    assert "contract ids covered: 6/62; missing: loss.mse" in out
    assert "misconceptions: 4 in 4 problems" in out


def test_validate_command_on_a_broken_bank(capsys):
    broken = HERE / "broken" / "unknown-name.yaml"
    assert main(["--bank", str(broken), "validate"]) == 2
    err = capsys.readouterr().err
    assert "unknown-name.yaml:18: problem 'p1': answer: unknown name 'conv_out'" in err


def test_qa_command_exit_codes(tmp_path, capsys):
    assert main(["--bank", str(MINI), "qa", "--variants", "30"]) == 0
    assert "no failures" in capsys.readouterr().out
    bad = tmp_path / "questions.yaml"
    bad.write_text(MINI.read_text().replace("P: {int: [1, 3]}", "P: {int: [0, 3]}"))
    assert main(["--bank", str(bad), "qa", "--variants", "40", "--problem", "conv-size"]) == 1
    out = capsys.readouterr().out
    assert "conv-size" in out and "misconception" in out and "softmax-rows" not in out
    assert main(["--bank", str(bad), "qa", "--problem", "nope"]) == 2


def test_the_course_bank_validates_and_passes_a_short_qa():
    from grader.bank import load_bank

    path = HERE.parents[1] / "questions.yaml"
    if not path.exists():
        pytest.skip("no questions.yaml yet")
    bank = load_bank(path)
    failing = {r.problem_id: dict(r.examples) for r in run_qa(bank, 20) if r.failed}
    assert failing == {}


def test_validate_catches_a_misconception_equal_to_the_answer(tmp_path, capsys):
    """P may be 0: then `forgot the padding` is the right answer; validate's quick sample finds it."""
    bad = tmp_path / "questions.yaml"
    bad.write_text(MINI.read_text().replace("P: {int: [1, 3]}", "P: {int: [0, 1]}"))
    assert main(["--bank", str(bad), "validate"]) == 2
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "id: conv-size" in text)
    assert f"questions.yaml:{line}: conv-size: " in err
    assert "misconception" in err and "is graded correct" in err


@pytest.mark.parametrize("edits, finding", [
    ([("Compute the softmax of each row of the logits `z`", "Compute the softmax of each row of the logits {{ z | py }}")],
     "code in the prose"),
    ([("shape `{{ input_shape | py }}`", "shape `{{ input_shape | py }}`, weights $w = {{ w | latex }}$"),
      ("      input_shape: {value: [3, 32, 32]}", "      input_shape: {value: [3, 32, 32]}\n      w: {value: [1.0, 2.0, 3.0, 4.0]}")],
     "the prompt shows the array 'w' but the inputs cell does not define it"),
    ([("Compute the softmax of each row of the logits `z`", "Compute the softmax of each row of the logits $Z$")],
     "the inputs cell defines 'z' but the prompt's math calls it 'Z'"),
    ([("Compute the softmax of each row of the logits `z`", "Compute the softmax of each row of the logits")],
     "the inputs cell defines 'z' but the prompt never shows it"),
], ids=["code-in-prose", "shown-not-given", "symbol-case", "never-shown"])
def test_validate_checks_prompts_mechanically(tmp_path, capsys, edits, finding):
    fixture = HERE.parent / "fixtures" / "render" / "bank.yaml"
    text = fixture.read_text()
    assert main(["--bank", str(fixture), "validate"]) == 0
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    bank = tmp_path / "questions.yaml"
    bank.write_text(text)
    assert main(["--bank", str(bank), "validate"]) == 2
    err = capsys.readouterr().err
    assert finding in err and "questions.yaml:" in err


def test_the_inputs_line_gives_each_variable_the_prompts_own_symbol():
    from grader.bank.templates import prompt_symbols
    from grader.render import defined_names

    prompt = (r"activations $a = {{ x | latex }}$, mask $m = {{ mask | latex }}$, $\gamma = {{ gamma | latex }}$,"
              "\n$$F_0 = {{ F[0] | latex }},\\quad F_1 = {{ F[1] | latex }},\\quad W = {{ W | latex }}$$")
    assert prompt_symbols(prompt) == {"x": ["a"], "mask": ["m"], "gamma": ["\\gamma"], "F": ["F_0", "F_1"],
                                      "W": ["W"]}
    assert defined_names(prompt, ["x", "mask", "gamma", "F", "W", "other"]) == \
        "`x` ($a$), `mask` ($m$), `gamma`, `F` ($F_0, F_1$), `W`, `other`"


DIVERSITY_BANK = textwrap.dedent("""\
    course: T
    seed: 11
    variant_key: student
    assignments:
      - {id: hw, title: H, problems: [narrow, wide, same]}
      - {id: quiz, title: Q, variant_key: assignment, problems: [narrow]}
    problems:
      - {id: narrow, title: N, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
         params: {K: {choice: [3, 5, 7]}}, answer: (K - 1) // 2}
      - {id: wide, title: W, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
         params: {W: {int: [1, 100000]}}, answer: W * 2}
      - {id: same, title: S, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
         shared: true, params: {K: {choice: [3, 5, 7]}}, answer: K}
    """)


def test_diversity_counts_distinct_answers_and_the_largest_group_of_a_class():
    from collections import Counter

    from grader.qa import MAX_SHARED_ANSWER, class_ids, run_diversity
    from grader.variants import draw_for

    bank = load_bank_text(DIVERSITY_BANK)
    reports = {(r.assignment, r.problem_id): r for r in run_diversity(bank)}
    assert set(reports) == {("hw", "narrow"), ("hw", "wide")}      # shared and assignment-keyed: not checked
    narrow = reports["hw", "narrow"]
    groups = Counter((draw_for(bank, bank.problems["narrow"], "hw", s)["K"] - 1) // 2 for s in class_ids(300))
    assert (narrow.distinct, narrow.largest_group) == (len(groups), max(groups.values())) and narrow.distinct == 3
    assert narrow.too_few and narrow.largest_group > MAX_SHARED_ANSWER * 300
    wide = reports["hw", "wide"]
    assert not wide.too_few and wide.distinct >= 299


def test_qa_command_reports_too_few_variants_and_fails(tmp_path, capsys):
    path = tmp_path / "questions.yaml"
    path.write_text(DIVERSITY_BANK)
    assert main(["--bank", str(path), "qa", "--variants", "20"]) == 1
    out = capsys.readouterr().out
    assert "hw/narrow: too few variants for per-student keying" in out and "mark it `shared: true`" in out
    path.write_text(DIVERSITY_BANK.replace("params: {K: {choice: [3, 5, 7]}}, answer: (K - 1) // 2",
                                           "shared: true, params: {K: {choice: [3, 5, 7]}}, answer: (K - 1) // 2"))
    assert main(["--bank", str(path), "qa", "--variants", "20"]) == 0


def test_the_shipped_bank_passes_the_diversity_check():
    from grader.bank import load_bank
    from grader.qa import run_diversity

    reports = run_diversity(load_bank(Path(__file__).parents[1] / "questions.yaml"))
    assert len(reports) >= 40
    assert [r for r in reports if r.too_few] == []
