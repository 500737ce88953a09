"""Shared test kits as fixtures. tests/ mirrors grader/: tests/<module>.py tests grader/<module>.py,
tests/<package>/ tests grader/<package>/.

The kits themselves: render_kit.py (a course with a small bank holding every kind) and course_kit.py
(a hand-made nbgrader course, independent of the bank); tests import them or use these fixtures.
"""

import functools
import os

import pytest
import render_kit

from grader.bank import load_bank


@functools.cache
def sandbox_support():
    from grader.grading.kernel.sandbox import support
    return support()


@pytest.fixture(autouse=True, scope="session")
def _sandboxed_grading_skips_without_a_sandbox():
    """`grade` refuses to grade sandboxed where the machine cannot sandbox. There (never in CI), a
    test (or a module's fixture) that grades sandboxed skips with the reason rather than failing;
    `unsafe` grading runs. Session-wide, so that it is in place before any module's fixtures."""
    if os.environ.get("CI") or sandbox_support().available:
        yield
        return
    from grader.grading.coordinator import runner
    choose_mode = runner.choose_mode

    def choose(unsafe):
        if not unsafe:
            pytest.skip(f"grades in the sandbox: {sandbox_support().message}")
        return choose_mode(unsafe)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "choose_mode", choose)
        yield


def pytest_runtest_setup(item):
    """Tests marked `sandbox` grade or start kernels in the sandbox. Where this machine cannot
    sandbox (no bubblewrap, no user namespaces as a normal user) they skip, saying why; in CI
    (`CI` set), which installs bubblewrap, a sandbox that does not work fails them instead."""
    if item.get_closest_marker("sandbox") and not os.environ.get("CI"):
        status = sandbox_support()
        if not status.available:
            pytest.skip(f"needs the grading sandbox: {status.message}")


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of our own for the whole session (.ci/run installs Debian's postgresql)."""
    from grader.devtools.pgserver import PrivatePostgres
    with PrivatePostgres(durable=False) as server:
        yield server


@pytest.fixture(scope="session")
def fixture_bank():
    """The small bank of tests/fixtures/render/bank.yaml: one problem of every kind."""
    return load_bank(render_kit.FIXTURE_BANK)


@pytest.fixture
def course(tmp_path):
    """A course directory holding the fixture bank and the repository's nbgrader_config.py."""
    return render_kit.make_course(tmp_path / "course")


@pytest.fixture(scope="session")
def mini_bank():
    """tests/bank/fixtures/mini.yaml: a small valid bank (conv size, init choice, ...)."""
    return load_bank(render_kit.MINI_BANK)
