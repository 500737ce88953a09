"""The loader: every broken bank gives its exact error at file:line; valid banks load."""

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.bank import BankError, load_bank, load_bank_text
from grader.errors import GraderError
from grader.validation import check_bank_text, load_checked_bank

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.yaml"))
MINI = HERE / "fixtures" / "mini.yaml"
REPO = HERE.parent.parent


def expectations(path):
    """The `# expect: <line>: <message>` comments at the top of a broken bank."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"# expect: (\d+): (.*)$", line)
        if not match:
            break
        found.append((int(match.group(1)), match.group(2)))
    return found


def test_there_is_a_broken_bank_per_error_kind():
    assert len(BROKEN) >= 15
    for path in BROKEN:
        assert expectations(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_bank_reports_exactly_the_expected_errors(path):
    with pytest.raises(BankError) as caught:
        load_checked_bank(path)
    got = [(issue.line, str(issue).split(":", 2)[2].lstrip()) for issue in caught.value.issues]
    assert got == expectations(path)
    for issue in caught.value.issues:
        assert Path(issue.file).name == path.name
        assert str(issue).startswith(f"{issue.file}:{issue.line}: ")


def test_bank_error_is_a_grader_error_and_lists_every_error_sorted_by_line():
    text = textwrap.dedent("""\
        course: T
        seed: 1
        assignments:
          - id: a1
            title: A
            problems: [p1, nope]
        problems:
          - id: p1
            title: P
            section: cnn
            formula: [cnn.out_size, no.such]
            points: 1
            kind: numeric
            prompt: "{{ Z }}"
            params:
              W: {int: [1, 9]}
            answer: W + undefined_thing
        """)
    with pytest.raises(GraderError) as caught:
        load_bank_text(text, "questions.yaml")
    error = caught.value
    assert isinstance(error, BankError)
    assert [issue.line for issue in error.issues] == [6, 11, 14, 17]
    assert (error.file, error.line, error.problem) == ("questions.yaml", 6, None)
    assert "unknown problem 'nope'" in error.message
    assert error.issues[1].problem == "p1"
    assert str(error).count("\n") == 4  # a header line and one line per error


def test_mini_bank_loads_with_every_kind():
    bank = load_bank(MINI)
    assert bank.seed == 12345 and bank.variant_key == "assignment"
    assert list(bank.assignments) == ["mini-one", "mini-two"]
    assert {p.kind for p in bank.problems.values()} == {"numeric", "array", "choice", "function", "table"}
    conv = bank.problems["conv-size"]
    assert conv.formula == ["cnn.out_size"] and conv.points == 2 and conv.compare == {"rule": "exact"}
    assert list(conv.params) == ["W", "K", "P", "S"]
    assert conv.line == 14 and conv.lines["answer"] == 30
    assert conv.misconceptions[0].credit == 0.25
    assert bank.problems["softmax-rows"].inputs == ["z"]          # array parameters by default
    assert bank.problems["softmax-rows"].compare == {"rule": "close", "rtol": 1e-3, "atol": 1e-6}
    assert bank.problems["activations-multi"].compare == {"rule": "choice", "partial": True}
    assert bank.assignments_of("conv-size") == ["mini-one", "mini-two"]


def test_digest_is_stable_and_tracks_the_problem_spec(tmp_path):
    bank = load_bank(MINI)
    digests = {pid: p.digest for pid, p in bank.problems.items()}
    assert all(re.fullmatch(r"[0-9a-f]{12}", d) for d in digests.values())
    assert len(set(digests.values())) == len(digests)
    # Same in a fresh interpreter with another hash seed (no dependence on hash()).
    script = "from grader.bank import load_bank_text; import sys; b = load_bank_text(open(sys.argv[1]).read(), " \
             "); print(' '.join(p.digest for p in b.problems.values()))"
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", script, str(MINI)], capture_output=True, text=True, env=env,
                         cwd=REPO, check=True).stdout.split()
    assert out == list(digests.values())
    # Editing one problem changes its digest only; comments and layout change nothing.
    text = MINI.read_text()
    edited = text.replace("title: Output size of a convolution", "title: Output size of a conv layer")
    edited = edited.replace("# A small valid bank", "#   A small valid bank")
    changed = load_bank_text(edited, "x.yaml")
    assert changed.problems["conv-size"].digest != digests["conv-size"]
    assert all(changed.problems[pid].digest == digests[pid] for pid in digests if pid != "conv-size")
    reseeded = load_bank_text(text.replace("seed: 12345", "seed: 12346"), "x.yaml")
    assert reseeded.problems["init-choice"].digest != digests["init-choice"]


def test_the_loader_draws_nothing_the_full_check_does_and_the_caches_follow_the_file(tmp_path):
    broken = (HERE / "broken" / "unsatisfiable-constraint.yaml").read_text()
    path = tmp_path / "questions.yaml"
    path.write_text(broken)
    fast = load_bank(path)
    assert "p1" in fast.problems
    assert load_bank(path) is fast              # cached
    with pytest.raises(BankError, match="cannot be met"):
        load_checked_bank(path)
    path.write_text(broken.replace("- W > 100", "- W > 1"))
    os.utime(path, ns=(1, 1))
    fresh = load_checked_bank(path)
    assert fresh is not fast and load_bank(path) is fresh and load_checked_bank(path) is fresh


def test_the_loader_does_not_import_the_variants():
    """One-way flow: bank -> variants. The draws of a full check live in grader.validation."""
    script = "import sys, grader.bank; print('grader.variants' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_file_is_a_grader_error(tmp_path):
    with pytest.raises(GraderError, match="cannot read the question bank"):
        load_bank(tmp_path / "nope.yaml")


def _helper_names():
    from grader.bank import helpers
    return sorted(name for name, obj in vars(helpers).items()
                  if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == helpers.__name__)


@pytest.mark.parametrize("name", _helper_names())
def test_every_public_helper_is_accepted_in_expressions(name):
    text = textwrap.dedent(f"""\
        course: T
        seed: 1
        assignments: [{{id: a, title: A, problems: [p]}}]
        problems:
          - id: p
            title: P
            section: cnn
            formula: [cnn.out_size]
            points: 1
            kind: numeric
            prompt: x
            params:
              W: {{int: [1, 9]}}
            answer: W
            misconceptions:
              - {{id: m, answer: "{name}(W)", feedback: f}}
        """)
    bank = load_bank_text(text)
    assert bank.problems["p"].misconceptions[0].answer.source == f"{name}(W)"


def test_yaml_duplicate_keys_are_errors_with_a_line():
    text = "course: T\nseed: 1\nseed: 2\nassignments: []\nproblems: []\n"
    with pytest.raises(BankError) as caught:
        load_bank_text(text)
    assert caught.value.line == 3 and "duplicate key 'seed'" in caught.value.message


def test_schema_semantic_and_variant_errors_are_reported_together():
    text = textwrap.dedent("""\
        course: T
        seed: 1
        assignments: [{id: a1, title: A, problems: [p1, p2, p3]}]
        problems:
          - {id: p1, title: P, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
             answer: 1 // 0}
          - {id: p2, title: P, section: cnnx, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
             answer: "1"}
          - {id: p3, title: P, section: cnn, formula: [cnn.out_size], points: 1, kind: numeric, prompt: x,
             answer: nothing}
        """)
    with pytest.raises(BankError) as caught:
        check_bank_text(text)
    assert [(i.line, i.problem, i.message.split(":")[0]) for i in caught.value.issues] == [
        (6, "p1", "answer"), (7, "p2", "section"), (10, "p3", "answer")]
    assert "ZeroDivisionError" in caught.value.issues[0].message


def test_a_pickled_bank_draws_and_answers_as_the_loaded_one():
    """Grading workers are handed the parent's bank pickled (expressions with their compiled code),
    not the file: every problem of every assignment must draw the same numbers and give the same key."""
    import pickle

    import numpy as np

    from grader.variants import draw_for

    bank = load_bank(REPO / "questions.yaml")
    copy = pickle.loads(pickle.dumps(bank))
    checked = 0
    for assignment, spec in bank.assignments.items():
        for problem_id in spec.problems:
            for student in (None, "student001", "student002"):
                values = draw_for(bank, bank.problems[problem_id], assignment, student)
                again = draw_for(copy, copy.problems[problem_id], assignment, student)
                assert values.keys() == again.keys()
                for name in values:
                    np.testing.assert_equal(again[name], values[name], err_msg=f"{problem_id}.{name}")
                answer = bank.problems[problem_id].answer
                if answer is not None and not callable(expected := answer.evaluate(values)):
                    np.testing.assert_equal(copy.problems[problem_id].answer.evaluate(again), expected,
                                            err_msg=problem_id)
                    checked += 1
    assert checked > 100
