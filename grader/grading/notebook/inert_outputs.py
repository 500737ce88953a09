"""Nothing a student wrote or printed reaches a page as live markup.

nbgrader's formgrader (the TAs' page of a submission) and its feedback exporter render the
autograded notebook with nbconvert's classic HTML template, and they put the student's rich
outputs (`text/html`, `application/javascript`, SVG, `text/markdown`, widget state) and markdown
and raw cells into the page unescaped: a `<script>` would run in the logged-in TA's page.
`KeepInertOutputs` runs on every autograded notebook after grading (pipeline.py, right after
GradeReportedAnswers) and leaves only what renders as text or as an image:

* outputs: `stream` and `error` as they are (the templates escape them); `display_data` and
  `execute_result` keep only `text/plain`, `image/png` and `image/jpeg` (image data only when it
  is base64), and of their metadata only the images' numeric width and height (the template puts
  them in an unquoted attribute). An output left with no data keeps its place as a text/plain
  note, "[text/html output removed by the grader]", so a TA sees that something was shown there.
  Every other output type (`update_display_data`, ...) is dropped. An execution count that is not
  a number (the student's kernel sends it; the template prints it unescaped, and nbconvert's schema
  check then refuses to render the whole notebook) becomes None.
* markdown and raw cells other than the instructor's: nbgrader's OverwriteCells restores a cell
  whose nbgrader metadata is `locked` and has a `grade_id` from the gradebook (it deletes the
  grade_id of a cell the gradebook does not know), so those cells are the instructor's text and
  are left byte-identical (their LaTeX holds `&` and `<`). Every other one is sanitized by
  nbconvert's SanitizeHTML (bleach): a tag outside bleach's short list is escaped to text, and so
  are event attributes and `javascript:` hrefs. It runs only on a source holding a `<`: without
  one there is no tag, and bleach would only re-escape `&` and `>` (breaking the student's LaTeX
  and quotes). Markdown's own syntax makes links and images that bleach never sees
  (`[x](javascript:...)`), so the sanitized cell is then rendered with nbconvert's markdown
  renderer, as the exporters render it; when the result holds anything but the tags and
  attributes markdown makes, or a URL whose scheme is not http, https or mailto (nor an attached
  PNG/JPEG), or does not render at all (a missing attachment stops nbconvert), the cell becomes
  its source (as the student wrote it) shown as text, in a fenced code block.
* sizes: one cell's outputs keep at most MAX_CELL_OUTPUT characters (nbgrader's LimitOutput counts
  lines; a thousand displays of a megabyte each made a 1 GB notebook), and a student's markdown or
  raw cell longer than MAX_CELL_TEXT is shown as text, cut, without sanitizing (bleach's cost grows
  faster than the number of tags: 240 KB of `<b>` took a minute).
* cell attachments keep only base64 PNG and JPEG images; notebook metadata loses `widgets` (the
  HTML templates load the widget manager for it and write its state into a script).
"""

import re
from html.parser import HTMLParser

from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

INERT_MIME_TYPES = ("text/plain", "image/png", "image/jpeg")
MAX_CELL_TEXT = 100_000          # characters of a student's markdown or raw cell (more: shown as text, cut)
MAX_CELL_OUTPUT = 4_000_000      # characters of one cell's outputs, images' base64 included
CUT_NOTE = "[cut by the grader: too long to show]"
IMAGE_MIME_TYPES = ("image/png", "image/jpeg")
IMAGE_SIZE_KEYS = ("width", "height")
RICH_OUTPUT_TYPES = ("display_data", "execute_result")
KEPT_AS_THEY_ARE = ("stream", "error")
SCRIPTING_NOTEBOOK_METADATA = ("widgets",)
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")

# What nbconvert's markdown renderer (mistune, pygments, nbconvert's heading anchors) and bleach's
# default allow list produce from a markdown cell; anything else sends the cell to a code block.
MARKDOWN_TAGS = frozenset("""
    a abbr acronym b blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img input li ol p
    pre span strong table tbody td th thead tr ul""".split())
MARKDOWN_ATTRIBUTES = frozenset("alt checked class disabled href id src start style title type".split())
URL_ATTRIBUTES = frozenset(("href", "src"))
SAFE_SCHEMES = frozenset(("http", "https", "mailto"))
EMBEDDED_IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,")
TABLE_ALIGNMENT = re.compile(r"text-align:\s*(left|right|center);?")
SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")    # browsers drop these from URLs before reading the scheme


def removed_note(mime_types) -> str:
    return f"[{', '.join(sorted(mime_types)) or 'empty'} output removed by the grader]"


def is_instructors_cell(cell) -> bool:
    """A cell nbgrader's OverwriteCells restored from the gradebook: locked, with a grade_id."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return nbgrader.get("locked") is True and bool(nbgrader.get("grade_id"))


def _text(value):
    """A mime bundle's value as one string (nbformat allows a list of lines), else None."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _image(value):
    text = _text(value)
    return text if text is not None and BASE64.fullmatch(text) else None


def inert_bundle(data) -> dict:
    """The text/plain and base64 PNG/JPEG entries of a mime bundle."""
    kept = {}
    for mime_type in INERT_MIME_TYPES:
        if mime_type in data:
            value = _image(data[mime_type]) if mime_type in IMAGE_MIME_TYPES else _text(data[mime_type])
            if value is not None:
                kept[mime_type] = value
    return kept


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def inert_output_metadata(metadata) -> dict:
    """Only the kept images' numeric width and height."""
    kept = {}
    for mime_type in IMAGE_MIME_TYPES:
        sizes = metadata.get(mime_type) if isinstance(metadata, dict) else None
        if isinstance(sizes, dict):
            sizes = {key: sizes[key] for key in IMAGE_SIZE_KEYS if _number(sizes.get(key))}
            if sizes:
                kept[mime_type] = sizes
    return kept


def execution_count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def inert_output(output):
    """The output as it may be shown, or None when nothing of it may."""
    output_type = output.get("output_type")
    if output_type in KEPT_AS_THEY_ARE:
        return output
    if output_type not in RICH_OUTPUT_TYPES:
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept = inert_bundle(data)
    if not kept:
        kept = {"text/plain": removed_note(data)}
    inert = NotebookNode(output_type=output_type, data=kept,
                         metadata=inert_output_metadata(output.get("metadata")))
    if output_type == "execute_result":
        inert.execution_count = execution_count(output.get("execution_count"))
    return inert


def within_size(outputs: list) -> list:
    """The outputs of one cell cut to MAX_CELL_OUTPUT characters in all (texts cut, later outputs and
    images that do not fit replaced by a note): nbgrader's LimitOutput counts lines, not characters."""
    kept, left = [], MAX_CELL_OUTPUT
    for output in outputs:
        texts = [("text", output.get("text"))] if output.get("output_type") == "stream" else \
            [(mime, value) for mime, value in output.get("data", {}).items()] if "data" in output else []
        size = sum(len(value) for _, value in texts if isinstance(value, str))
        if size <= left:
            kept.append(output)
            left -= size
            continue
        if output.get("output_type") == "stream" and isinstance(output.get("text"), str) and left > 0:
            output.text = output.text[:left] + f"\n{CUT_NOTE}\n"
            kept.append(output)
        else:
            kept.append(NotebookNode(output_type="stream", name="stdout", text=f"{CUT_NOTE}\n"))
        break
    return kept


def inert_attachments(attachments) -> dict:
    kept = {}
    for name, bundle in (attachments or {}).items():
        images = {mime_type: value for mime_type in IMAGE_MIME_TYPES
                  if isinstance(bundle, dict) and (value := _image(bundle.get(mime_type))) is not None}
        if images:
            kept[name] = images
    return kept


def render_markdown(source: str, attachments: dict) -> str:
    """The HTML nbconvert's HTMLExporter makes of a markdown cell (its markdown2html filter)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments)).render(source)


class _MarkupCheck(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.unsafe = []

    def handle_starttag(self, tag, attrs):
        if tag not in MARKDOWN_TAGS:
            self.unsafe.append(f"<{tag}>")
        for name, value in attrs:
            if name not in MARKDOWN_ATTRIBUTES:
                self.unsafe.append(f"{tag} {name}=")
            elif name in URL_ATTRIBUTES and not safe_url(value or "", image=tag == "img"):
                self.unsafe.append(f"{tag} {name}={value!r}")
            elif name == "style" and not TABLE_ALIGNMENT.fullmatch((value or "").strip()):
                self.unsafe.append(f"{tag} style={value!r}")

    handle_startendtag = handle_starttag


def safe_url(url: str, image: bool = False) -> bool:
    """A relative URL, or one with scheme http, https or mailto (or an embedded PNG/JPEG image)."""
    plain = URL_IGNORED.sub("", url).lower()
    if image and plain.startswith(EMBEDDED_IMAGES):
        return True
    scheme = SCHEME.match(plain)
    return scheme is None or scheme.group(1) in SAFE_SCHEMES


def unsafe_markup(html: str) -> list[str]:
    """What in rendered markdown is not plain markdown's own markup (empty when nothing)."""
    check = _MarkupCheck()
    check.feed(html)
    check.close()
    return check.unsafe


def as_code_block(source: str) -> str:
    """Markdown that shows `source` as text: a fenced block longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{source}\n{fence}"


class KeepInertOutputs(Preprocessor):
    """nbgrader preprocessor: the autograded notebook keeps only inert outputs and text (see above)."""

    enabled = Bool(True)       # nbconvert's preprocessors are off unless enabled

    def __init__(self, **kw):
        super().__init__(**kw)
        self.sanitizer = SanitizeHTML(parent=self)

    def preprocess(self, nb, resources):
        for key in SCRIPTING_NOTEBOOK_METADATA:
            nb.metadata.pop(key, None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if "execution_count" in cell:
            cell.execution_count = execution_count(cell.execution_count)
        if "outputs" in cell:
            cell.outputs = within_size([inert for output in cell.outputs if (inert := inert_output(output)) is not None])
        if "attachments" in cell:
            cell.attachments = inert_attachments(cell.attachments)
        if cell.cell_type in ("markdown", "raw") and not is_instructors_cell(cell):
            if len(cell.source) > MAX_CELL_TEXT:       # sanitizing is superlinear in the tags: text, cut
                cell.source = as_code_block(cell.source[:MAX_CELL_TEXT]) + f"\n\n{CUT_NOTE}"
                return cell, resources
            sanitized = self.sanitized(cell.source)
            if cell.cell_type == "markdown" and self.unsafe_when_rendered(sanitized, cell.get("attachments", {})):
                sanitized = as_code_block(cell.source)
            cell.source = sanitized
        return cell, resources

    def sanitized(self, source: str) -> str:
        return self.sanitizer.sanitize_html_tags(source) if "<" in source else source

    def unsafe_when_rendered(self, source: str, attachments: dict) -> bool:
        try:
            unsafe = unsafe_markup(render_markdown(source, attachments))
        except Exception as exc:   # noqa: BLE001 (nbconvert would fail the same way on the whole page)
            unsafe = [f"does not render: {exc}"]
        if unsafe:
            self.log.info("A markdown cell is shown as text: %s", "; ".join(unsafe[:3]))
        return bool(unsafe)
