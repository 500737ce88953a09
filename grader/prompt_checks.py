"""Prompts a student can act on, checked on the rendered text of every problem of every assignment.

* no code in prose: a value is shown as math ($...$) or given in the inputs cell, never as
  `np.array([...])` or a Python list in a sentence;
* every array the prompt shows (4 numbers or more) is also defined in the inputs cell, so that no
  one retypes it;
* the inputs cell names each datum with the prompt's own symbol: an input `z` while the prompt's
  math writes `Z` (and never `z`) is an error;
* every variable of the inputs cell is one the prompt shows: it gives it a symbol
  (`$a = {{ x | latex }}$`, then the cell's line says "`x` ($a$)"), or names it in its math, code or
  prose. A variable the student cannot match with the prompt is an error.

`python -m grader validate` runs these; each finding names the bank file, the problem's line,
the problem and the assignment.
"""

import re
from dataclasses import dataclass

import numpy as np

from grader.bank.templates import prompt_names, prompt_symbols
from grader.render import INPUTS_LINE, problem_variants, prompt_markdown

MIN_SHOWN_ARRAY = 4
_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
_CODE_IN_PROSE = re.compile(r"\bnp\.|\barray\(|\[\s*-?\d+(?:\.\d+)?\s*,")
_SYMBOL = re.compile(r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])")


@dataclass(frozen=True)
class PromptFinding:
    problem: str
    assignment: str
    message: str


def _prose(markdown: str) -> str:
    return _MATH.sub(" ", _CODE.sub(" ", markdown))


def _math_symbols(markdown: str) -> set[str]:
    """Single-letter symbols written in the prompt's math (not LaTeX commands)."""
    return {symbol for segment in _MATH.findall(_CODE.sub(" ", markdown)) for symbol in _SYMBOL.findall(segment)}


def _is_shown_array(value) -> bool:
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:
            return False
    return isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size >= MIN_SHOWN_ARRAY


def variant_findings(variant, assignment_id: str) -> list[PromptFinding]:
    problem = variant.problem
    found = []

    def finding(message):
        found.append(PromptFinding(problem.id, assignment_id, message))

    markdown = prompt_markdown(variant)
    code = _CODE_IN_PROSE.search(_prose(markdown))
    if code:
        finding(f"code in the prose near {_prose(markdown)[max(0, code.start() - 20):code.end() + 20].strip()!r}; "
                f"show values as math (`| latex`) or give them in the inputs cell")
    for name in sorted(prompt_names(problem.prompt) & set(variant.values)):
        if name not in problem.inputs and _is_shown_array(variant.values[name]):
            finding(f"the prompt shows the array {name!r} but the inputs cell does not define it "
                    f"(add it to `inputs:`)")
    symbols = _math_symbols(markdown)
    given = prompt_symbols(problem.prompt)
    body = markdown.split(INPUTS_LINE)[0]
    for name in problem.inputs:
        if len(name) == 1 and name.swapcase() in symbols and name not in symbols:
            finding(f"the inputs cell defines {name!r} but the prompt's math calls it {name.swapcase()!r}; "
                    f"use one symbol")
        elif name not in given and not _names(body, name):
            finding(f"the inputs cell defines {name!r} but the prompt never shows it; write its value as "
                    f"`SYMBOL = {{{{ {name} | latex }}}}` or name it in the prompt")
    return found


def _names(markdown: str, name: str) -> bool:
    """`name` appears in the markdown's code, its math (subscripts flattened, LaTeX commands as
    words) or its prose, as a whole word."""
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    math = " ".join(re.sub(r"_\{([^}]*)\}", r"_\1", segment).replace("\\", " ")
                    for segment in _MATH.findall(_CODE.sub(" ", markdown)))
    return any(word.search(text) for text in (" ".join(_CODE.findall(markdown)), math, _prose(markdown)))


def prompt_findings(bank) -> list[PromptFinding]:
    """Every finding, for every problem as each of its assignments renders it."""
    found = []
    for assignment_id in bank.assignments:
        for variant in problem_variants(bank, assignment_id):
            found += variant_findings(variant, assignment_id)
    return found
