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
    lines = bad.read_text().splitlines()
    start = next(n for n, text in enumerate(lines, 1) if "id: conv-size" in text)
    line = next(n for n, text in enumerate(lines, 1) if n > start and "id: forgot-padding" in text)
    assert f"questions.yaml:{line}: problem 'conv-size': misconception: " in err     # the loader's format
    assert "is graded correct" in err


# One format for every bank error, from the loader, validate's quick qa and its prompt checks, and qa:
# file:line: problem 'id': what is wrong.
ISSUE = r"^(?P<file>\S+\.yaml):(?P<line>\d+): problem '(?P<problem>[^']+)': (?P<message>.+)$"


def _issue_lines(text):
    import re

    return [re.match(ISSUE, line) for line in text.splitlines() if ".yaml:" in line]


def test_load_quick_qa_prompt_and_qa_errors_share_one_format(tmp_path, capsys):
    text = MINI.read_text()
    bad = tmp_path / "questions.yaml"
    bad.write_text(text.replace("P: {int: [1, 3]}", "P: {int: [0, 1]}"))              # found by the quick qa
    assert main(["--bank", str(bad), "validate"]) == 2
    quick = _issue_lines(capsys.readouterr().err)
    assert main(["--bank", str(bad), "qa", "--variants", "40", "--problem", "conv-size"]) == 1
    full = _issue_lines(capsys.readouterr().out)
    bad.write_text(text.replace("P: {int: [1, 3]}", "P: {itn: [1, 3]}"))                 # found by the loader
    assert main(["--bank", str(bad), "validate"]) == 2
    loaded = _issue_lines(capsys.readouterr().err)
    for found in (quick, full, loaded):
        assert found and all(found), found
        assert all(m["file"].endswith("questions.yaml") and m["problem"] == "conv-size" for m in found), found
    lines = text.splitlines()
    start = next(n for n, row in enumerate(lines, 1) if "id: conv-size" in row)
    misconception = next(n for n, row in enumerate(lines, 1) if n > start and "id: forgot-padding" in row)
    param = next(n for n, row in enumerate(lines, 1) if "P: {int: [1, 3]}" in row)
    assert [(int(m["line"]), m["message"].split(":")[0]) for m in quick] == [(misconception, "misconception")]
    assert [(int(m["line"]), m["message"].split(":")[0]) for m in full] == [(misconception, "misconception")]
    assert [(int(m["line"]), m["message"]) for m in loaded] == [(param, "params.P: unknown field 'itn'; did you mean 'int'?")]


def test_a_quick_qa_draw_failure_names_the_constraints_line(tmp_path, capsys):
    bank = bank_with("""\
        kind: numeric
        params:
          a: {int: [0, 1000000]}
        constraints: [a < 0]
        answer: a
        """)
    (report,) = run_qa(bank, 3)
    (issue,) = report.issues(bank)
    assert issue.line == bank.problems["p"].lines["constraints"] and issue.problem == "p"
    assert str(issue).startswith(f"questions.yaml:{issue.line}: problem 'p': draw: ")


TYPOS = [   # (what is mistyped, the line as written, the line with the typo, the suggestion, the line it names)
    ("a field", "    hints:", "    hint:", "unknown field 'hint'; did you mean 'hints'?", "hint:"),
    ("a sampler", "      P: {int: [1, 3]}", "      P: {itn: [1, 3]}", "params.P: unknown field 'itn'; did you mean 'int'?",
     "P: {itn"),
    ("a kind", "    kind: numeric", "    kind: nummeric", "kind: 'nummeric' is not one of numeric, array, choice, "
                                                          "function, table; did you mean 'numeric'?", "kind:"),
    ("a parameter", "    answer: (W - K + 2*P) // S + 1", "    answer: (W - KK + 2*P) // S + 1",
     "answer: unknown name 'KK' (not a parameter, engine function or helper); did you mean 'K'?", "answer:"),
    ("an engine function", "    answer: (W - K + 2*P) // S + 1", "    answer: conv_output_sise(W, K, P, S)",
     "answer: unknown name 'conv_output_sise' (not a parameter, engine function or helper); "
     "did you mean 'conv_output_size'?", "answer:"),
    ("a prompt's name", "{{ K }}", "{{ KK }}", "prompt: unknown name 'KK' (not a parameter); did you mean 'K'?",
     "prompt:"),
    ("a contract id", "formula: [cnn.out_size]", "formula: [cnn.out_sise]", "did you mean 'cnn.out_size'?", "formula:"),
    ("a misconception's parameter", "        answer: (W - K) // S + 1", "        answer: (W - K) // SS + 1",
     "misconceptions[0].answer: unknown name 'SS' (not a parameter, engine function or helper); did you mean 'S'?",
     "answer: (W - K) // SS"),
]


@pytest.mark.parametrize("what, old, new, message, at", TYPOS, ids=[typo[0] for typo in TYPOS])
def test_a_mistyped_name_gets_a_suggestion_in_the_one_format(tmp_path, capsys, what, old, new, message, at):
    text = MINI.read_text()
    start = text.index("id: conv-size")
    assert old in text[start:], old
    bad = tmp_path / "questions.yaml"
    bad.write_text(text[:start] + text[start:].replace(old, new, 1))
    assert main(["--bank", str(bad), "validate"]) == 2
    (found,) = _issue_lines(capsys.readouterr().err)
    assert found and found["problem"] == "conv-size" and found["message"].endswith(message), found and found[0]
    assert at in bad.read_text().splitlines()[int(found["line"]) - 1], (what, found[0])
