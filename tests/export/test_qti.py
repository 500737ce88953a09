"""Canvas QTI packages of the whole shipped bank: structure Canvas' importer reads, and grading
through Canvas Classic Quizzes' own rules.

No XSD: the IMS QTI 1.2 schema (ims_qtiasiv1p2p1.xsd) ships in no PyPI, npm or Debian package, so
the structure is checked against what Canvas' QTI importer and its own exports use.
"""

import itertools
import zipfile

import pytest
from conftest import VARIANTS, run_cli
from lxml import etree
from quiz_rules import canvas_choice_grade, canvas_numerical_accepts

from grader.kinds import grade_answer
from grader.variants import draw

pytestmark = pytest.mark.xdist_group("export-qti")

Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CANVAS_TYPES = {"numerical_question", "multiple_choice_question", "multiple_answers_question"}


@pytest.fixture(scope="module")
def packages(bank, tmp_path_factory):
    """{assignment id: (zip names, manifest root, assessment root)} for every assignment."""
    folder = tmp_path_factory.mktemp("qti")
    found = {}
    for assignment in bank.assignments:
        out = folder / f"{assignment}.zip"
        assert run_cli("export", "qti", assignment, "--variants", VARIANTS, "--out", out) == 0
        with zipfile.ZipFile(out) as archive:
            assert archive.testzip() is None
            manifest = etree.fromstring(archive.read("imsmanifest.xml"))
            resource = manifest.find(f"{CP}resources/{CP}resource")
            assert resource.get("type") == "imsqti_xmlv1p2"
            href = resource.find(f"{CP}file").get("href")
            found[assignment] = (archive.namelist(), manifest, etree.fromstring(archive.read(href)))
    return found


def items(packages, bank):
    for assignment, (_, _, root) in packages.items():
        for item in root.iter(f"{Q}item"):
            problem_id, key = item.get("title").split()
            problem = bank.problems[problem_id]
            values = draw(bank, problem, assignment, key)
            yield problem, values, problem.answer.evaluate(values), item


def metadata(item):
    return {field.findtext(f"{Q}fieldlabel"): field.findtext(f"{Q}fieldentry")
            for field in item.iter(f"{Q}qtimetadatafield")}


def test_packages_are_quizzes_with_one_pick_one_group_per_problem(packages, bank):
    for assignment, (names, _manifest, root) in packages.items():
        rules = bank.assignments[assignment].rules
        settings = rules.attempts.checks > 0 or rules.dates is not None    # Canvas' assessment_meta.xml
        assert names[0] == "imsmanifest.xml" and len(names) == 2 + settings
        assert root.tag == f"{Q}questestinterop"
        assessment = root.find(f"{Q}assessment")
        sections = assessment.find(f"{Q}section").findall(f"{Q}section")
        assert sections
        for section in sections:
            selection = section.find(f"{Q}selection_ordering/{Q}selection")
            assert selection.findtext(f"{Q}selection_number") == "1"
            section_items = section.findall(f"{Q}item")
            assert len(section_items) == VARIANTS
            problem = bank.problems[section_items[0].get("title").split()[0]]
            assert problem.id in bank.assignments[assignment].problems
            assert float(selection.findtext(f"{Q}selection_extension/{Q}points_per_item")) == problem.points
            assert {item.get("title") for item in section_items} == {f"{problem.id} v{i + 1}" for i in range(VARIANTS)}


def test_items_have_what_canvas_reads(packages, bank):
    idents = []
    for problem, _, _, item in items(packages, bank):
        idents.append(item.get("ident"))
        meta = metadata(item)
        assert meta["question_type"] in CANVAS_TYPES
        assert float(meta["points_possible"]) == problem.points
        assert item.find(f"{Q}presentation/{Q}material/{Q}mattext").get("texttype") == "text/html"
        decvar = item.find(f"{Q}resprocessing/{Q}outcomes/{Q}decvar")
        assert decvar.get("varname") == "SCORE" and decvar.get("maxvalue") == "100"
        feedback = {f.get("ident") for f in item.findall(f"{Q}itemfeedback")}
        shown = {d.get("linkrefid") for d in item.iter(f"{Q}displayfeedback")}
        assert shown <= feedback, problem.id
        labels = [label.get("ident") for label in item.iter(f"{Q}response_label")]
        assert len(labels) == len(set(labels))
        for varequal in item.iter(f"{Q}varequal"):
            if meta["question_type"] != "numerical_question":
                assert varequal.text in labels
    assert len(idents) == len(set(idents))


def test_numerical_accepts_the_engine_answer_and_rejects_every_misconception(packages, bank):
    checked = 0
    for problem, values, expected, item in items(packages, bank):
        if metadata(item)["question_type"] != "numerical_question":
            continue
        scoring = [c for c in item.iter(f"{Q}respcondition") if c.find(f"{Q}setvar") is not None]
        assert len(scoring) == 1 and scoring[0].findtext(f"{Q}setvar") == "100"
        condition = scoring[0].find(f"{Q}conditionvar/{Q}or")
        exact = float(condition.findtext(f"{Q}varequal"))
        low, high = float(condition.findtext(f"{Q}and/{Q}vargte")), float(condition.findtext(f"{Q}and/{Q}varlte"))
        assert canvas_numerical_accepts(exact, low, high, float(expected)), problem.id
        for edge in (low, high):
            assert grade_answer(problem, edge, values).correct, (problem.id, "Canvas accepts what the notebook rejects")
        for misconception in problem.misconceptions:
            wrong = float(misconception.answer.evaluate(values))
            assert not canvas_numerical_accepts(exact, low, high, wrong), (problem.id, misconception.id)
            checked += 1
        incorrect = item.find(f"{Q}itemfeedback[@ident='general_incorrect_fb']").findtext(f".//{Q}mattext")
        for misconception in problem.misconceptions:
            assert etree.fromstring(f"<x>{incorrect}</x>").xpath("string()").count(misconception.feedback[:40]) == 1
    assert checked > 30


def test_every_pick_earns_in_canvas_what_the_notebook_gives(packages, bank):
    checked = 0
    for problem, values, _expected, item in items(packages, bank):
        kind = metadata(item)["question_type"]
        if kind == "numerical_question":
            continue
        labels = {}
        for label in item.iter(f"{Q}response_label"):
            text = label.findtext(f".//{Q}mattext")
            labels[label.get("ident")] = etree.fromstring(f"<x>{text}</x>").findtext("b").rstrip(".")
        condition = next(c for c in item.iter(f"{Q}respcondition") if c.find(f"{Q}setvar") is not None)
        conditionvar = condition.find(f"{Q}conditionvar")
        if kind == "multiple_answers_question":
            correct = {labels[v.text] for v in conditionvar.find(f"{Q}and").findall(f"{Q}varequal")}
            wrong = {labels[v.text] for v in conditionvar.find(f"{Q}and").findall(f"{Q}not/{Q}varequal")}
            assert correct | wrong == set(problem.options) and not correct & wrong
        else:
            correct = {labels[conditionvar.findtext(f"{Q}varequal")]}
        multiple = kind == "multiple_answers_question"
        assert multiple == problem.multiple
        keys = list(problem.options)
        for size in (range(1, len(keys) + 1) if multiple else [1]):
            for picked in map(set, itertools.combinations(keys, size)):
                notebook = grade_answer(problem, picked, values).fraction
                assert canvas_choice_grade(correct, picked, multiple) == pytest.approx(notebook), (problem.id, picked)
                checked += 1
    assert checked > 100


def test_same_bank_same_bytes(tmp_path):
    for name in ("a.zip", "b.zip"):
        assert run_cli("export", "qti", "mixed-quiz", "--variants", 2, "--out", tmp_path / name) == 0
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_unknown_assignment_is_one_line_exit_2_and_nothing_written(tmp_path, capsys):
    out = tmp_path / "x.zip"
    assert run_cli("export", "qti", "no-such-assignment", "--out", out) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "'no-such-assignment'" in error
    assert not out.exists()
