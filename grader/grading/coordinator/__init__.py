"""The coordinator room: a whole class, planned, graded and recorded.

runner.py plans every student's task (submission.py reads their folder, never trusting it),
hands the tasks to local worker processes or to Dask (cluster.py, side by side), and records each
result in the gradebook (gradebook.py); mode.py chooses and remembers whether kernels ran
sandboxed; progress.py prints the run; stale.py tells feedback and report when a grade is out
of date.
"""
