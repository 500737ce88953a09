"""ELEN 521 grader: the solution engine, the question bank, and nbgrader-based grading.

Layers, lowest first (a layer imports only the ones before it):
engine → bank → variants → compare → runtime → render → release → grading → feedback/report → cli.
"""

__version__ = "0.1.0"
