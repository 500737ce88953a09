"""ELEN 521 grader: the solution engine, the question bank, and nbgrader-based grading.

Layers, lowest first (a layer imports only the ones before it):
engine → bank → variants → compare → runtime → render → release → grading → feedback/report → cli.
"""

__version__ = "0.1.0"

import sys as _sys

# jsonschema checks the "iri" string format with rfc3987_syntax when that is installed (the
# jsonschema[format-nongpl] extra that jupyter_events pulls in), and importing it compiles a Lark
# grammar: 1.6 s of CPU in every process that imports nbformat (each grading worker, each command).
# No schema that nbformat, nbgrader or the bank validates uses "iri"; without the module jsonschema
# leaves out that one format checker.
_sys.modules.setdefault("rfc3987_syntax", None)
