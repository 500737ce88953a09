"""Every CSV the grader writes, made with one writer that spreadsheets cannot be tricked by.

A TA or the LMS opens grades and rosters in Excel, LibreOffice or Google Sheets, which run a cell
that starts with = + - @ (or a tab or carriage return before one) as a formula: a student id such
as `=HYPERLINK("http://x","y")` would become a live link or worse (OWASP "CSV injection"). Such
a cell is written with a leading single quote, which the spreadsheet shows as text; a real number
(`-1.5`, `+2`, `1e-3`) stays a number. Cells are quoted as the csv module does, so a comma or a
quote in a name never shifts the columns.
"""

import csv
import io
import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(value):
    """`value` as a spreadsheet reads it as data: a text that would start a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """The CSV file of `header` and `rows`, every cell through spreadsheet_cell; lines end with \\n."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_cell(cell) for cell in header])
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()
