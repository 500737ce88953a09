"""The bank's Markdown and LaTeX as HTML with MathML, made when a page is built: no script, no CDN.

The student's feedback page shows each problem's prompt, hints and misconception feedback as the
notebook shows them (tables, lists, emphasis, typeset formulas), and must work offline, from a file
and pasted inside an LMS; browsers render MathML themselves. `$$…$$` is display math and `$…$`
inline math, as in questions.yaml (`\\$` is a dollar sign). Formulas are cut out before the
Markdown pass, so `_`, `*`, `\\\\` and `|` inside them are never read as Markdown.

Nothing here may let text inject markup, not even the bank's: markdown-it runs with raw HTML off
and without images or links (a page loads nothing and leads nowhere), and every formula's MathML is checked element by
element against MathML's presentation elements and their plain attributes, with every text escaped
(latex2mathml writes `\\text{<b>}` and `\\href{...}` through as they are). A formula that
latex2mathml cannot convert, or converts to something else (an unknown command comes out as
`<mi>\\foo</mi>`), is shown as its LaTeX source, escaped, in `<code class="tex">`.
"""

import html
import re
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markupsafe import Markup

DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.DOTALL)
# one paragraph at most: an unmatched `$` never swallows the text after a blank line
INLINE_MATH = re.compile(r"(?<!\\)\$(?!\$)((?:\\.|[^$\\\n]|\n(?!\s*\n))+?)\$")
# a placeholder markdown-it leaves alone (private-use characters, never in the bank's text)
PIECE, PIECE_END = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{PIECE}(\\d+){PIECE_END}")

# no raw HTML; no image, link or autolink either: the page loads nothing and leads nowhere
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["image", "link", "autolink"])

MATHML_ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "mtext", "ms", "mspace", "msub", "msup", "msubsup", "mfrac",
    "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded",
    "mphantom", "menclose", "semantics", "annotation",
})
MATHML_ATTRIBUTES = frozenset({
    "xmlns", "display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "mathcolor",
    "stretchy", "fence", "separator", "symmetric", "largeop", "movablelimits", "accent", "accentunder",
    "minsize", "maxsize", "lspace", "rspace", "form", "width", "height", "depth", "voffset",
    "linethickness", "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines",
    "rowlines", "frame", "framespacing", "notation", "encoding", "columnspan", "rowspan",
})
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
# MathML 3's named spaces (latex2mathml writes `\!` as one): Chromium's MathML Core knows only lengths
NAMED_SPACES = {"negativeveryverythinmathspace": "-0.0556em", "negativeverythinmathspace": "-0.1111em",
                "negativethinmathspace": "-0.1667em", "negativemediummathspace": "-0.2222em",
                "negativethickmathspace": "-0.2778em", "negativeverythickmathspace": "-0.3333em",
                "veryverythinmathspace": "0.0556em", "verythinmathspace": "0.1111em",
                "thinmathspace": "0.1667em", "mediummathspace": "0.2222em", "thickmathspace": "0.2778em",
                "verythickmathspace": "0.3333em", "veryverythickmathspace": "0.3889em"}


class NotConverted(ValueError):
    """latex2mathml could not give safe MathML for a formula."""


def _text(value: str | None) -> str:
    # latex2mathml leaves its symbols as character references ("&#x000D7;") and the rest as typed
    text = html.unescape(value or "")
    if "\\" in text:                     # an unknown command, written through as `\foo`
        raise NotConverted(f"unknown command in {text!r}")
    return html.escape(text, quote=False)


def _serialize(element: Element) -> str:
    if element.tag not in MATHML_ELEMENTS:
        raise NotConverted(f"<{element.tag}> is not a MathML presentation element")
    attributes = []
    for name, value in element.attrib.items():
        if name not in MATHML_ATTRIBUTES:
            raise NotConverted(f"attribute {name!r} of <{element.tag}>")
        if name == "xmlns" and value != MATHML_NS:
            raise NotConverted(f"namespace {value!r}")
        value = NAMED_SPACES.get(value, value)
        attributes.append(f' {name}="{html.escape(value, quote=True)}"')
    inside = _text(element.text) + "".join(_serialize(child) + _text(child.tail) for child in element)
    return f"<{element.tag}{''.join(attributes)}>{inside}</{element.tag}>"


OPENING_FENCES, CLOSING_FENCES = set("([{|\u2016"), set(")]}|\u2016")


def _is_fence(node: Element, fences: set) -> bool:
    return node.tag == "mo" and html.unescape(node.text or "") in fences and not (node.tail or "").strip()


def _fence_matrices(element: Element) -> None:
    """`[`, a matrix, `]` in their own <mrow>, stretchy: latex2mathml writes a bmatrix's brackets as
    plain operators among the formula's others, where MathML Core gives them the height of one line."""
    children = list(element)
    alone = len(children) == 3 and element.tag == "mrow"
    kept, index = [], 0
    while index < len(children):
        opening, table, closing = (children[index:index + 3] + [None, None])[:3]
        if (table is not None and closing is not None and table.tag == "mtable"
                and _is_fence(opening, OPENING_FENCES) and _is_fence(closing, CLOSING_FENCES)):
            opening.attrib.update({"stretchy": "true", "fence": "true", "form": "prefix"})
            closing.attrib.update({"stretchy": "true", "fence": "true", "form": "postfix"})
            if not alone:
                group = Element("mrow")
                group.extend([opening, table, closing])
                kept.append(group)
            else:
                kept.extend([opening, table, closing])
            index += 3
        else:
            kept.append(children[index])
            index += 1
    for child in children:
        element.remove(child)
    element.extend(kept)
    for child in element:
        _fence_matrices(child)


def formula_mathml(latex: str, display: bool = False) -> str:
    """One formula as MathML (NotConverted when latex2mathml cannot convert it safely)."""
    try:
        root = convert_to_element(latex.strip(), display="block" if display else "inline")
    except Exception as error:           # latex2mathml raises many kinds on input it cannot parse
        raise NotConverted(f"{type(error).__name__}: {error}") from error
    _fence_matrices(root)
    return _serialize(root)


def formula_html(latex: str, display: bool = False) -> str:
    """A formula as MathML, or as its escaped LaTeX source in <code class="tex"> when it cannot be."""
    try:
        return formula_mathml(latex, display)
    except NotConverted:
        delimiter = "$$" if display else "$"
        return f'<code class="tex">{html.escape(delimiter + latex + delimiter, quote=False)}</code>'


def formulas(text: str) -> list[tuple[str, bool]]:
    """[(LaTeX, display?)] of a Markdown text, in the order the renderer reads them."""
    found = [(m.group(1), True) for m in DISPLAY_MATH.finditer(text)]
    rest = DISPLAY_MATH.sub(" ", text)
    return found + [(m.group(1), False) for m in INLINE_MATH.finditer(rest)]


def _with_math(text: str, render) -> Markup:
    pieces: list[str] = []

    def stash(display: bool):
        def replace(match: re.Match) -> str:
            pieces.append(formula_html(match.group(1), display))
            return f"{PIECE}{len(pieces) - 1}{PIECE_END}"
        return replace

    text = str(text).replace(PIECE, "").replace(PIECE_END, "")     # only our placeholders hold them
    text = INLINE_MATH.sub(stash(False), DISPLAY_MATH.sub(stash(True), text))
    return Markup(_PLACEHOLDER.sub(lambda match: pieces[int(match.group(1))], render(text)))


def markdown_math(text: str) -> Markup:
    """Markdown with `$…$` and `$$…$$` math as HTML (block elements: paragraphs, lists, tables)."""
    return _with_math(text, _MARKDOWN.render)


def markdown_math_inline(text: str) -> Markup:
    """A short text (a hint, a misconception's feedback) as inline HTML: emphasis, code and math,
    no paragraph, list or table (it sits inside the page's own paragraph)."""
    return _with_math(text, lambda source: _MARKDOWN.renderInline(source).strip())
