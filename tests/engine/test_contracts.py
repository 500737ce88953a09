"""engine.CONTRACTS is exactly the table of docs/FORMULAS.md, and every engine function exists and is documented."""

import re
from pathlib import Path

import pytest

from grader import engine

FORMULAS = Path(__file__).resolve().parents[2] / "docs" / "FORMULAS.md"   # the repository's own copy
CONTRACT_ID = re.compile(r"^[a-z0-9]+\.[a-z0-9_]+$")
FUNCTION_CALL = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)\(")
EXPECTED_ROWS = 62


def table_rows(text):
    """{contract id: the engine-function cell} from the Markdown table; cells split on ' | '."""
    rows, column = {}, None
    for line in text.splitlines():
        if not line.startswith("| "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if column is None and "engine function" in cells:
            column = cells.index("engine function")
            width = len(cells)
            continue
        if column is None or not CONTRACT_ID.match(cells[0]):
            continue
        assert len(cells) == width, f"cannot split the row for {cells[0]!r} into {width} cells: {line}"
        assert cells[0] not in rows, f"duplicate contract id {cells[0]!r}"
        rows[cells[0]] = cells[column]
    assert column is not None, "no 'engine function' column in the table"
    return rows


@pytest.fixture(scope="module")
def formulas():
    return {cid: tuple(FUNCTION_CALL.findall(cell)) for cid, cell in table_rows(FORMULAS.read_text()).items()}


def test_table_has_every_contract_once(formulas):
    assert len(formulas) == EXPECTED_ROWS
    assert list(formulas) == list(engine.CONTRACTS)


def test_contracts_list_exactly_the_functions_of_the_table(formulas):
    for cid, names in formulas.items():
        assert names, f"{cid}: the table names no function"
        assert engine.CONTRACTS[cid] == names, cid


def test_every_function_in_the_table_exists_in_the_engine(formulas):
    missing = sorted({name for names in formulas.values() for name in names if not callable(getattr(engine, name, None))})
    assert not missing


def test_functions_list_is_the_union_of_contracts():
    assert engine.FUNCTIONS == sorted({name for names in engine.CONTRACTS.values() for name in names})
    assert len(engine.CONTRACTS) == EXPECTED_ROWS


def _function_ids():
    """'module.function' ids, so `-k "not nlp"` selects a module's functions."""
    return [f"{getattr(engine, name).__module__.rsplit('.', 1)[-1]}.{name}" for name in engine.FUNCTIONS]


@pytest.mark.parametrize("name", engine.FUNCTIONS, ids=_function_ids())
def test_every_engine_function_has_a_docstring(name):
    doc = getattr(engine, name).__doc__
    assert doc and doc.strip(), f"engine.{name} has no docstring"


def test_table_parser_handles_pipes_inside_cells_and_finds_mismatches():
    sample = "\n".join([
        "| id | sheet formula / rule | engine function | convention where the sheet is loose |",
        "|---|---|---|---|",
        "| nlp.tf | freq(w)/|d| | `term_frequency(word, doc)` | doc is a list of tokens |",
        "| init.rules | bias → 0 | `init_bias(n)` returns zeros; `other(x)` | see `patience` |",
    ])
    rows = {cid: tuple(FUNCTION_CALL.findall(cell)) for cid, cell in table_rows(sample).items()}
    assert rows == {"nlp.tf": ("term_frequency",), "init.rules": ("init_bias", "other")}
    assert rows["init.rules"] != engine.CONTRACTS["init.rules"]
