"""ELEN 521 grader: the solution engine, the question bank, and nbgrader-based grading.

Layers, lowest first (a layer imports only the ones before it; import-linter checks it, see
[tool.importlinter] in pyproject.toml and docs/architecture.md):
engine → bank model → kinds → bank loader → variants → qa/validation → render → release →
personalize → attempts → distribute → grading → fairness/integrity →
feedback/report/simulate/export/exchange/service → commands → cli → devtools. Inside grading, three
rooms: kernel → notebook → coordinator (the kernel room imports neither nbgrader nor anything else of
grader).
"""

__version__ = "0.1.0"

import sys as _sys

# jsonschema checks the "iri" string format with rfc3987_syntax when that is installed (the
# jsonschema[format-nongpl] extra that jupyter_events pulls in), and importing it compiles a Lark
# grammar: 1.6 s of CPU in every process that imports nbformat (each grading worker, each command).
# No schema that nbformat, nbgrader or the bank validates uses "iri"; without the module jsonschema
# leaves out that one format checker.
_sys.modules.setdefault("rfc3987_syntax", None)
