"""The student's feedback page in headless Chromium (Debian's, driven by Playwright, as the preview
site's test): for every assignment of the shipped questions.yaml, three simulated students (right,
partly right, a misconception on every problem) graded for real and their pages built by nbgrader's
generate_feedback. The visible text holds no raw LaTeX and no Markdown table; every formula is
MathML that Chromium lays out itself; the page loads nothing but itself, without a script."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import course_kit as kit
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STUDENTS = 3               # grader.simulate's first profiles: correct, partial, misconception

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("feedback_browser")]

# What the browser reports about a page: its visible text and how its math was laid out.
# The student's own code (answer and inputs cells, <pre class="answer">) is shown as written: left out of the text.
LAYOUT = """() => {
    const box = element => element.getBoundingClientRect();
    const maths = [...document.querySelectorAll('math')];
    const code = [...document.querySelectorAll('pre.answer')];
    code.forEach(pre => { pre.hidden = true; });
    const text = document.body.innerText;
    code.forEach(pre => { pre.hidden = false; });
    return {
        text: text,
        code: code.length,
        scripts: document.scripts.length,
        fallbacks: [...document.querySelectorAll('code.tex')].map(code => code.textContent),
        cards: document.querySelectorAll('.problem').length,
        statements: [...document.querySelectorAll('.problem .statement')].filter(s => s.innerText.trim()).length,
        misconceptions: document.querySelectorAll('.misconception').length,
        tables: document.querySelectorAll('.statement table td').length,
        maths: maths.length,
        notMathML: maths.filter(m => m.namespaceURI !== 'http://www.w3.org/1998/Math/MathML').length,
        empty: maths.filter(m => !(box(m).width > 0 && box(m).height > 0)).map(m => m.textContent),
        notBlockMath: [...document.querySelectorAll('math[display="block"]')]
            .filter(m => getComputedStyle(m).display !== 'block math').length,
        flatMatrices: [...document.querySelectorAll('mtable')].filter(t => t.querySelectorAll(':scope > mtr').length > 1)
            .filter(t => box(t).height < 1.5 * parseFloat(getComputedStyle(t).fontSize)).length,
        flatFractions: [...document.querySelectorAll('mfrac')]
            .filter(f => box(f.children[0]).bottom > box(f.children[1]).top + 1).length,
    };
}"""
RAW_MARKUP = [
    ("a dollar sign", re.compile(r"\$")),
    ("a LaTeX command", re.compile(r"\\(begin|end|frac|times|text|mathrm|sum|sqrt|[a-zA-Z]{2,})")),
    ("a Markdown table", re.compile(r"^\s*\|.*\|\s*$|\|\s*:?-{3,}", re.MULTILINE)),
]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """{(student, assignment): feedback page} for every assignment of the shipped bank."""
    from grader.bank import load_bank
    from grader.feedback import write_feedback
    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config
    from grader.simulate import simulate_class

    root = tmp_path_factory.mktemp("feedback-browser") / "course"
    root.mkdir()
    shutil.copy(ROOT / "questions.yaml", root / "questions.yaml")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for command in ("render", "release"):
        done = subprocess.run([sys.executable, "-m", "grader", "--course", str(root), command],
                              capture_output=True, text=True, env=kit.venv_env())
        assert done.returncode == 0, done.stderr
    bank = load_bank(root / "questions.yaml")
    pages = {}
    for assignment in bank.assignments:
        plan = simulate_class(bank, root, assignment, STUDENTS)
        assert [s.profile for s in plan] == ["correct", "partial", "misconception"]
        config = effective_config(root)
        config.Execute.timeout = 10
        grade_assignment(root, assignment, config=config)
        for path in write_feedback(config, assignment, bank=bank):
            pages[path.parent.parent.name, assignment] = path
    assert len(pages) == STUDENTS * len(bank.assignments)
    return bank, pages


def test_every_assignments_page_shows_its_prompts_typeset_in_chromium(graded_class, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    bank, pages = graded_class
    problems = {assignment: len(bank.assignments[assignment].problems) for _, assignment in pages}
    errors, requests, tables = [], [], 0
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1000, "height": 1400})
            tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.on("request", lambda request: requests.append(request.url))
            for (student, assignment), path in sorted(pages.items()):
                where = f"{student}/{assignment}"
                tab.goto(path.as_uri(), wait_until="load")
                page = tab.evaluate(LAYOUT)
                for name, pattern in RAW_MARKUP:
                    found = pattern.search(page["text"])
                    assert found is None, (f"{where}: {name} in the visible text: "
                                           f"...{page['text'][max(0, found.start() - 100):found.end() + 100]}...")
                assert page["scripts"] == 0 and page["fallbacks"] == [], (where, page["fallbacks"])
                assert page["cards"] == page["statements"] == problems[assignment], where
                assert page["maths"] > 5 and page["notMathML"] == 0 and page["code"] > 0, where
                assert page["empty"] == [], f"{where}: formulas laid out with no size: {page['empty'][:5]}"
                assert page["notBlockMath"] == page["flatMatrices"] == page["flatFractions"] == 0, (where, page)
                if student == "student003":
                    assert page["misconceptions"] > 0, where
                tables += page["tables"]
            tab.goto(pages["student003", "cnn-detection"].as_uri(), wait_until="load")
            tab.locator(".problem").nth(4).scroll_into_view_if_needed()
            shot = tmp_path / "feedback-cnn-detection.png"
            tab.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert tables > 0                       # the CNN summary and NMS tables are HTML tables
    assert errors == [], errors
    assert {url for url in requests} == {path.as_uri() for path in pages.values()}, "the page loaded something"
