"""What students tried before the deadline, and what it is worth.

`store`: the append-only record of every check (and the students' extensions and no-hub tokens) in
the course database, beside nbgrader's gradebook (SQLite, or PostgreSQL through the same db_url).
`rules`: what a problem's grade keeps under its assignment's `attempts:` and `dates:`
(grader.bank.policy): the try at which the answer was first checked right, the late timeline, the
student's extension. Grading, the check service, `report` and the TA commands all read these two.
"""
