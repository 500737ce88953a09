"""nbgrader's cell metadata check, with its schema compiled once per worker (pipeline._SchemaCheckedOnce)."""

import fastjsonschema
import jsonschema
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from grader.grading.notebook import pipeline


def graded_cell(**nbgrader):
    cell = new_code_cell("q1 = 1")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "q1-test", "locked": True, "points": 2.0,
                                 "schema_version": 3, "solution": False, "task": False, **nbgrader}
    return cell


def test_each_notebook_s_fresh_copy_of_nbgrader_s_schema_is_compiled_once(monkeypatch):
    compiled = []
    real_compile = fastjsonschema.compile
    def compile_(schema):
        compiled.extend(["nbgrader's"] if "grade_id" in schema.get("properties", {}) else [])
        return real_compile(schema)
    monkeypatch.setattr(fastjsonschema, "compile", compile_)
    checked = pipeline._SchemaCheckedOnce()
    monkeypatch.setattr("nbgrader.nbgraderformat.common.jsonschema", checked)
    for _ in range(5):                       # nbgrader makes a validator (and reads its schema) per notebook
        validator = MetadataValidatorV3()
        for _ in range(10):
            validator.validate_cell(graded_cell())
    assert compiled == ["nbgrader's"]


def test_a_bad_cell_gets_jsonschema_s_own_error():
    checked = pipeline._SchemaCheckedOnce()
    schema = MetadataValidatorV3().schema
    bad = dict(graded_cell().metadata["nbgrader"], points="two")
    with pytest.raises(jsonschema.ValidationError) as ours:
        checked.validate(bad, schema)
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate(bad, schema)
    assert ours.value.message == theirs.value.message
    checked.validate(graded_cell().metadata["nbgrader"], schema)     # a good one passes
