"""The nbgrader configuration grading runs under: the course's nbgrader_config.py plus defences.

Scores equal `nbgrader autograde`'s only under the same configuration, so the bench and the
tests give nbgrader exactly the file `write_config` writes.
"""

import os
import secrets
from pathlib import Path

from traitlets.config import Config

from grader.course import course_config, with_venv_on_path  # noqa: F401 (with_venv_on_path: defined in grader.course)

# Defences set unless the course's own config sets them (nbgrader's defaults are all off).
DEFENCES = {
    # put deleted test cells back, so deleting a test cell cannot earn its points
    ("OverwriteCells", "add_missing_cells"): True,
    # cut huge outputs (a million printed lines) and tracebacks
    ("LimitOutput", "max_lines"): 1000,
    ("LimitOutput", "max_traceback"): 100,
    # harmless warnings on stderr would zero a test cell (nbgrader: any stderr output = 0 points)
    ("IgnorePattern", "enabled"): True,
    ("IgnorePattern", "pattern"): r"(?:[A-Za-z]+Warning: |warnings\.warn\(|^\s*$)",
    # per-cell timeout; an interrupted cell records an error and the rest of the notebook runs
    ("Execute", "timeout"): 30,
    ("Execute", "interrupt_on_timeout"): True,
}


def skip_tag() -> str:
    """nbclient skips cells tagged `skip_cells_with_tag`; the default 'skip-execution' lets a
    student skip a test cell (no output = full marks). A tag nobody can guess closes that."""
    return "skip-" + secrets.token_hex(8)


def apply_defences(config: Config, tag: str | None = None) -> Config:
    """Set every defence (and one unguessable skip tag) that `config` leaves unset.
    The course's nbgrader_config.py calls this, so plain `nbgrader autograde` has them too."""
    for (section, name), value in DEFENCES.items():
        if name not in config[section]:
            config[section][name] = value
    if "skip_cells_with_tag" not in config.Execute:
        config.Execute.skip_cells_with_tag = tag or skip_tag()
    return config


def effective_config(course: Path, tag: str | None = None) -> Config:
    """The course config (grader.course), the defences it leaves unset and one skip tag."""
    return apply_defences(course_config(course), tag)


def write_config(config: Config, path: Path, root: Path, db_url: str) -> None:
    """Write `config` as an nbgrader_config.py that `nbgrader autograde` reads (for the bench)."""
    lines = ["c = get_config()"]
    for section in sorted(config):
        if not isinstance(config[section], Config):
            continue
        for name in sorted(config[section]):
            value = config[section][name]
            if section == "CourseDirectory" and name in ("root", "db_url"):
                continue
            if isinstance(value, list) and all(isinstance(item, type) for item in value):
                value = [f"{item.__module__}.{item.__qualname__}" for item in value]   # preprocessor lists
            lines.append(f"c.{section}.{name} = {value!r}")
    lines.append(f"c.CourseDirectory.root = {str(root)!r}")
    lines.append(f"c.CourseDirectory.db_url = {db_url!r}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def load_bank_if_any(path: Path):
    """The question bank (titles, hints, misconception feedback), or None when there is none."""
    if path is None or not Path(path).is_file():
        return None
    from grader.bank import load_bank
    return load_bank(Path(path))
