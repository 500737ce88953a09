"""Canvas QTI 1.2: a zip (imsmanifest.xml + one assessment) that Canvas imports as a quiz with one
question group per problem ("pick 1" of its N pre-drawn variants, the problem's points per question).

Why not text2qti: it was evaluated (0.8.0) and does not fit. Its numerical answers are written with
four decimals (`{min:.4f}`), which breaks tolerances such as ±1e-6 or ±0.1 % of 0.0123; a numerical
question holds one answer and one incorrect-feedback text, with no per-misconception feedback; and
its LaTeX becomes Canvas equation images that need an institution's rendering URL (or Pandoc). It
also writes its XML from string templates. So this module builds the same Canvas QTI 1.2 dialect
(the structure text2qti and Canvas' own exports use) with lxml.

What Canvas Classic Quizzes can grade, per kind (`QTI_BY_KIND`):

- numeric  -> `numerical_question`, "exact answer with margin": accepted when
  answer − margin ≤ x ≤ answer + margin (Canvas compares in BigDecimal, ends included); margin is
  the engine's rule as an absolute tolerance (`common.nominal_tolerance`). Canvas gives full credit
  to any matching numerical answer and has no partial credit for them, so misconception values are
  not answers: their feedback is listed in the question's incorrect-answer feedback and their
  partial credit is lost (the export lists the problems where that happens).
- choice   -> `multiple_choice_question` (one answer: all or nothing) or
  `multiple_answers_question` (Canvas: (right − wrong)/number correct, at least 0 — the engine's
  `partial` rule); each misconception's feedback on its option. Every possible pick is graded both
  ways and the export stops, naming the problem, where Canvas' grade would differ.
- array, table -> skipped: Canvas has no question with several numeric fields and tolerances
  (fill-in-multiple-blanks compares text).
- function -> skipped: Canvas cannot run a student's Python function.

Checks before the deadline and dates (the bank's `attempts:` and `dates:`, `canvas_attempts`): a
Canvas Classic Quiz has no check of one question; its attempts are whole-quiz attempts, each graded
and shown to the student on submission, each drawing its own variant from every question group. The
nearest thing to "N checks, then the submission" (N + 1 tries of each answer, the last one graded
without a check) is N + 1 quiz attempts, so the quiz allows the assignment's `checks` + 1 attempts (1
without checks, as before): `cc_maxattempts` in the assessment's qtimetadata, which Canvas' QTI
importer reads as the quiz's allowed attempts. Canvas keeps one policy per quiz: a problem whose own
`checks` differ from its assignment's, the credit list (Canvas keeps the highest attempt, whole), and
the reveal levels are not carried, and the export says so (`canvas_policy_notes`).

With more than one attempt or with `dates:`, the package also holds Canvas' quiz settings file,
`<assessment>/assessment_meta.xml` (the file Canvas' own QTI export writes, which its importer reads
for a resource of type "…learning-application-resource" at that path): `allowed_attempts` (the same
number), `due_at` (the due date), `lock_at` (when the late timeline ends: the due date plus the last
late step), `quiz_type` assignment (a graded quiz, so that the dates belong to its assignment),
`points_possible`, `scoring_policy` keep_highest, and with checks `show_correct_answers` false (an
attempt never shows the expected values). Dates are written in UTC, as Canvas writes them. Canvas'
importer sets every field of that file it finds missing to nothing, so the file states them all.
Without checks or dates the package is what it was: no settings file, one attempt.

The IMS QTI 1.2 XSD (ims_qtiasiv1p2p1.xsd) ships in no PyPI, npm or Debian package we could find,
so the tests check the structure Canvas' importer reads instead of validating against the XSD.
"""

import datetime as dt
import hashlib
import html
import zipfile
from io import BytesIO

from lxml import etree

from grader.kinds.choice import as_key_set
from grader.kinds.rules import rule_for

from .common import (
    ExportError,
    Skip,
    draw_variants,
    hints_html,
    inline_html,
    is_finite_number,
    misconception_values,
    nominal_tolerance,
    number_text,
    option_feedback,
    percents,
    policy_of,
    prompt_html,
    quiz_rules,
    refuse_unless_same_grades,
    window,
)

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI_SCHEMA = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2 http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
CANVAS_SCHEMA = "http://canvas.instructure.com/xsd/cccv1p0 https://canvas.instructure.com/xsd/cccv1p0.xsd"
ASSESSMENT_META = "assessment_meta.xml"
META_RESOURCE_TYPE = "associatedcontent/imscc_xmlv1p1/learning-application-resource"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # fixed: the same bank gives the same bytes


def ident(*parts):
    """A stable identifier (Canvas keeps it as the migration id)."""
    return "g" + hashlib.sha256("/".join(parts).encode("utf-8")).hexdigest()[:32]


def _sub(parent, tag, text=None, **attributes):
    element = etree.SubElement(parent, tag, **attributes)
    if text is not None:
        element.text = text
    return element


def _metadata(item, question_type, points, answer_ids):
    fields = _sub(_sub(item, "itemmetadata"), "qtimetadata")
    for label, entry in (("question_type", question_type), ("points_possible", number_text(points)),
                         ("original_answer_ids", ",".join(answer_ids)),
                         ("assessment_question_identifierref", item.get("ident") + "_ref")):
        field = _sub(fields, "qtimetadatafield")
        _sub(field, "fieldlabel", label)
        _sub(field, "fieldentry", entry)


def _material(parent, html_text):
    _sub(_sub(parent, "material"), "mattext", html_text, texttype="text/html")


def _feedback(item, feedback_id, html_text):
    flow = _sub(_sub(item, "itemfeedback", ident=feedback_id), "flow_mat")
    _material(flow, html_text)


def _show_feedback(resprocessing, feedback_id, condition=None):
    """A respcondition that only shows feedback: for `condition` (an element maker) or any answer."""
    respcondition = _sub(resprocessing, "respcondition", **{"continue": "Yes"})
    conditionvar = _sub(respcondition, "conditionvar")
    if condition is None:
        _sub(conditionvar, "other")
    else:
        condition(conditionvar)
    _sub(respcondition, "displayfeedback", feedbacktype="Response", linkrefid=feedback_id)


def _resprocessing(item):
    resprocessing = _sub(item, "resprocessing")
    _sub(_sub(resprocessing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE",
         vartype="Decimal")
    return resprocessing


def _set_correct(resprocessing, condition):
    respcondition = _sub(resprocessing, "respcondition", **{"continue": "No"})
    condition(_sub(respcondition, "conditionvar"))
    _sub(respcondition, "setvar", "100", action="Set", varname="SCORE")
    _sub(respcondition, "displayfeedback", feedbacktype="Response", linkrefid="correct_fb")


def _item(problem, variant):
    item = etree.Element("item", ident=ident(problem.id, variant.key), title=f"{problem.id} {variant.key}")
    return item


def _question_html(problem, variant):
    return f"<h4>{html.escape(problem.title)}</h4>\n" + prompt_html(problem, variant.values)


# --- numeric ----------------------------------------------------------------------------------

def numerical_item(problem, variant):
    if not is_finite_number(variant.expected):
        raise ExportError(f"problem '{problem.id}': variant {variant.key} has no finite numeric answer")
    item = _item(problem, variant)
    answer_id = item.get("ident") + "_answer"
    _metadata(item, "numerical_question", problem.points, [answer_id])
    presentation = _sub(item, "presentation")
    _material(presentation, _question_html(problem, variant))
    response = _sub(presentation, "response_str", ident="response1", rcardinality="Single")
    _sub(_sub(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")

    centre, margin = nominal_tolerance(rule_for(problem.compare, variant.expected), variant.expected)
    low, high = window(centre, margin)

    def within(conditionvar):
        either = _sub(conditionvar, "or")
        _sub(either, "varequal", number_text(centre), respident="response1")
        both = _sub(either, "and")
        _sub(both, "vargte", number_text(low), respident="response1")
        _sub(both, "varlte", number_text(high), respident="response1")

    resprocessing = _resprocessing(item)
    _set_correct(resprocessing, within)
    _show_feedback(resprocessing, "general_incorrect_fb")
    _feedback(item, "correct_fb", "Correct.")
    mistakes = [m.feedback for m, value in misconception_values(problem, variant.values) if is_finite_number(value)]
    listed = "".join(f"<li>{html.escape(text, quote=False)}</li>" for text in dict.fromkeys(mistakes))
    _feedback(item, "general_incorrect_fb", "<p>Not within the tolerance.</p>"
              + (f"<p>Common mistakes:</p><ul>{listed}</ul>" if listed else "") + hints_html(problem))
    return item


# --- choice -----------------------------------------------------------------------------------

def canvas_choice_grade(correct, picked, multiple):
    """Canvas Classic Quizzes: one answer -> all or nothing; several -> (right − wrong)/n, at least 0."""
    if not multiple:
        return 1.0 if picked == correct else 0.0
    return max(0.0, (len(picked & correct) - len(picked - correct)) / len(correct))


def choice_item(problem, variant):
    correct = as_key_set(problem.answer.evaluate(variant.values))
    refuse_unless_same_grades(problem, variant.values,
                              lambda picked: canvas_choice_grade(correct, picked, problem.multiple), "Canvas")
    item = _item(problem, variant)
    option_id = {key: f"{item.get('ident')}_{index}" for index, key in enumerate(problem.options)}
    question_type = "multiple_answers_question" if problem.multiple else "multiple_choice_question"
    _metadata(item, question_type, problem.points, list(option_id.values()))
    presentation = _sub(item, "presentation")
    _material(presentation, _question_html(problem, variant))
    response = _sub(presentation, "response_lid", ident="response1",
                    rcardinality="Multiple" if problem.multiple else "Single")
    choices = _sub(response, "render_choice")
    for key, text in problem.options.items():
        label = _sub(choices, "response_label", ident=option_id[key])
        _material(label, f"<b>{html.escape(key)}.</b> " + inline_html(text))

    feedback = option_feedback(problem, correct)
    resprocessing = _resprocessing(item)
    for key, texts in feedback.items():
        if texts:
            _show_feedback(resprocessing, f"{option_id[key]}_fb",
                           lambda var, key=key: _sub(var, "varequal", option_id[key], respident="response1"))

    def all_correct(conditionvar):
        if not problem.multiple:
            _sub(conditionvar, "varequal", option_id[next(iter(correct))], respident="response1")
            return
        both = _sub(conditionvar, "and")
        for key in problem.options:
            parent = both if key in correct else _sub(both, "not")
            _sub(parent, "varequal", option_id[key], respident="response1")

    _set_correct(resprocessing, all_correct)
    _show_feedback(resprocessing, "general_incorrect_fb")
    _feedback(item, "correct_fb", "Correct.")
    _feedback(item, "general_incorrect_fb", "<p>Not the correct option" + ("s" if problem.multiple else "")
              + ".</p>" + hints_html(problem))
    for key, texts in feedback.items():
        if texts:
            _feedback(item, f"{option_id[key]}_fb", html.escape(" ".join(texts), quote=False))
    return item


def several_fields_skipped(problem, variant):
    raise Skip("Canvas has no question with several numeric fields and tolerances "
               "(fill-in-multiple-blanks compares text)")


def function_skipped(problem, variant):
    raise Skip("Canvas cannot run a student's Python function: grade it in the notebook")


QTI_BY_KIND = {
    "numeric": numerical_item,
    "choice": choice_item,
    "array": several_fields_skipped,
    "table": several_fields_skipped,
    "function": function_skipped,
}


# --- the package ------------------------------------------------------------------------------

def _question_type(item):
    return item.find("itemmetadata/qtimetadata/qtimetadatafield/fieldentry").text


def _group(problem, items):
    section = etree.Element("section", ident=ident("group", problem.id), title=problem.title)
    selection = _sub(_sub(section, "selection_ordering"), "selection")
    _sub(selection, "selection_number", "1")
    _sub(_sub(selection, "selection_extension"), "points_per_item", number_text(problem.points))
    section.extend(items)
    return section


def assessment_xml(title, assessment_id, groups, attempts=1):
    root = etree.Element("questestinterop", nsmap={None: QTI_NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", QTI_SCHEMA)
    assessment = _sub(root, "assessment", ident=assessment_id, title=title)
    field = _sub(_sub(assessment, "qtimetadata"), "qtimetadatafield")
    _sub(field, "fieldlabel", "cc_maxattempts")
    _sub(field, "fieldentry", str(attempts))
    root_section = _sub(assessment, "section", ident="root_section")
    root_section.extend(groups)
    _qualify(root, QTI_NS)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _qualify(root, namespace):
    """Put every unqualified element in the default namespace (built without prefixes above)."""
    for element in root.iter():
        if isinstance(element.tag, str) and not element.tag.startswith("{"):
            element.tag = f"{{{namespace}}}{element.tag}"


def manifest_xml(assessment_id, with_meta=False):
    root = etree.Element("manifest", identifier=ident("manifest", assessment_id), nsmap={None: CP_NS})
    metadata = _sub(root, "metadata")
    _sub(metadata, "schema", "IMS Content")
    _sub(metadata, "schemaversion", "1.1.3")
    _sub(root, "organizations")
    resources = _sub(root, "resources")
    resource = _sub(resources, "resource", identifier=assessment_id, type="imsqti_xmlv1p2")
    _sub(resource, "file", href=f"{assessment_id}/{assessment_id}.xml")
    if with_meta:
        meta_id = ident("meta", assessment_id)
        _sub(resource, "dependency", identifierref=meta_id)
        meta = _sub(resources, "resource", identifier=meta_id, type=META_RESOURCE_TYPE,
                    href=f"{assessment_id}/{ASSESSMENT_META}")
        _sub(meta, "file", href=f"{assessment_id}/{ASSESSMENT_META}")
    _qualify(root, CP_NS)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- checks before the deadline and dates ------------------------------------------------------

def canvas_attempts(policy):
    """A Canvas quiz's allowed attempts for an assignment's `attempts:` (grader.bank.policy.CheckPolicy).

    Canvas attempts are whole-quiz attempts, each graded on submission with its own variants; the
    notebook's problem allows `checks` checks and then the submission, which counts as one more try.
    So: checks + 1 attempts, and 1 (today's value) without checks."""
    return policy.checks + 1 if policy.checks > 0 else 1


def canvas_time(when):
    """A timezone-aware datetime as Canvas' export writes one: UTC, to the second, no offset."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def meta_xml(title, assessment_id, rules, attempts, points):
    """Canvas' assessment_meta.xml: the quiz settings its QTI importer reads next to the assessment."""
    root = etree.Element("quiz", identifier=assessment_id, nsmap={None: CANVAS_NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", CANVAS_SCHEMA)
    _sub(root, "title", title)
    if rules.dates is not None:
        _sub(root, "due_at", canvas_time(rules.dates.due))
        _sub(root, "lock_at", canvas_time(rules.dates.closes()))
    _sub(root, "quiz_type", "assignment")
    _sub(root, "points_possible", number_text(points))
    _sub(root, "scoring_policy", "keep_highest")
    _sub(root, "allowed_attempts", str(attempts))
    if attempts > 1:
        _sub(root, "show_correct_answers", "false")
    _qualify(root, CANVAS_NS)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def canvas_policy_notes(bank, selection, exported):
    """Lines for the export's output: what of the bank's checks and dates a Canvas quiz cannot carry.
    Empty without checks and dates."""
    notes = []
    chosen = set(exported)
    policies = [(problem.id, policy_of(bank, assignment_id, problem)) for assignment_id, problem in selection.items
                if problem.id in chosen]
    rules = quiz_rules(bank, selection)
    if rules is None:
        checked = [problem_id for problem_id, policy in policies if policy.checks > 0]
        if checked:
            notes.append(f"the problems come from several assignments, and a Canvas quiz has one number of "
                         f"attempts: the quiz allows 1, and the checks of {', '.join(checked)} are not exported")
        return notes
    quiz = rules.attempts
    attempts = canvas_attempts(quiz)
    if attempts > 1:
        notes.append(f"Canvas attempts are whole-quiz attempts: the quiz allows {attempts} ({quiz.checks} checks and "
                     f"the submission), each graded on submission and each drawing other variants of every problem; "
                     f"correct answers are not shown")
        if any(share < 1 for share in quiz.credit[:attempts]):
            notes.append(f"Canvas keeps the highest attempt whole, so the credit list ({percents(quiz.credit)} by the "
                         f"try an answer is first right at) is not applied: an answer right at a later attempt "
                         f"keeps all its points in Canvas")
    differ = [f"{problem_id} ({policy.checks})" for problem_id, policy in policies if policy.checks != quiz.checks]
    if differ:
        notes.append(f"a Canvas quiz has one number of attempts, from the assignment's checks ({quiz.checks}): the "
                     f"problems' own checks of {', '.join(differ)} are not exported")
    if rules.dates is not None:
        dates = rules.dates
        notes.append(f"Canvas quiz due {canvas_time(dates.due)} UTC, locked at {canvas_time(dates.closes())} UTC "
                     f"(the end of the late timeline); "
                     + ("Canvas' deduction for late work is the course's late policy, not the quiz's: the late "
                        "steps are not exported, and " if dates.late else "")
                     + "after the lock the quiz closes (no practice on fresh numbers)")
    return notes


def _zip(files):
    stream = BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return stream.getvalue()


def export_qti(bank, selection, count):
    """(zip bytes, exported problem ids, [(skipped id, reason)], [ids whose misconception credit is lost]).
    The quiz's attempts and dates follow the assignment's `attempts:` and `dates:` (module docstring)."""
    groups, exported, skipped, credit_lost = [], [], [], []
    for assignment_id, problem in selection.items:
        convert = QTI_BY_KIND[problem.kind]
        try:
            items = [convert(problem, variant) for variant in draw_variants(bank, problem, assignment_id, count)]
        except Skip as reason:
            skipped.append((problem.id, str(reason)))
            continue
        groups.append(_group(problem, items))
        exported.append(problem.id)
        if _question_type(items[0]) == "numerical_question" and any(m.credit for m in problem.misconceptions):
            credit_lost.append(problem.id)
    assessment_id = ident("assessment", selection.title)
    rules = quiz_rules(bank, selection)
    attempts = canvas_attempts(rules.attempts) if rules is not None else 1
    with_meta = rules is not None and (attempts > 1 or rules.dates is not None)
    files = [("imsmanifest.xml", manifest_xml(assessment_id, with_meta)),
             (f"{assessment_id}/{assessment_id}.xml",
              assessment_xml(selection.title, assessment_id, groups, attempts))]
    if with_meta:
        points = sum(problem.points for _, problem in selection.items if problem.id in exported)
        files.append((f"{assessment_id}/{ASSESSMENT_META}",
                      meta_xml(selection.title, assessment_id, rules, attempts, points)))
    return _zip(files), exported, skipped, credit_lost
