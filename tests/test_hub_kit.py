"""tests/hub_kit.py end to end: a real JupyterHub (proxy, two students, one service) with a throwaway
echo service that answers with the hub user behind the request's token, and JupyterLab driven in
headless Chromium. What this shows for a check-my-answer service: a student's kernel reaches it
with nothing but its own JUPYTERHUB_API_TOKEN and GRADER_CHECKS_URL, as that student, from a cell
and from an ipywidgets button; another student's token is that student; no token, a bad token or
a token without access to the service is refused; the service restarts (SIGKILL) and keeps what
it wrote to disk."""

import sys
import textwrap
import time

import pytest
from hub_kit import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    SERVICE,
    STUDENTS,
    Hub,
    log_in,
    request,
    require_tools,
    running_hub,
    server_token_scopes,
)

pytestmark = pytest.mark.xdist_group("hub")

# The echo service: HubAuthenticated, as a real service would be (the hub's access scope required).
# It counts each user's calls in $STATE_DIR/calls.txt, so that a restart can be seen to keep them.
ECHO = textwrap.dedent("""
    import json, os
    from pathlib import Path
    from tornado import ioloop, web
    from jupyterhub.services.auth import HubAuthenticated

    STATE = Path(os.environ["STATE_DIR"]) / "calls.txt"

    class WhoAmI(HubAuthenticated, web.RequestHandler):
        def get(self):
            user = self.get_current_user()
            if user is None:
                token = self.hub_auth.get_token(self, in_cookie=False)
                raise web.HTTPError(403 if token else 401)
            with STATE.open("a") as calls:
                calls.write(user["name"] + "\\n")
            count = STATE.read_text().split().count(user["name"])
            self.write(json.dumps({"name": user["name"], "kind": user["kind"], "scopes": user["scopes"],
                                   "calls": count, "pid": os.getpid()}))

    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    web.Application([(prefix + "whoami", WhoAmI)]).listen(int(os.environ["SERVICE_PORT"]), "127.0.0.1")
    ioloop.IOLoop.current().start()
""")

# What a student's kernel runs: nothing but its environment.
WHOAMI = textwrap.dedent("""
    import json, os, urllib.request
    def whoami():
        call = urllib.request.Request(os.environ["GRADER_CHECKS_URL"] + "whoami",
                                      headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
        with urllib.request.urlopen(call, timeout=20) as reply:
            return json.load(reply)
    me = whoami()
    print("service says:", me["name"])
    print("kernel token scopes:", " ".join(me["scopes"]))
""")

BUTTON = textwrap.dedent("""
    import ipywidgets as widgets
    from IPython.display import display
    out = widgets.Output()
    button = widgets.Button(description="Check my answer")
    def on_click(_):
        with out:
            print("clicked, service says:", whoami()["name"])
    button.on_click(on_click)
    display(button, out)
""")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    require_tools()
    root = tmp_path_factory.mktemp("hub")
    (root / "state").mkdir()
    (root / "echo.py").write_text(ECHO)
    service = {"name": SERVICE, "command": [sys.executable, str(root / "echo.py")],
               "environment": {"STATE_DIR": str(root / "state")}}
    started = time.monotonic()
    with running_hub(root / "hub", service) as running:
        print(f"hub up in {time.monotonic() - started:.1f} s")
        yield running


@pytest.fixture(scope="module")
def browser(hub):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def whoami(hub: Hub, token=None):
    return request(hub.service_url + "whoami", token=token)


def test_a_students_kernel_reaches_the_service_as_that_student_from_a_cell_and_a_button(hub, browser):
    ada = STUDENTS[0]
    hub.put_notebook(ada, "work/check.ipynb", ["# cell one: replaced", "# cell two: the button", "1 + 1"])
    started = time.monotonic()
    hub.spawn(ada)     # the server starts while Chromium opens a page; the login waits for it
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        lab = log_in(page, hub, ada)
        print(f"{ada} in JupyterLab in {time.monotonic() - started:.1f} s")
        lab.open("work/check.ipynb")
        assert lab.set_source("cell one", WHOAMI) == 0
        output = lab.run(0)
        assert f"service says: {ada}\n" in output
        scopes = output.split("kernel token scopes:")[1].split()
        assert f"access:services!service={SERVICE}" in scopes
        assert not any(scope.startswith(("tokens", "servers!", "admin")) for scope in scopes), scopes
        lab.set_source("the button", BUTTON)
        lab.run("Check my answer")
        assert "clicked" not in lab.output(1)
        lab.click_button(1, "Check my answer")
        assert f"clicked, service says: {ada}" in lab.wait_for_output(1, "clicked")
        assert lab.run(2).strip() == "2"
        print(f"{ada}'s notebook done in {time.monotonic() - started:.1f} s")
    finally:
        page.close()
    assert errors == [], errors


def test_each_students_token_is_that_student_others_are_refused_and_a_restart_keeps_the_calls(hub):
    # one test, not two: with pytest 9.2 and xdist 3.8, --dist loadgroup does not keep a module's
    # tests on one worker (xdist sets item._nodeid, which pytest 9.2 no longer reads), and each
    # worker would start a hub of its own
    ada, ben = STUDENTS
    # ben's token with exactly the scopes a server's (and so a kernel's) token is given
    status, reply = whoami(hub, hub.token(ben, scopes=server_token_scopes(SERVICE)))
    assert (status, reply["name"], reply["kind"]) == (200, ben, "user")
    status, reply = whoami(hub, hub.token(ada))
    assert (status, reply["name"]) == (200, ada)
    assert whoami(hub)[0] == 401
    assert whoami(hub, "not-a-token")[0] == 403
    # a valid token of ben's that may not access the service: identified, then refused
    assert whoami(hub, hub.token(ben, scopes=["read:users:name!user"]))[0] == 403
    # the hub's token for the service itself is no student's
    assert whoami(hub, hub.service_token)[0] == 403
    # the service killed (SIGKILL) and started again: same URL, same token, the calls it stored kept
    token = hub.token(ben, scopes=server_token_scopes(SERVICE))
    status, before = whoami(hub, token)
    assert status == 200
    hub.restart_service()
    status, after = whoami(hub, token)
    assert status == 200, after
    assert after["pid"] != before["pid"]
    assert after["calls"] == before["calls"] + 1
