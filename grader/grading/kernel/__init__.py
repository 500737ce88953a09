"""The kernel room: where a student's code runs, and nothing else.

pool.py starts kernels ahead of need (KernelPool, ForkServer); sandbox.py is the policy (bubblewrap,
a uid or a user namespace per kernel, rlimits, scratch tmpfs, cgroups) and the process handles
jupyter_client drives; forkserver.py forks isolated kernels inside the sandbox and imports nothing
of grader; in_kernel.py is the code a kernel runs to report answers as plain data.
Nothing here knows nbgrader, the bank or a grade (checked by the import contract in pyproject.toml).
"""
