"""The instructors' preview site: every problem with K variants, answers, misconceptions and QA figures.

Static HTML (Jinja2 templates in grader/templates/preview/) with KaTeX, vendored from the npm
`katex` package by `make install` into grader/export/static/katex and copied beside the pages: the
site works offline and from file://. It shows expected values: it is for instructors and TAs only
and is written outside release/ (default COURSE/preview/, not committed).

The variants are the export's (keys v1 … vK): variant 3 here is variant 3 in Moodle and Canvas.
"""

import shutil
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from grader.bank.templates import latex
from grader.errors import GraderError
from grader.files import write_atomic
from grader.kinds import grade_answer
from grader.kinds.choice import as_key_set
from grader.kinds.rules import rule_for
from grader.qa import run_qa

from .common import (
    INLINE_DOLLAR,
    draw_variants,
    inline_html,
    misconception_values,
    nominal_tolerance,
    number_text,
    prompt_html,
    table_cells,
)

KATEX_DIR = Path(__file__).parent / "static" / "katex"
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "preview"


def _math(value):
    return Markup("$") + latex(value) + Markup("$")


def _markdown(text):
    return Markup(inline_html(str(text), INLINE_DOLLAR))


# --- how a kind's answer looks (one view per kind) ---------------------------------------------

def numeric_view(problem, values, value):
    """The number, and the window Moodle and Canvas accept around it."""
    text = _math(value)
    try:
        centre, tolerance = nominal_tolerance(rule_for(problem.compare, value), value)
    except (TypeError, ValueError):
        return text
    window = f"(accepted: |x − {number_text(centre)}| ≤ {number_text(tolerance)})"
    return text + Markup(' <span class="tol">{}</span>').format(window)


def array_view(problem, values, value):
    return _math(np.asarray(value)) + Markup(f' <span class="tol">shape {np.shape(value)}</span>')


def choice_view(problem, values, value):
    """Every option, the picked ones (the answer's, or a misconception's) marked."""
    picked = as_key_set(value)
    items = Markup("").join(
        Markup('<li class="{}">{} <b>{}.</b> ').format(*(("picked", "✓") if key in picked else ("", "·")), key)
        + Markup(inline_html(text, INLINE_DOLLAR)) + Markup("</li>") for key, text in problem.options.items())
    return Markup('<ul class="options">') + items + Markup("</ul>")


def _picked_options(problem, option):
    """A misconception's option(s): the keys and their text, without the other options."""
    return Markup("<br>").join(Markup("<b>{}.</b> ").format(key)
                               + Markup(inline_html(problem.options[key], INLINE_DOLLAR))
                               for key in sorted(as_key_set(option)))


def table_view(problem, values, value):
    rows = {}
    for label, _column, cell in table_cells(problem, values, value):
        rows.setdefault(label, []).append(_math(cell))
    header = Markup("").join(Markup("<th>{}</th>").format(column) for column in problem.table.columns)
    body = Markup("").join(Markup("<tr><th>{}</th>").format(label)
                           + Markup("").join(Markup("<td>") + cell + Markup("</td>") for cell in cells)
                           + Markup("</tr>") for label, cells in rows.items())
    return Markup("<table><tr><th></th>") + header + Markup("</tr>") + body + Markup("</table>")


def function_view(problem, values, value):
    rows = []
    for case in problem.function.cases:
        arguments = ", ".join(argument.source for argument in case)
        try:
            with np.errstate(all="ignore"):
                output = _math(value(*[argument.evaluate(values) for argument in case]))
        except Exception as exc:  # noqa: BLE001 (a misconception's function may fail on a hard case)
            output = Markup("raises {}").format(type(exc).__name__)
        rows.append(Markup("<tr><td><code>{}({})</code></td><td>").format(problem.function.name, arguments)
                    + output + Markup("</td></tr>"))
    return Markup("<table>") + Markup("").join(rows) + Markup("</table>")


ANSWER_VIEW_BY_KIND = {
    "numeric": numeric_view,
    "array": array_view,
    "choice": choice_view,
    "table": table_view,
    "function": function_view,
}


def _misconceptions(problem, values, view):
    rows = []
    for misconception in problem.misconceptions:
        if misconception.option is not None:
            value = _picked_options(problem, misconception.option)
        else:
            found = dict((m.id, v) for m, v in misconception_values(problem, values))
            value = view(problem, values, found[misconception.id]) if misconception.id in found \
                else Markup("<i>does not apply to this variant</i>")
        rows.append({"id": misconception.id, "credit": misconception.credit, "value": value,
                     "feedback": _markdown(misconception.feedback)})
    return rows


def problem_page_data(bank, problem, assignment_id, count, report):
    view = ANSWER_VIEW_BY_KIND[problem.kind]
    variants = []
    for variant in draw_variants(bank, problem, assignment_id, count):
        variants.append({
            "key": variant.key,
            "prompt": Markup(prompt_html(problem, variant.values, INLINE_DOLLAR, quiz=False)),
            "answer": view(problem, variant.values, variant.expected),
            # grading the expected answer says the rule in the words students see, whatever the kind
            "rule": grade_answer(problem, variant.expected, variant.values).rule,
            "misconceptions": _misconceptions(problem, variant.values, view),
        })
    return {
        "problem": problem,
        "hints": [_markdown(hint) for hint in problem.hints],
        "variants": variants,
        "qa": report,
    }


def _environment():
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _check_katex():
    missing = [name for name in KATEX_FILES if not (KATEX_DIR / name).exists()]
    if missing:
        raise GraderError(f"KaTeX is not installed in {KATEX_DIR} (missing {missing[0]}): run `make install`, "
                          "which unpacks the npm katex package there")


def copy_katex(out_dir):
    _check_katex()
    target = Path(out_dir) / "_static" / "katex"
    for name in KATEX_FILES:
        source = KATEX_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)


def build_preview(bank, assignment_ids, count, out_dir):
    """Write index.html and one page per assignment under out_dir; return the page paths. Every page
    is rendered (and KaTeX found) before the first file is written: a failure leaves no partial site."""
    out_dir = Path(out_dir)
    _check_katex()
    env = _environment()
    rendered = {}
    summaries = []
    for assignment_id in assignment_ids:
        assignment = bank.assignments[assignment_id]
        reports = {report.problem_id: report for report in run_qa(bank, count, assignment.problems)}
        problems = [problem_page_data(bank, bank.problems[pid], assignment_id, count, reports[pid])
                    for pid in assignment.problems]
        page = out_dir / f"{assignment_id}.html"
        rendered[page] = env.get_template("assignment.html.j2").render(
            course=bank.course, assignment=assignment, problems=problems, count=count)
        summaries.append({"assignment": assignment, "problems": problems, "file": page.name})
    index = out_dir / "index.html"
    rendered[index] = env.get_template("index.html.j2").render(course=bank.course, summaries=summaries, count=count)
    copy_katex(out_dir)
    for path, text in rendered.items():
        write_atomic(path, text)
    return [index, *(path for path in rendered if path != index)]
