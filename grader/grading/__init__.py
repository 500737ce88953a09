"""Batch autograding: nbgrader's own preprocessors, run in parallel worker processes.

    from grader.grading import grade_assignment
    run = grade_assignment(course, "cnn-detection")        # GradeRun: outcomes per student

Workers execute notebooks on pre-started kernels and never touch the gradebook; the parent
records each notebook in one transaction and writes autograded/ files atomically.
"""

from grader.grading.coordinator.runner import GradeRun, Outcome, grade_assignment

__all__ = ["GradeRun", "Outcome", "grade_assignment"]
