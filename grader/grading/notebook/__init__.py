"""The notebook room: one submitted notebook in, its grades and autograded copy out.

session.py is a worker's GradingSession (a NotebookGrader over a KernelPool); pipeline.py runs
nbgrader's own preprocessors on one notebook; answers.py is the student's key (their variant,
drawn here) and grades reported answers; reasons.py says why in plain words; plain.py and
config.py are the hooks nbgrader's own commands and buttons load from the course's
nbgrader_config.py; inert_outputs.py keeps student outputs inert; tasks.py is what the
coordinator hands in and gets back.
"""
