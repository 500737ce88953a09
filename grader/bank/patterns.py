"""Patterns of ids and names in questions.yaml (the schema and the kinds' own schema parts use them)."""

ID_PATTERN = "^[a-z0-9][a-z0-9-]*$"
NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]*$"
