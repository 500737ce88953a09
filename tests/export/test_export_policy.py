"""Exports carry the bank's checks-before-the-deadline policy (#21, item 6): Moodle's per-question penalty
and tries (hints), Canvas' quiz attempts and dates; a bank without a policy exports what it always did.

The banks are the shipped questions.yaml with `attempts:` / `dates:` inserted. What the files say is
read back with lxml and checked against numbers worked out by hand from the policy written here, and
against Moodle's interactive behaviour as its source states it (qbehaviour_interactive: a question has
count(hints) + 1 tries; a right answer after k wrong tries keeps max(0, 1 − k·penalty))."""

import contextlib
import io
import zipfile

import pytest
from conftest import BANK, run_cli
from lxml import etree

pytestmark = pytest.mark.xdist_group("export-policy")

Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CANVAS = "{http://canvas.instructure.com/xsd/cccv1p0}"
VARIANTS = 2
SHIPPED = BANK.read_text(encoding="utf-8")

# mixed-quiz: 3 checks, credit by try 1, 0.8, 0.5 (then 0.5 again: the last entry repeats); due
# 2026-12-10 23:59 at UTC-5 = 2026-12-11 04:59 UTC; late steps end 3 days after it.
QUIZ_POLICY = """\
    attempts: {checks: 3, credit: [1, 0.8, 0.5], interval: 30s, reveal: misconception}
    dates:
      due: 2026-12-10T23:59:00-05:00
      late:
        - {until: 1d, credit: 0.8}
        - {until: 3d, credit: 0.5}
"""
QUIZ_CREDIT_BY_TRY = [1.0, 0.8, 0.5, 0.5]          # tries 1..checks+1
OWN = {  # a problem's own attempts: over the assignment's
    "quiz-kl-sign": "    attempts: {checks: 2, credit: [1, 0.75, 0.5]}\n",      # equal steps: exact in Moodle
    "quiz-lstm-order": "    attempts: {checks: 0}\n",                            # no checks: today's values
}


def with_assignment_lines(text, assignment, lines):
    """`lines` (indented as an assignment's fields) inserted after the assignment's title line."""
    start = text.index(f"  - id: {assignment}\n")
    title_end = text.index("\n", text.index("    title:", start)) + 1
    return text[:title_end] + lines + text[title_end:]


def with_problem_lines(text, problem_id, lines):
    start = text.index(f"  - id: {problem_id}\n") + len(f"  - id: {problem_id}\n")
    return text[:start] + lines + text[start:]


def policy_bank_text():
    text = with_assignment_lines(SHIPPED, "mixed-quiz", QUIZ_POLICY)
    for problem_id, lines in OWN.items():
        text = with_problem_lines(text, problem_id, lines)
    return text


def export(tmp_path, text, fmt, *selection, name="out"):
    """(file bytes, printed output) of `grader export` on a bank with `text`."""
    bank = tmp_path / f"{name}.yaml"
    bank.write_text(text, encoding="utf-8")
    out = tmp_path / f"{name}.{'xml' if fmt == 'moodle' else 'zip'}"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run_cli("--bank", bank, "export", fmt, *selection, "--variants", VARIANTS, "--out", out) == 0
    return out.read_bytes(), printed.getvalue()


def moodle_questions(data):
    """{problem id: [question elements]} of a Moodle XML export."""
    found = {}
    for question in etree.fromstring(data).iter("question"):
        if question.get("type") != "category":
            found.setdefault(question.findtext("name/text").split()[0], []).append(question)
    return found


def moodle_right_answer_mark(penalty, wrong_tries_before):
    """qbehaviour_interactive::adjust_fraction for a fully right answer."""
    return max(0.0, 1.0 - wrong_tries_before * penalty)


def canvas_package(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = etree.fromstring(files["imsmanifest.xml"])
    return files, manifest


# --- Moodle --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moodle_policy(tmp_path_factory):
    return export(tmp_path_factory.mktemp("moodle-policy"), policy_bank_text(), "moodle", "mixed-quiz")


def test_moodle_questions_get_a_hint_per_check_and_the_smallest_penalty_never_above_the_list(moodle_policy):
    data, _ = moodle_policy
    questions = moodle_questions(data)
    assert len(questions) >= 5
    checked = 0
    for problem_id, found in questions.items():
        if problem_id in OWN:
            continue
        for question in found:
            hints = question.findall("hint")
            assert len(hints) == 3, problem_id                     # 3 checks + the submission = 4 tries
            assert all(h.get("format") == "html" and h.findtext("text").strip() for h in hints)  # Moodle drops empty hints
            penalty = float(question.findtext("penalty"))
            # by hand: max((1 - 0.8)/1, (1 - 0.5)/2, (1 - 0.5)/3) = 0.25
            assert question.findtext("penalty") == "0.25"
            for tries_before, ours in enumerate(QUIZ_CREDIT_BY_TRY):
                assert moodle_right_answer_mark(penalty, tries_before) <= ours + 1e-9, (problem_id, tries_before)
            # the smallest such penalty: any less and some try keeps more than the list
            smaller = penalty - 1e-4
            assert any(moodle_right_answer_mark(smaller, k) > ours + 1e-9 for k, ours in enumerate(QUIZ_CREDIT_BY_TRY))
            checked += 1
    assert checked >= 3 * VARIANTS


def test_moodle_problem_overrides(moodle_policy):
    data, _ = moodle_policy
    questions = moodle_questions(data)
    for question in questions["quiz-kl-sign"]:
        assert len(question.findall("hint")) == 2
        assert question.findtext("penalty") == "0.25"
        penalty = float(question.findtext("penalty"))
        assert [moodle_right_answer_mark(penalty, k) for k in range(3)] == [1.0, 0.75, 0.5]   # exactly the list
    for question in questions["quiz-lstm-order"]:
        assert question.findall("hint") == [] and question.findtext("penalty") == "0"


def test_moodle_notes_say_what_the_quiz_must_set_and_who_loses_what(moodle_policy):
    data, printed = moodle_policy
    notes = [line for line in printed.splitlines() if line.startswith("note: ")]
    text = "\n".join(notes)
    assert "Interactive with multiple tries" in text and "'Attempts allowed' to 1" in text
    assert "tick 'Specific feedback'" in text and "never tick 'Right answer'" in text
    assert "'Close the quiz' to 2026-12-13T23:59-05:00 (due 2026-12-10T23:59-05:00" in text
    assert "until 1 d after it, 80%; until 3 d after it, 50%" in text
    lossy = next(line for line in notes if "cannot follow the credit list" in line)
    inexact = set(moodle_questions(data)) - set(OWN)
    assert {p.strip() for p in lossy.split("credit list of ", 1)[1].split(":", 1)[0].split(",")} == inexact
    # 1, 0.8, 0.5, 0.5 against 1, 0.75, 0.5, 0.25
    assert "try 2 loses 5%" in lossy and "try 4 loses 25%" in lossy and "try 3" not in lossy
    assert "quiz-kl-sign" not in lossy


@pytest.mark.parametrize(("checks", "credit", "penalty", "marks", "exact"), [
    (3, [1, 0.8, 0.5], 0.25, (1, 0.75, 0.5, 0.25), False),
    (1, [1, 0.9], 0.1, (1, 0.9), True),
    (2, [1, 0.5, 0.4], 0.5, (1, 0.5, 0.0), False),
    (4, [1], 0.0, (1, 1, 1, 1, 1), True),                   # checks at no cost
    (1, [0.9], 0.1, (1, 0.9), False),                        # Moodle's first try keeps everything
    (2, [1, 2 / 3, 1 / 3], 0.3333333, (1, 0.6666667, 0.3333334), True),
])
def test_moodle_tries_by_hand(checks, credit, penalty, marks, exact):
    from grader.bank.policy import CheckPolicy
    from grader.export.moodle import moodle_tries

    tries = moodle_tries(CheckPolicy(checks=checks, credit=tuple(credit)))
    assert tries.hints == checks and tries.penalty == pytest.approx(penalty, abs=1e-12)
    assert tries.moodle == pytest.approx(marks, abs=1e-9) and tries.exact == exact
    assert moodle_tries(CheckPolicy(checks=0, credit=tuple(credit))) is None


# --- Canvas --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def canvas_policy(tmp_path_factory):
    return export(tmp_path_factory.mktemp("qti-policy"), policy_bank_text(), "qti", "mixed-quiz")


def test_canvas_quiz_allows_checks_plus_one_attempts_with_the_dates(canvas_policy):
    data, _ = canvas_policy
    files, manifest = canvas_package(data)
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    qti = next(r for r in resources if r.get("type") == "imsqti_xmlv1p2")
    assessment = etree.fromstring(files[qti.find(f"{CP}file").get("href")]).find(f"{Q}assessment")
    fields = {f.findtext(f"{Q}fieldlabel"): f.findtext(f"{Q}fieldentry")
              for f in assessment.findall(f"{Q}qtimetadata/{Q}qtimetadatafield")}
    assert fields["cc_maxattempts"] == "4"
    # Canvas' importer reads <assessment ident>/assessment_meta.xml of a learning-application-resource
    meta_resource = next(r for r in resources if r.get("type").endswith("learning-application-resource"))
    meta_path = meta_resource.find(f"{CP}file").get("href")
    assert meta_path == f"{assessment.get('ident')}/assessment_meta.xml" == meta_resource.get("href")
    assert qti.find(f"{CP}dependency").get("identifierref") == meta_resource.get("identifier")
    meta = etree.fromstring(files[meta_path])
    assert meta.tag == f"{CANVAS}quiz" and meta.get("identifier") == assessment.get("ident")
    values = {child.tag.removeprefix(CANVAS): child.text for child in meta}
    assert values["due_at"] == "2026-12-11T04:59:00"          # 23:59 at UTC-5, in UTC
    assert values["lock_at"] == "2026-12-14T04:59:00"         # + the last late step, 3 days
    assert values["allowed_attempts"] == "4" and values["quiz_type"] == "assignment"
    assert values["show_correct_answers"] == "false" and values["scoring_policy"] == "keep_highest"
    points = sum(float(s.findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_extension/{Q}points_per_item"))
                 for s in assessment.find(f"{Q}section").findall(f"{Q}section"))
    assert float(values["points_possible"]) == points > 0


def test_canvas_notes_say_what_the_quiz_cannot_carry(canvas_policy):
    _, printed = canvas_policy
    text = printed
    assert "the quiz allows 4 (3 checks and the submission)" in text
    assert "credit list (100%, 80%, 50%" in text and "keeps all its points in Canvas" in text
    differ = next(line for line in text.splitlines() if "one number of attempts" in line)
    assert "quiz-kl-sign (2)" in differ and "quiz-lstm-order" not in differ    # a table: Canvas skips it
    assert "due 2026-12-11T04:59:00 UTC, locked at 2026-12-14T04:59:00 UTC" in text and "late policy" in text


def test_canvas_dates_without_checks_keep_one_attempt(tmp_path):
    text = with_assignment_lines(SHIPPED, "mixed-quiz", "    dates: {due: 2026-12-10T23:59:00Z}\n")
    data, _ = export(tmp_path, text, "qti", "mixed-quiz")
    files, _ = canvas_package(data)
    meta_name = next(name for name in files if name.endswith("/assessment_meta.xml"))
    values = {child.tag.removeprefix(CANVAS): child.text for child in etree.fromstring(files[meta_name])}
    assert values["due_at"] == values["lock_at"] == "2026-12-10T23:59:00"   # no late steps: locked at the due date
    assert values["allowed_attempts"] == "1" and "show_correct_answers" not in values
    assessment = next(etree.fromstring(data) for name, data in files.items() if name.endswith(".xml")
                      and not name.endswith("assessment_meta.xml") and name != "imsmanifest.xml")
    assert assessment.findtext(f".//{Q}qtimetadatafield/{Q}fieldentry") == "1"


def test_problems_from_several_assignments_keep_one_attempt_but_their_penalties(tmp_path):
    text = policy_bank_text()
    data, printed = export(tmp_path, text, "qti", "--problems", "quiz-kl-sign,mse-batch", name="qti")
    files, manifest = canvas_package(data)
    assert len(files) == 2 and b"<fieldentry>1</fieldentry>" in next(
        data for name, data in files.items() if name != "imsmanifest.xml")
    assert "several assignments" in printed and "quiz-kl-sign" in printed
    data, _ = export(tmp_path, text, "moodle", "--problems", "quiz-kl-sign,mse-batch", name="moodle")
    questions = moodle_questions(data)
    assert {q.findtext("penalty") for q in questions["quiz-kl-sign"]} == {"0.25"}
    # mse-batch keeps its own assignment's policy: the shipped homework's [1, 0.9, 0.8], 0.1 a try
    assert {q.findtext("penalty") for q in questions["mse-batch"]} == {"0.1"}


# --- no policy: today's files ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["moodle", "qti"])
def test_no_checks_and_no_dates_export_the_same_bytes(tmp_path, fmt):
    """The unchanged bank, a bank whose policy has no checks (a credit list alone changes nothing), and
    the assignments of the policy bank that have no policy: byte for byte the same files, no new notes."""
    plain, plain_printed = export(tmp_path, SHIPPED, fmt, "mixed-quiz", name="plain")
    zero = with_assignment_lines(SHIPPED, "mixed-quiz", "    attempts: {checks: 0, credit: [1, 0.5], reveal: band}\n")
    same, same_printed = export(tmp_path, zero, fmt, "mixed-quiz", name="zero")
    assert same == plain and same_printed.replace("zero.", "plain.") == plain_printed
    other, _ = export(tmp_path, SHIPPED, fmt, "cnn-detection", name="other-plain")
    other_policy, _ = export(tmp_path, policy_bank_text(), fmt, "cnn-detection", name="other-policy")
    assert other_policy == other
    if fmt == "moodle":
        questions = [q for found in moodle_questions(plain).values() for q in found]
        assert {q.findtext("penalty") for q in questions} == {"0"} and not any(q.findall("hint") for q in questions)
    else:
        files, manifest = canvas_package(plain)
        assert len(files) == 2 and len(manifest.findall(f"{CP}resources/{CP}resource")) == 1
