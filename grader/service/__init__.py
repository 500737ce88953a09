"""The check-my-answer service: students check an answer before the deadline, within the policy.

`check`: one check, from an authenticated student's request to the reply (no HTTP, no Hub). The
HTTP side and how a student is authenticated (the Hub's OAuth/API tokens, or a course token for
courses without a hub) sit beside it; `grader serve-checks` starts it (docs/checks.md).
"""
