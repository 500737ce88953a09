"""JSON Schema (draft 2020-12) of questions.yaml: the shape of the data.

What the schema cannot say well (tolerances, option keys, names in expressions, kind-
specific fields, one sampling key per parameter) is checked by the loader, which gives
clearer messages for those.
"""

import copy
import functools
from typing import Any

from .model import SECTIONS, VARIANT_KEYS
from .patterns import ID_PATTERN, NAME_PATTERN

_NUMBER_OR_EXPR = {"type": ["number", "string"]}
_BOUNDS = {"type": "array", "items": _NUMBER_OR_EXPR, "minItems": 2, "maxItems": 2}
_SHAPE = {"type": "array", "items": {"type": ["integer", "string"]}}
_LENGTH = {"type": ["integer", "string", "array"], "items": _NUMBER_OR_EXPR, "minItems": 2, "maxItems": 2}
_VOCAB = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_DECIMALS = {"type": "integer", "minimum": 0, "maximum": 12}

PARAM_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "choice": {"type": "array", "minItems": 1},
        "int": _BOUNDS,
        "step": _NUMBER_OR_EXPR,
        "float": _BOUNDS,
        "decimals": _DECIMALS,
        "array": {
            "type": "object",
            "additionalProperties": False,
            "required": ["shape"],
            "properties": {
                "shape": _SHAPE,
                "dist": {"enum": ["normal", "uniform", "int"]},
                "mean": _NUMBER_OR_EXPR, "std": _NUMBER_OR_EXPR,
                "low": _NUMBER_OR_EXPR, "high": _NUMBER_OR_EXPR,
                "decimals": _DECIMALS,
            },
        },
        "probabilities": {
            "type": "object",
            "additionalProperties": False,
            "required": ["shape"],
            "properties": {"shape": _SHAPE, "decimals": _DECIMALS},
        },
        "one_hot": {
            "type": "object",
            "additionalProperties": False,
            "required": ["classes", "batch"],
            "properties": {"classes": _NUMBER_OR_EXPR, "batch": _NUMBER_OR_EXPR},
        },
        "box": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"size": _NUMBER_OR_EXPR, "decimals": _DECIMALS},
        },
        "tokens": {
            "type": "object",
            "additionalProperties": False,
            "required": ["vocab", "length"],
            "properties": {"vocab": _VOCAB, "length": _LENGTH},
        },
        "documents": {
            "type": "object",
            "additionalProperties": False,
            "required": ["vocab", "count", "length"],
            "properties": {"vocab": _VOCAB, "count": _LENGTH, "length": _LENGTH},
        },
        "value": {},
        "expr": {"type": "string"},
    },
}

MISCONCEPTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "feedback"],
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "answer": {"type": ["string", "number", "boolean", "array"]},
        "option": {"type": ["string", "array"]},
        "feedback": {"type": "string"},
        "credit": {},  # checked by the loader: a number in [0, 1]
    },
}

PROBLEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "section", "formula", "points", "kind", "prompt", "answer"],
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "title": {"type": "string", "minLength": 1},
        "section": {"enum": list(SECTIONS)},
        "formula": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "points": {"type": "number", "exclusiveMinimum": 0},
        "kind": {"type": "string"},  # one of grader.kinds.KINDS; bank_schema() fills in the names
        "secret": {"type": "boolean"},
        "shared": {"type": "boolean"},
        "prompt": {"type": "string"},
        "params": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": PARAM_SPEC,
        },
        "constraints": {"type": "array", "items": {"type": "string"}},
        "answer": {"type": ["string", "number", "boolean", "array"]},
        "compare": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "rule": {"enum": ["exact", "close", "sigfigs", "choice"]},
                # values checked by the loader, for clearer messages
                "rtol": {}, "atol": {}, "sigfigs": {}, "partial": {},
            },
        },
        "misconceptions": {"type": "array", "items": MISCONCEPTION},
        "hints": {"type": "array", "items": {"type": "string"}},
        "inputs": {"type": "array", "items": {"type": "string"}},
        # variants whose right answer hinges on a tie at a threshold (grader.qa.run_edges): `keep` them on
        # purpose, or a margin (a relative move of the numbers) that qa checks no variant comes within;
        # its value is checked by grader.validation.ties_issue, for a clearer message
        "ties": {"type": ["string", "number"]},
        # this problem's own checks before the deadline, over its assignments' (grader.bank.policy)
        "attempts": {"type": "object"},
    },
}

ASSIGNMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "problems"],
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "title": {"type": "string"},
        "variant_key": {"enum": list(VARIANT_KEYS)},
        "problems": {"type": "array", "items": {"type": "string"}},
        # checks before the deadline and the dates: checked by grader.bank.policy, for clearer messages
        "attempts": {"type": "object"},
        "dates": {"type": "object"},
    },
}

@functools.cache
def bank_schema() -> dict[str, Any]:
    """The schema, with each kind's own fields (grader.kinds: one module per kind)."""
    from grader.kinds import KINDS  # the kinds import the model: imported when needed, not at the top
    from grader.kinds.checks import SCHEMA as CHECKS_SCHEMA

    problem: dict[str, Any] = copy.deepcopy(PROBLEM)
    problem["properties"]["kind"] = {"enum": list(KINDS)}
    for kind in KINDS.values():
        problem["properties"].update(copy.deepcopy(kind.schema))
    problem["properties"].update(copy.deepcopy(CHECKS_SCHEMA))
    schema: dict[str, Any] = copy.deepcopy(BANK_SCHEMA)
    schema["properties"]["problems"]["items"] = problem
    return schema


BANK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "questions.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["course", "seed", "assignments", "problems"],
    "properties": {
        "course": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0},
        "variant_key": {"enum": list(VARIANT_KEYS)},
        "assignments": {"type": "array", "items": ASSIGNMENT},
        "problems": {"type": "array", "items": PROBLEM},
    },
}
