"""A hostile autograded notebook, after KeepInertOutputs, rendered as nbgrader shows it: with the
HTMLExporter and template of the formgrader's submission page (server_extensions/formgrader:
template 'formgrade'), of nbgrader's generate_feedback (template 'feedback') and of plain
`jupyter nbconvert --to html`. Nothing of the
student's runs in the page; their words, plain text, PNG and the instructor's LaTeX survive.

Every payload carries PWNED: in the page it may only be text (escaped), never a script, an attribute
or a URL. The page's own scripts and event handlers are the template's: those of an empty notebook."""

import copy
import html
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from traitlets.config import Config

from grader.grading.notebook.inert_outputs import KeepInertOutputs, as_code_block

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
LOCKED_PROMPT = ("Compute the $3\\times3$ product $\\begin{bmatrix} a & b \\\\ c & d \\end{bmatrix}$ "
                 "for $x < y$ (<b>instructor's own markup</b>).")
RAW_HTML_MARKDOWN = ("Student notes survive, with a **bold answer**.\n\n<script>alert('PWNED-m1')</script>\n\n"
                     "<img src=\"x\" onerror=\"alert('PWNED-m2')\">\n\n<svg onload=\"alert('PWNED-m3')\"><script>alert(1)</script></svg>\n\n"
                     "<iframe src=\"javascript:alert('PWNED-m4')\"></iframe><object data=\"PWNED-m5\"></object>"
                     "<embed src=\"PWNED-m6\">\n\n<style>body { display: none } /* PWNED-m7 */</style>\n\n"
                     "<a href=\"javascript:alert('PWNED-m8')\" onclick=\"alert('PWNED-m9')\">a link</a>")
LINK_MARKDOWN = ("These clickable words stay readable: [click](javascript:alert('PWNED-l1')) "
                 "![pic](JaVa&#x73;cript:alert('PWNED-l2'))\n\n[ref]: vbscript:PWNED-l3\n\nsee [ref]")
HIDDEN = ("application/vnd.jupyter.widget-view+json", "application/javascript", "image/svg+xml", "text/html",
          "text/markdown", "text/latex")


def nbgrader_meta(grade_id, **flags):
    return {"nbgrader": {"grade_id": grade_id, "grade": False, "locked": False, "schema_version": 3,
                         "solution": False, "task": False, **flags}}


def hostile_notebook(invalid=True):
    """An autograded notebook as a hostile student's kernel and notebook could leave it
    (`invalid`: with what nbformat's schema refuses, so nbconvert renders no page: execution counts
    that are markup, an update_display_data output)."""
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0,
            "state": {"m": {"model_name": "HTMLModel", "state": {"value": "</script><script>alert('PWNED-w')</script>"}}}}},
    })
    nb.cells = [
        new_markdown_cell(LOCKED_PROMPT, metadata=nbgrader_meta("p1-prompt", locked=True)),
        new_markdown_cell(RAW_HTML_MARKDOWN),
        new_markdown_cell(LINK_MARKDOWN),
        # claims the instructor's lock, but has no grade_id: OverwriteCells found no such cell
        new_markdown_cell("A forged lock <script>alert('PWNED-f')</script>", metadata={"nbgrader": {"locked": True}}),
        new_markdown_cell("![plot](attachment:plot.png)", attachments={
            "plot.png": {"image/png": PNG}, "evil.svg": {"image/svg+xml": "<svg onload=\"alert('PWNED-a1')\"/>"}}),
        new_markdown_cell("![evil](attachment:evil.svg)", attachments={
            "evil.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+", "text/html": "PWNED-a2"}}),
        new_raw_cell("<script>alert('PWNED-r1')</script><img src=x onerror=alert('PWNED-r2')>",
                     metadata={"format": "text/html", "raw_mimetype": "text/html"}),
        new_raw_cell("<b>unformatted</b><script>alert('PWNED-r3')</script>"),   # no mimetype: the HTML page takes it raw
        new_code_cell("q1 = 14", outputs=[
            new_output("stream", name="stdout", text="plain words from print <b>PWNED-s1</b>\n"),
            new_output("display_data", data={"text/html": "<script>alert('PWNED-o1')</script>",
                                             "text/plain": "<IPython.core.display.HTML object>"}),
            new_output("display_data", data={"application/javascript": "alert('PWNED-o2')"}),
            new_output("display_data", data={"image/svg+xml": "<svg onload=\"alert('PWNED-o3')\"/>"}),
            new_output("display_data", data={"text/markdown": "[m](javascript:alert('PWNED-o4'))"}),
            new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {
                "model_id": "m", "version_major": 2, "version_minor": 0}}),
            new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                       metadata={"image/png": {"width": "1 onerror=alert('PWNED-o5')", "height": 20},
                                 "filenames": {"image/png": "javascript:alert('PWNED-o6')"}}),
            new_output("display_data", data={"image/png": "x\" onerror=\"alert('PWNED-o7')"}),
            new_output("display_data", data={"text/html": "<b>PWNED-o8</b>"}, metadata={"text/html": {"isolated": True}}),
            new_output("error", ename="ValueError", evalue="<script>PWNED-e1</script>",
                       traceback=["ValueError: <script>PWNED-e1</script>"]),
        ]),
        new_code_cell("check(q1)", execution_count=3, metadata=nbgrader_meta(
            "p1-test", grade=True, locked=True, points=1.0, score=1.0), outputs=[
            new_output("stream", name="stdout", text="GRADER_RESULT {}\n")]),
    ]
    # what the student's kernel sends is not checked (nbformat.writes only logs an invalid notebook)
    student = nb.cells[-2]
    student.execution_count = "<img src=x onerror=alert('PWNED-c1')>" if invalid else 2
    student.outputs.insert(-1, nbformat.from_dict({
        "output_type": "execute_result", "metadata": {},
        "execution_count": "<img src=x onerror=alert('PWNED-o9')>" if invalid else 2,
        "data": {"text/html": "<img src=x onerror=alert('PWNED-o10')>", "text/plain": "14"}}))
    if invalid:
        student.outputs.append(nbformat.from_dict({"output_type": "update_display_data", "metadata": {},
                                                   "data": {"text/html": "<script>PWNED-u</script>"},
                                                   "transient": {"display_id": "x"}}))
    return nb


def inert(nb):
    nb = copy.deepcopy(nb)
    return KeepInertOutputs().preprocess(nb, {})[0]


# --- nbgrader's two exporters, built as nbgrader builds them --------------------------------------

FORMGRADER_TEMPLATES = Path(__import__("nbgrader").__file__).parent / "server_extensions" / "formgrader" / "templates"


def formgrader_page(nb) -> str:
    """The formgrader's submission page (formgrader.py: build_extra_config and init_tornado_settings;
    handlers.py: SubmissionHandler's resources)."""
    from nbgrader.server_extensions.formgrader import handlers

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "a1", "notebook_id": "a1", "submission_id": "s-1", "index": 0, "total": 1,
                 "base_url": "", "student": "alice", "last_name": "", "first_name": "",
                 "notebook_path": "autograded/alice/a1/a1.ipynb"}
    return HTMLExporter(config=config).from_notebook_node(copy.deepcopy(nb), resources=resources)[0]


def feedback_page(nb) -> str:
    """nbgrader's generate_feedback page: GenerateFeedback's exporter config and its preprocessors
    but GetGrades (which only copies the gradebook's scores in: here they are in the notebook)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    converter = GenerateFeedback(coursedir=CourseDirectory(), config=Config())
    exporter = HTMLExporter(parent=converter, config=converter.config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor, enabled=True)
    assert exporter.template_name == "feedback"
    resources = {"nbgrader": {"student": "alice", "assignment": "a1", "notebook": "a1", "score": 1.0,
                              "max_score": 1.0, "late_penalty": 0.0}}
    return exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)[0]


class Page(HTMLParser):
    """What an HTML page would run or load: its scripts, event attributes, URLs and elements."""

    URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "xlink:href", "srcset", "poster")

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.elements, self.scripts, self.events, self.urls, self.attributes = Counter(), [], [], [], [], []
        self.text, self._script = [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.elements.append((tag, dict(attrs)))
        for name, value in attrs:
            self.attributes.append((tag, name, value or ""))
            if name.startswith("on"):
                self.events.append((tag, name, value))
            if name in self.URL_ATTRIBUTES:
                self.urls.append((tag, name, value or ""))
        if tag == "script":
            self._script = [sorted(attrs), ""]
            self.scripts.append(self._script)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data
        else:
            self.text.append(data)

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def bad_urls(page: Page) -> list:
    def scheme(url):
        return "".join(ch for ch in url if ord(ch) > 0x20).lower()
    return [u for u in page.urls if scheme(u[2]).startswith(("javascript:", "vbscript:", "data:text", "data:image/svg"))]


def live_student_markup(page: Page, empty: Page) -> dict:
    """Everything of the student's that is live in `page` (`empty`: the same page of an empty notebook)."""
    return {
        "scripts": Counter(map(repr, page.scripts)) - Counter(map(repr, empty.scripts)),
        "event attributes": Counter(page.events) - Counter(empty.events),
        "javascript URLs": bad_urls(page),
        "frames and plugins": {t: page.tags[t] for t in ("iframe", "object", "embed", "frame", "svg", "math",
                                                          "base", "form") if page.tags[t] > empty.tags[t]},
        "style elements": page.tags["style"] - empty.tags["style"],
        "payload in an attribute": [a for a in page.attributes if "PWNED" in a[2]],
    }


NOTHING_LIVE = {"scripts": Counter(), "event attributes": Counter(), "javascript URLs": [], "frames and plugins": {},
                "style elements": 0, "payload in an attribute": []}

def nbconvert_page(nb) -> str:
    """`jupyter nbconvert --to html` (the lab template), as a TA may open an autograded notebook."""
    return HTMLExporter().from_notebook_node(copy.deepcopy(nb))[0]


EXPORTERS = {"formgrader": formgrader_page, "feedback": feedback_page, "nbconvert": nbconvert_page}


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_nothing_the_student_wrote_is_live_in_the_page(exporter):
    render = EXPORTERS[exporter]
    page, empty = Page(render(inert(hostile_notebook()))), Page(render(new_notebook()))
    assert live_student_markup(page, empty) == NOTHING_LIVE
    assert "PWNED-w" not in str(page.scripts)          # the widget state is gone, not just escaped


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_the_students_words_plain_text_png_and_the_instructors_latex_survive(exporter):
    text = EXPORTERS[exporter](inert(hostile_notebook()))
    page = Page(text)
    words = page.words()
    assert "plain words from print <b>PWNED-s1</b>" in words           # printed: shown as text
    assert "Student notes survive, with a" in words and "<strong>bold answer</strong>" in text
    assert "<script>alert('PWNED-m1')</script>" in words                 # the student's markup, as text
    assert "These clickable words stay readable" in words and "[click](javascript:alert('PWNED-l1'))" in words
    assert "A forged lock" in words and "unformatted" in words
    assert "[text/html output removed by the grader]" in words
    assert "<IPython.core.display.HTML object>" in words and "14" in words
    assert "ValueError" in words
    pngs = [attrs for tag, attrs in page.elements if tag == "img" and attrs.get("src") == "data:image/png;base64," + PNG]
    assert len(pngs) == 2                                                # the output and the attachment
    assert {img.get("height") for img in pngs} == {"20", None} and not any("width" in img for img in pngs)
    assert "$3\\times3$" in text and "\\begin{bmatrix} a &amp; b" in text   # as MathJax reads it
    assert "<b>instructor's own markup</b>" in text                          # locked: the instructor's HTML


def test_without_keep_inert_outputs_the_page_runs_the_students_code():
    """The checks above see every kind of attack when nothing is removed (they can fail)."""
    with pytest.raises(nbformat.ValidationError):       # a count that is markup: no page at all
        formgrader_page(hostile_notebook())
    live = live_student_markup(Page(formgrader_page(hostile_notebook(invalid=False))),
                               Page(formgrader_page(new_notebook())))
    assert "PWNED-w" in str(live_student_markup(Page(nbconvert_page(hostile_notebook(invalid=False))),
                                                Page(nbconvert_page(new_notebook())))["scripts"])   # widget state
    assert any("PWNED-m1" in key for key in live["scripts"])               # <script> in markdown
    assert any("PWNED-o1" in key for key in live["scripts"])               # text/html output
    assert any("PWNED-o2" in key for key in live["scripts"])               # application/javascript
    assert any("widget-view+json" in key for key in live["scripts"])       # a widget's view
    # (raw cells: this nbconvert cleans them with bleach itself; older ones did not)
    assert ("img", "onerror", "alert('PWNED-m2')") in live["event attributes"]
    assert any("PWNED-l1" in url for _, _, url in live["javascript URLs"])  # markdown link
    assert live["frames and plugins"]["iframe"] >= 2 and live["style elements"] == 1
    assert live["frames and plugins"]["svg"] >= 1 and live["frames and plugins"]["object"] == 1


def test_the_instructors_locked_cells_are_left_byte_identical():
    before = hostile_notebook()
    after = inert(before)
    assert after.cells[0].source == LOCKED_PROMPT == before.cells[0].source
    assert after.cells[-1].source == before.cells[-1].source and after.cells[-1].outputs == before.cells[-1].outputs


def test_outputs_keep_only_inert_mime_types_and_harmless_metadata():
    cell = inert(hostile_notebook()).cells[8]
    assert cell.execution_count is None
    kept = [(o.output_type, dict(o.get("data", {})), dict(o.get("metadata", {}))) for o in cell.outputs if "data" in o]
    assert kept == [
        ("display_data", {"text/plain": "<IPython.core.display.HTML object>"}, {}),
        ("display_data", {"text/plain": "[application/javascript output removed by the grader]"}, {}),
        ("display_data", {"text/plain": "[image/svg+xml output removed by the grader]"}, {}),
        ("display_data", {"text/plain": "[text/markdown output removed by the grader]"}, {}),
        ("display_data", {"text/plain": "[application/vnd.jupyter.widget-view+json output removed by the grader]"},
         {}),
        ("display_data", {"image/png": PNG, "text/plain": "<Figure>"}, {"image/png": {"height": 20}}),
        ("display_data", {"text/plain": "[image/png output removed by the grader]"}, {}),
        ("display_data", {"text/plain": "[text/html output removed by the grader]"}, {}),
        ("execute_result", {"text/plain": "14"}, {}),
    ]
    assert [o.output_type for o in cell.outputs] == ["stream"] + ["display_data"] * 8 + ["execute_result", "error"]
    assert cell.outputs[0] == hostile_notebook().cells[8].outputs[0]          # stream and error as they were
    assert cell.outputs[-1] == hostile_notebook().cells[8].outputs[-2]
    assert all(o.execution_count is None for o in cell.outputs if o.output_type == "execute_result")


def test_attachments_keep_png_and_jpeg_and_notebook_metadata_loses_widgets():
    nb = inert(hostile_notebook())
    assert nb.cells[4].attachments == {"plot.png": {"image/png": PNG}}
    assert nb.cells[5].attachments == {}
    assert nb.cells[5].source.startswith("```") and "attachment:evil.svg" in nb.cells[5].source  # shown as text
    assert "widgets" not in nb.metadata and nb.metadata.kernelspec.name == "python3"


def test_a_markdown_cell_shown_as_text_keeps_its_source_exactly():
    """The fence is longer than any backtick run in the source, so the source cannot close it."""
    source = "a `` ``` `` b\n````\n[x](javascript:alert(1)) <script>x</script>\n````\n$a & b$"
    rendered = HTMLExporter().markdown2html({"cell": {}}, as_code_block(source))
    page = Page(rendered)
    assert page.scripts == [] and page.urls == []
    assert html.unescape("".join(page.text)).strip() == source


def test_markdown_a_student_writes_without_markup_is_left_as_written():
    """bleach would re-escape & and > (breaking LaTeX and quotes): only a source with a tag goes to it."""
    notes = "> a quote\n\nWith $\\begin{bmatrix} a & b \\end{bmatrix}$ and a [link](https://example.com/x?a=1&b=2)."
    nb = new_notebook(cells=[new_markdown_cell(notes)])
    assert inert(nb).cells[0].source == notes


def test_grading_runs_it_right_after_the_answers_are_graded(tmp_path):
    from grader.grading.notebook.answers import GradeReportedAnswers
    from grader.grading.notebook.pipeline import NotebookGrader, ResilientExecute

    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    steps = [type(step) for step in NotebookGrader(config, f"sqlite:///{tmp_path}/gb.db", pool=None)
             .autograde.preprocessors]
    at = steps.index(GradeReportedAnswers)
    assert steps[at - 1:at + 2] == [ResilientExecute, GradeReportedAnswers, KeepInertOutputs]


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_a_graded_submission_keeps_its_score_and_none_of_its_html(tmp_path):
    """End to end: the student's answer cell displays HTML and JavaScript, and they add a markdown
    cell with a script; the autograded notebook keeps the full score and nothing live."""
    import course_kit as kit

    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config

    root = kit.make_course(tmp_path, timeout=10)
    hostile = ("from IPython.display import HTML, Javascript, display\n"
               "display(HTML(\"<img src=x onerror=alert('PWNED-g1')>\"), Javascript(\"alert('PWNED-g2')\"))\n"
               "q1 = 14")

    def add_notes(nb):
        nb.cells.append(nbformat.v4.new_markdown_cell("my notes <script>alert('PWNED-g3')</script>"))
    kit.submit(root, "mallory", {**kit.RIGHT, "p1": hostile}, edit=add_notes)
    config = effective_config(root)
    grade_assignment(root, kit.ASSIGNMENT, config=config)
    graded = nbformat.read(root / "autograded" / "mallory" / kit.ASSIGNMENT / f"{kit.ASSIGNMENT}.ipynb", as_version=4)
    mimes = {mime for cell in graded.cells for output in cell.get("outputs", []) for mime in output.get("data", {})}
    assert mimes <= {"text/plain", "image/png", "image/jpeg"}
    shown = [output.data["text/plain"] for cell in graded.cells for output in cell.get("outputs", []) if "data" in output]
    assert {"<IPython.core.display.HTML object>", "<IPython.core.display.Javascript object>"} <= set(shown)
    assert [r["points"] for r in kit.grader_results(root / "autograded" / "mallory" / kit.ASSIGNMENT /
                                                    f"{kit.ASSIGNMENT}.ipynb")] == [2.0, 3.0, 1.0]
    page = Page(formgrader_page(graded))
    assert live_student_markup(page, Page(formgrader_page(new_notebook()))) == NOTHING_LIVE
    assert "my notes <script>alert('PWNED-g3')</script>" in page.words()


def test_a_huge_markdown_cell_is_shown_as_text_cut_and_huge_outputs_are_cut():
    from grader.grading.notebook.inert_outputs import CUT_NOTE, MAX_CELL_OUTPUT, MAX_CELL_TEXT

    nb = new_notebook(cells=[new_markdown_cell("<b>" * 80_000), new_code_cell("x", outputs=[
        new_output("display_data", data={"text/plain": "y" * (1 << 20)}) for _ in range(10)])])
    cell, code = inert(nb).cells
    assert cell.source.startswith("```") and CUT_NOTE in cell.source and len(cell.source) < MAX_CELL_TEXT + 100
    assert sum(len(o.get("text", "")) + len(o.get("data", {}).get("text/plain", "")) for o in code.outputs) \
        <= MAX_CELL_OUTPUT + 100
    assert code.outputs[-1].text == f"{CUT_NOTE}\n" and len(code.outputs) == MAX_CELL_OUTPUT // (1 << 20) + 1
