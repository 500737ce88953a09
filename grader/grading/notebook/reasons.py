"""Why a submission needs a TA's eye: read from the autograded notebook and nbgrader's repair log."""

import functools
import os
import re

from nbgrader import utils

from grader.protocol import KERNEL_DIED, OUT_OF_TIME, UNUSABLE, Code, cell_grade_id, read_results

_CHANGED = re.compile(r"Attribute '(\w+)' for cell (\S+) has changed")
_MISSING = re.compile(r"Missing grade cell (\S+) encountered")
_SUSPICIOUS_TAGS = ("skip-execution", "raises-exception")
OUT_OF_TIME_REASON = "the notebook's time budget was spent; this cell and the rest were not run"


def cell_name(cell, index: int) -> str:
    return cell_grade_id(cell) or f"cell {index + 1}"


def notebook_reasons(nb, warnings: list[str]) -> list[str]:
    reasons = []
    for message in warnings:
        if match := _MISSING.search(message):
            reasons.append(f"{match.group(1)}: deleted; nbgrader added it back")
        elif (match := _CHANGED.search(message)) and match.group(1) != "checksum":
            # a checksum "change" is normal: release removed the hidden tests (see edited_locked_cells)
            attribute, cell = match.groups()
            reasons.append(f"{cell}: {attribute} changed; restored from the source")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = cell_name(cell, index)
        for tag in cell.metadata.get("tags", []):
            if tag in _SUSPICIOUS_TAGS and utils.is_grade(cell):
                reasons.append(f"{name}: tagged '{tag}' (ignored, the cell ran)")
        outputs = cell.get("outputs", [])
        timed_out = any(o.output_type == "error" and o.ename == "CellTimeoutError" for o in outputs)
        for output in outputs:
            if output.output_type == "error":
                if output.ename == "KeyboardInterrupt" and timed_out:
                    continue    # the kernel's side of the time limit, said once below
                if output.ename == OUT_OF_TIME:
                    if not any(OUT_OF_TIME_REASON in reason for reason in reasons):
                        reasons.append(f"{name}: {OUT_OF_TIME_REASON}")
                elif output.ename == KERNEL_DIED:
                    reasons.append(f"{name}: the kernel died (os._exit, out of memory); rerun without it")
                elif output.ename == "CellTimeoutError":
                    reasons.append(f"{name}: timed out (infinite loop?)")
                elif output.ename == "NotImplementedError" and utils.is_solution(cell):
                    continue    # the release stub: not answered, not broken
                elif not utils.is_grade(cell) or utils.is_solution(cell):
                    reasons.append(f"{name}: {output.ename}")
                elif output.ename != "NameError":   # NameError: the answer cell failed, reported above
                    reasons.append(f"{name}: {output.ename}: {str(output.evalue)[:100]}")
            elif output.output_type == "stream" and "... Output truncated ..." in output.text:
                reasons.append(f"{name}: huge output, truncated")
            elif output.output_type == "stream" and utils.is_grade(cell):
                reasons.extend(_answers_worth_a_look(output.text))
    return _unique(reasons)


def _answers_worth_a_look(text: str) -> list[str]:
    """Answers the check could not use (NaN, inf, None, a string, a wrong shape: reason codes
    grader.protocol.UNUSABLE) and answers to a classmate's numbers, from the GRADER_RESULT lines."""
    return [f"{result['problem']}: {str(result.get('message') or '')[:120]}"
            for result in read_results([text]).values()
            if (not result.get("fraction") and result.get("code") in UNUSABLE)
            or result.get("code") == Code.ANOTHER_VARIANT]


def _unique(items):
    return list(dict.fromkeys(items))


RELEASED_AGAIN = "changed after this notebook was handed out (the problem was released again); graded on the current spec"
COMMON_NOTEBOOK = "from the assignment's common notebook, not the student's own; graded on the student's own numbers"
EDITED = "locked cell edited; restored from the source"


def edited_locked_cells(submitted_path, release_path, earlier: dict | None = None,
                        original: dict[str, str] | None = None) -> list[str]:
    """Locked cells whose text differs from the released notebook (nbgrader restores them), each
    with why. A text as it was handed out is the instructor's change, not the student's: one that
    an earlier release had (`earlier`: grade id -> hashes, grader.release_record), or one that
    still matches nbgrader's own checksum of the cell. `original`: the student's own locked cells
    as they are handed out now (a per-student release), instead of the release notebook's."""
    import hashlib

    import nbformat

    from grader.release import number_tokens
    try:
        submitted = nbformat.read(submitted_path, as_version=4)
        common = _released_locked_cells(release_path)
    except Exception:
        return []
    earlier = earlier or {}
    found = []
    for cell in submitted.cells:
        grade_id = cell_grade_id(cell)
        wanted = (original if original is not None else common).get(grade_id)
        if wanted is None or cell.source == wanted:
            continue
        digest = hashlib.sha256(cell.source.encode("utf-8")).hexdigest()[:16]
        if original is not None and cell.source == common.get(grade_id) and _as_handed_out(cell):
            found.append(f"{grade_id}: {COMMON_NOTEBOOK}")
        elif digest in earlier.get(grade_id, ()) or _as_handed_out(cell):
            if sorted(number_tokens(cell.source)) != sorted(number_tokens(wanted)):
                found.append(f"{grade_id}: {RELEASED_AGAIN}")
            # else the same numbers in other words: a wording fix, nothing for the TA to weigh
        else:
            found.append(f"{grade_id}: {EDITED}")
    return found


def _released_locked_cells(path) -> dict[str, str]:
    """{grade id: source} of the released notebook's locked cells, read once per version of the file."""
    stat = os.stat(path)
    return _locked_cells_of(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _locked_cells_of(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    import nbformat
    released = nbformat.read(path, as_version=4)
    return {cell_grade_id(c): c.source for c in released.cells if c.metadata.get("nbgrader", {}).get("locked")}


def _as_handed_out(cell) -> bool:
    """The cell still matches the checksum nbgrader wrote when its notebook was generated."""
    recorded = cell.get("metadata", {}).get("nbgrader", {}).get("checksum")
    try:
        return bool(recorded) and utils.compute_checksum(cell) == recorded
    except Exception:  # noqa: BLE001 (a cell nbgrader cannot checksum was not handed out as is)
        return False


def without_repairs_of(reasons: list[str], explained: list[str]) -> list[str]:
    """Drop nbgrader's 'restored from the source' lines for cells whose change is explained
    (the instructor changed them, or they come from the common notebook)."""
    cells = {reason.split(": ", 1)[0] for reason in explained}
    return [reason for reason in reasons
            if not (reason.split(": ", 1)[0] in cells and reason.endswith("restored from the source"))]
