"""The preview site: built for the whole bank, then loaded in headless Chromium (Debian's, driven by
Playwright): no console error, every formula typeset by KaTeX (no raw `$`, no KaTeX error), a screenshot."""

import shutil
from pathlib import Path

import pytest

from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.xdist_group("preview")


def preview(*argv):
    return main(["--course", str(ROOT), "preview", *map(str, argv)])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("preview") / "site"
    assert preview("--variants", 2, "--out", out) == 0
    return out


def test_site_has_an_index_and_a_page_per_assignment_with_every_problem(site):
    from grader.bank import load_bank

    bank = load_bank(ROOT / "questions.yaml")
    assert (site / "index.html").is_file()
    assert (site / "_static" / "katex" / "katex.min.js").is_file()
    for assignment in bank.assignments.values():
        page = (site / f"{assignment.id}.html").read_text()
        assert "Instructors and TAs only" in page
        for problem_id in assignment.problems:
            problem = bank.problems[problem_id]
            assert f'id="{problem_id}"' in page
            for formula in problem.formula:
                assert f"<code>{formula}</code>" in page
        assert page.count('<div class="variant">') == 2 * len(assignment.problems)
    assert "cdn" not in (site / "index.html").read_text().lower()


def test_pages_load_without_console_errors_and_math_is_typeset(site, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    pages = sorted(site.glob("*.html"))
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 1600})
            errors = []
            tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
            for page in pages:
                tab.goto(page.as_uri(), wait_until="load")
                tab.wait_for_function("document.querySelectorAll('.katex').length > 0"
                                      " || !document.querySelector('.variant')")
                text = tab.evaluate("""() => {
                    const copy = document.body.cloneNode(true);
                    copy.querySelectorAll('.katex-mathml').forEach(node => node.remove());
                    return copy.innerText; }""")
                where = text.find("$")
                assert where < 0, f"{page.name}: raw $ left: ...{text[max(0, where - 80):where + 80]}..."
                assert tab.locator(".katex-error").count() == 0, f"{page.name}: KaTeX could not typeset a formula"
                if page.name != "index.html":
                    assert tab.locator(".katex").count() > 20, page.name
            tab.goto((site / "cnn-detection.html").as_uri(), wait_until="load")
            tab.wait_for_function("document.querySelectorAll('.katex').length > 0")
            shot = tmp_path / "cnn-detection.png"
            tab.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert errors == [], errors


def test_preview_refuses_release_and_unknown_assignments(tmp_path, capsys):
    assert preview("--out", ROOT / "release" / "preview-here") == 2
    assert "release" in capsys.readouterr().err
    assert not (ROOT / "release" / "preview-here").exists()
    assert preview("no-such-assignment", "--out", tmp_path / "p") == 2
    assert "'no-such-assignment'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_preview_that_fails_midway_writes_nothing(tmp_path, monkeypatch):
    from grader.bank import load_bank
    from grader.export import preview as site_module

    bank = load_bank(ROOT / "questions.yaml")
    first, second = list(bank.assignments)[:2]
    real = site_module.problem_page_data

    def failing(bank, problem, assignment_id, *args):
        if assignment_id == second:
            raise RuntimeError("a template broke")
        return real(bank, problem, assignment_id, *args)

    monkeypatch.setattr(site_module, "problem_page_data", failing)
    with pytest.raises(RuntimeError):
        site_module.build_preview(bank, [first, second], 1, tmp_path / "site")
    assert not (tmp_path / "site").exists()
