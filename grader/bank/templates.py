"""Prompts: a sandboxed Jinja2 environment with the `latex` and `py` filters.

`render_prompt(problem, values)` fills a problem's prompt with a variant's values;
`python_literal(value)` writes a value as deterministic Python source (the renderer's
input cells use it, and so does the `py` filter).
"""

import functools
import math
import re
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox
import numpy as np


def _float_literal(value: Any) -> Any:
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(float(value))


def _scalar(value: Any) -> Any:
    """numpy scalars and 0-d arrays as Python scalars; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def python_literal(value: Any) -> Any:
    """Python source that evaluates (with `import numpy as np`) to `value`; same value -> same text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, np.ndarray):
        return _array_literal(value)
    if isinstance(value, tuple):
        items = [python_literal(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(python_literal(item) for item in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        if not value:
            return "set()"
        return "{" + ", ".join(sorted(python_literal(item) for item in value)) + "}"
    raise TypeError(f"no Python literal for a value of type {type(value).__name__}")


def _array_literal(array: Any) -> Any:
    if array.dtype == bool:
        body = python_literal(array.tolist())
        return f"np.array({body})" if array.size else f"np.zeros({array.shape!r}, dtype=bool)"
    if np.issubdtype(array.dtype, np.integer):
        return f"np.array({python_literal(array.tolist())})" if array.size else f"np.zeros({array.shape!r}, dtype=int)"
    if np.issubdtype(array.dtype, np.floating):
        if not array.size:
            return f"np.zeros({array.shape!r})"
        return f"np.array({python_literal(array.astype(float).tolist())})"
    return f"np.array({python_literal(array.tolist())})"


def _latex_number(value: Any) -> Any:
    if isinstance(value, bool):
        return rf"\text{{{value}}}"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return r"\mathrm{NaN}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "&": r"\&",
                   "%": r"\%", "$": r"\$", "#": r"\#", "^": r"\^{}", "~": r"\~{}"}


def latex(value: Any) -> Any:
    """A number, vector, matrix, string or tuple as LaTeX (math mode)."""
    value = _scalar(value)
    if isinstance(value, str):
        return r"\text{" + "".join(_LATEX_SPECIALS.get(ch, ch) for ch in value) + "}"
    if isinstance(value, (bool, int, float)):
        return _latex_number(value)
    if isinstance(value, tuple):
        return r"\left(" + ", ".join(latex(item) for item in value) + r"\right)"
    if isinstance(value, (list, np.ndarray)):
        array = np.asarray(value, dtype=object)
        if array.ndim == 1:
            return r"\begin{bmatrix} " + " & ".join(latex(item) for item in array) + r" \end{bmatrix}"
        if array.ndim == 2:
            rows = (" & ".join(latex(item) for item in row) for row in array)
            return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"
        return r"\left(" + ", ".join(latex(item) for item in array) + r"\right)"
    if value is None:
        return r"\text{None}"
    raise TypeError(f"latex: cannot format a value of type {type(value).__name__}")


def _make_environment() -> Any:
    env = jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["latex"] = latex
    env.filters["py"] = python_literal
    return env


ENVIRONMENT = _make_environment()


def prompt_names(prompt: Any) -> Any:
    """The variables a prompt uses (raises jinja2.TemplateSyntaxError when it does not parse)."""
    return jinja2.meta.find_undeclared_variables(ENVIRONMENT.parse(prompt))


_ASSIGNED = re.compile(r"=\s*\{\{\s*([A-Za-z_]\w*)\s*(?:\[\s*\d+\s*\])?\s*\|\s*latex\s*\}\}")
_SYMBOL_STOPS = ("\\qquad", "\\quad", "\\ ", "\\,")
_PLAIN_SYMBOL = re.compile(r"^\\(?:text|mathrm|mathit)\{(\w+)\}$|^\\?(\w+)$")


@functools.lru_cache(maxsize=1024)
def prompt_symbols(prompt: str) -> dict[str, list[str]]:
    """{variable: the LaTeX symbols the prompt gives it}, from the prompt's `SYMBOL = {{ name | latex }}`
    (`$a = {{ x | latex }}$` gives x the symbol a; `F_0 = {{ F[0] | latex }}` ... gives F several).
    The symbol is what stands left of `=` back to `$`, a comma, a newline or a LaTeX space (\\quad)."""
    found: dict[str, list[str]] = {}
    for match in _ASSIGNED.finditer(prompt):
        start, depth = match.start(), 0
        while start > 0:
            char = prompt[start - 1]
            if char == "}":
                depth += 1
            elif char == "{":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (char in "$,\n" or prompt.endswith(_SYMBOL_STOPS, 0, start)):
                break
            start -= 1
        symbol = prompt[start:match.start()].strip()
        if symbol and symbol not in found.get(match.group(1), []):
            found.setdefault(match.group(1), []).append(symbol)
    return found


def symbol_is_name(symbol: str, name: str) -> bool:
    """The symbol spells the variable's own name ($x$, $\\gamma$, $\\text{boxes}$, $W_f$)."""
    plain = _PLAIN_SYMBOL.match(symbol)
    return symbol == name or (plain is not None and name in plain.groups())


@functools.lru_cache(maxsize=1024)
def _template(prompt: Any) -> Any:
    return ENVIRONMENT.from_string(prompt)


def render_text(prompt: Any, values: Any) -> Any:
    return _template(prompt).render(**values)


def render_prompt(problem: Any, values: Any) -> Any:
    """The problem's prompt filled with a variant's values (Markdown with LaTeX)."""
    return render_text(problem.prompt, values)
