"""A real JupyterHub for browser tests: two students, one service, JupyterLab driven by Chromium.

`running_hub(tmp_dir, service)` starts, on free ports of 127.0.0.1 and under `tmp_dir` only:

- JupyterHub (this venv's `jupyterhub`) with the `shared-password` authenticator (one password for
  every student: DummyAuthenticator's `password`, deprecated since JupyterHub 5.3) and the
  `simple` spawner (SimpleLocalProcessSpawner): every student's server is this venv's
  `jupyterhub-singleuser`, run as the hub's own OS user (root or not) in `tmp_dir/home/<name>`,
  opening JupyterLab (`/lab`) with `window.jupyterapp` exposed for the `Lab` helper below;
- configurable-http-proxy, installed from npm by `make install` under `.node/` (`CHP`);
- the service, as an *external* service of the hub: the hub knows its URL and API token and
  routes `/services/<name>/` to it, while this kit starts and stops its process with the same
  environment a hub-managed service gets (JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL,
  JUPYTERHUB_SERVICE_NAME, JUPYTERHUB_SERVICE_URL, JUPYTERHUB_SERVICE_PREFIX,
  JUPYTERHUB_OAUTH_ACCESS_SCOPES, ...). Why not hub-managed: the hub restarts a managed service
  that exits only when its poll notices (Spawner.poll_interval, 30 s by default) and its REST API
  has no way to restart one. Here `hub.restart_service()` kills the process (SIGKILL, as a crash
  would) and starts it again on the same port, token and environment, so a test can show that
  what the service stored survives a restart. The service starts with the hub: the hub, at
  start-up, waits up to 30 s for an external service's URL to answer before it routes anything.

Permissions (JupyterHub 6 scopes), the part a real check-my-answer service depends on:

- students hold `access:services!service=<name>` through a role (`load_roles`): the default
  `user` role ('self') does not include access to any service;
- a single-user server's token (JUPYTERHUB_API_TOKEN, which its kernels inherit) gets only the
  `server` role's scopes by default (`users:activity!user`, `access:servers!server`), so
  `Spawner.server_token_scopes` adds `access:services!service=<name>` (the token receives the
  subset of the requested scopes that its user holds: jupyterhub/user.py, `User.spawn`);
- the service identifies a token with `HubAuth.user_for_token` (GET /hub/api/user with that token,
  which any valid token may do) and must then require its access scope: HubAuthenticated does it
  in `check_hub_user` with `hub_scopes`, from `HubAuth.access_scopes`, from
  $JUPYTERHUB_OAUTH_ACCESS_SCOPES or `access:services!service=$JUPYTERHUB_SERVICE_NAME`
  (jupyterhub/services/auth.py). A service that stops at `user_for_token` accepts any token of
  any user, whatever its scopes.

The kernel learns the service's URL from `$GRADER_CHECKS_URL` (`Spawner.environment`): the public
URL through the proxy, `http://127.0.0.1:<port>/services/<name>/`.

Shutdown (`close()`, also when start-up fails): SIGTERM to the hub (which stops the servers and the
proxy), then SIGKILL to every process this kit started, every descendant of the hub seen before,
and every process still working in the hub's folder (the proxy, servers and kernels of a hub that
died first), the service included.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHP = ROOT / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BIN = Path(sys.executable).parent
STUDENTS = ("ada", "ben")
PASSWORD = "check-my-answer"
SERVICE = "grader-checks"
HARNESS = "hub-kit"     # the test's own admin service: its token starts servers and makes tokens


def missing_tools() -> list[str]:
    """What this machine lacks to run a hub in a browser test (empty when nothing)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (.ci/run installs Debian's chromium)")
    if shutil.which("node") is None:
        missing.append("node (Debian's nodejs, for configurable-http-proxy)")
    if not CHP.exists():
        missing.append(f"{CHP.relative_to(ROOT)} (`make install` installs it from npm)")
    return missing


def require_tools() -> None:
    """Skip the calling test, with the reason, where missing_tools() finds something missing; under CI
    (which installs them all) fail instead."""
    import pytest

    missing = missing_tools()
    if missing:
        reason = "a JupyterHub browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_token_scopes(service: str) -> list[str]:
    """The scopes of a single-user server's JUPYTERHUB_API_TOKEN, the token its kernels see: the
    default `server` role's two, plus access to the service."""
    return ["users:activity!user", "access:servers!server", f"access:services!service={service}"]


def _descendants(pid: int) -> list[int]:
    """Every living descendant of pid, from /proc (children before the grandchildren)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _working_in(folder: Path) -> list[int]:
    """Every process whose working directory is in `folder` (the hub, the proxy, the servers and
    their kernels all work in the hub's folder): found even when the hub died first."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
    return found


def _kill(pids) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Hub:
    root: Path
    url: str                      # the public URL (the proxy), no trailing slash
    hub_port: int
    admin_token: str              # the harness service's token: admin:users, admin:servers, tokens
    service_name: str
    service_port: int
    service_token: str
    service_command: list[str]
    service_environment: dict[str, str]
    students: tuple[str, ...] = STUDENTS
    password: str = PASSWORD
    process: subprocess.Popen | None = None
    service_process: subprocess.Popen | None = None
    _seen: set[int] = field(default_factory=set)

    # --- addresses and files -------------------------------------------------------------------
    @property
    def service_url(self) -> str:
        """The service's public URL, through the proxy (what GRADER_CHECKS_URL holds)."""
        return f"{self.url}/services/{self.service_name}/"

    def home(self, user: str) -> Path:
        path = self.root / "home" / user
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_notebook(self, user: str, relative: str, sources: list[str]) -> Path:
        """A notebook of code cells (one per source) in the user's home, with a python3 kernelspec
        (so that JupyterLab starts a kernel without asking)."""
        import nbformat

        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
        path = self.home(user) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        return path

    def log(self, name: str = "hub") -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _tail(self) -> str:
        return ("\n--- hub.log (end) ---\n" + self.log("hub")[-4000:]
                + "\n--- service.log (end) ---\n" + self.log("service")[-2000:])

    # --- the REST API ----------------------------------------------------------------------------
    def api(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
        """(status, JSON or text) of /hub/api/<path>, with the harness's admin token by default."""
        return request(f"{self.url}/hub/api/{path.lstrip('/')}", method=method, body=body,
                       token=self.admin_token if token is None else token, timeout=timeout)

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of `user` (by default with all the user's own permissions)."""
        body: dict = {"note": "hub_kit"}
        if scopes is not None:
            body["scopes"] = scopes
        status, reply = self.api("POST", f"users/{user}/tokens", body)
        assert status == 201, (status, reply)
        return reply["token"]

    def spawn(self, *users: str) -> None:
        """Ask the hub to start these users' servers, without waiting (a login waits for its own)."""
        for user in users:
            status, reply = self.api("POST", f"users/{user}/server")
            assert status in (201, 202, 400), (status, reply, self._tail())   # 400: already running

    def start_servers(self, *users: str, timeout: float = 90) -> None:
        """Start these users' servers together and wait until all are ready (login then goes
        straight to JupyterLab)."""
        self.spawn(*users)
        deadline = time.monotonic() + timeout
        waiting = set(users)
        while waiting:
            for user in sorted(waiting):
                status, reply = self.api("GET", f"users/{user}")
                server = (reply.get("servers") or {}).get("", {}) if status == 200 else {}
                if server.get("ready"):
                    waiting.discard(user)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"servers of {sorted(waiting)} not ready after {timeout} s{self._tail()}")
            if waiting:
                time.sleep(0.2)

    # --- the service -----------------------------------------------------------------------------
    def service_env(self) -> dict[str, str]:
        """What a hub-managed service would be given (jupyterhub/services/service.py and
        Spawner.get_env), for this external one; the caller's environment on top."""
        prefix = f"/services/{self.service_name}/"
        env = _clean_environ()
        env.update({
            "JUPYTERHUB_SERVICE_NAME": self.service_name,
            "JUPYTERHUB_API_TOKEN": self.service_token,
            "JUPYTERHUB_CLIENT_ID": f"service-{self.service_name}",
            "JUPYTERHUB_HOST": "",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": prefix + "oauth_callback",
            "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:services!service={self.service_name}",
                                                          "access:services"]),
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{self.hub_port}/hub/api",
            "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{self.service_port}",
            "JUPYTERHUB_SERVICE_PREFIX": prefix,
            "JUPYTERHUB_PUBLIC_URL": self.service_url,
            "JUPYTERHUB_PUBLIC_HUB_URL": f"{self.url}/hub/",
        })
        env.update(self.service_environment)
        return env

    def start_service(self, timeout: float = 30) -> None:
        """Start the service's process and wait until its port answers."""
        self._launch_service()
        self.wait_for_service(timeout)

    def _launch_service(self) -> None:
        assert self.service_process is None or self.service_process.poll() is not None, "already running"
        with open(self.root / "service.log", "ab") as log:
            self.service_process = subprocess.Popen(self.service_command, env=self.service_env(), cwd=self.root,
                                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def wait_for_service(self, timeout: float = 30) -> None:
        assert self.service_process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.service_process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.service_process.returncode}{self._tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.service_port), 0.5):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the service did not listen on {self.service_port} in {timeout} s{self._tail()}")
            time.sleep(0.05)

    def stop_service(self) -> None:
        """SIGKILL, as a crash would: the service gets no chance to save anything on the way out."""
        process = self.service_process
        if process is None or process.poll() is not None:
            return
        _kill([*_descendants(process.pid), process.pid])
        process.wait(10)

    def restart_service(self) -> None:
        self.stop_service()
        self.start_service()

    # --- lifecycle -------------------------------------------------------------------------------
    def _remember_descendants(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._seen.update(_descendants(self.process.pid))

    def close(self) -> None:
        """Stop everything this hub started, whatever state it is in."""
        with contextlib.suppress(Exception):
            self.stop_service()
        if self.process is None:
            return
        self._remember_descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)     # the hub stops the servers and the proxy
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                _kill([self.process.pid])
                self.process.wait(10)
        _kill(self._seen | set(_working_in(self.root.resolve())))
        self._seen.clear()


def _clean_environ() -> dict[str, str]:
    """This process's environment without the JupyterHub variables of a hub the tests may run
    inside (a TA's own server), this venv's scripts and node first on PATH."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTERHUB_", "JPY_", "CONFIGPROXY_"))}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
    env.pop("PYTHONPATH", None)
    return env


def request(url: str, method: str = "GET", body=None, token: str | None = None, timeout: float = 30):
    """(status, JSON or text) of an HTTP request; errors are statuses, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"token {token}"
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _config(hub: Hub, proxy_api_port: int) -> str:
    service = hub.service_name
    args = ["--LabApp.expose_app_in_browser=True",      # window.jupyterapp, for Lab below
            "--LabApp.news_url=None",                    # no news toast over the notebook
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            "--ServerApp.log_level=WARN"]
    if os.geteuid() == 0:
        args.append("--allow-root")                      # jupyter_server refuses root without it
    settings = {
        "JupyterHub": {
            "ip": "127.0.0.1", "port": int(hub.url.rsplit(":", 1)[1]),
            "hub_ip": "127.0.0.1", "hub_port": hub.hub_port,
            "db_url": f"sqlite:///{hub.root / 'jupyterhub.sqlite'}",
            "cookie_secret_file": str(hub.root / "jupyterhub_cookie_secret"),
            "authenticator_class": "shared-password",
            "spawner_class": "simple",
            "log_level": "INFO",
            "services": [
                {"name": service, "url": f"http://127.0.0.1:{hub.service_port}", "api_token": hub.service_token,
                 "display": False},
                {"name": HARNESS, "api_token": hub.admin_token},
            ],
            "load_roles": [
                {"name": "students-check-answers", "description": "students may call the check service",
                 "scopes": [f"access:services!service={service}"], "users": list(hub.students)},
                {"name": "hub-kit-admin", "description": "the test: start servers, make tokens",
                 "scopes": ["admin:users", "admin:servers", "tokens", "read:users"], "services": [HARNESS]},
            ],
        },
        "ConfigurableHTTPProxy": {
            "command": [str(CHP)],
            "api_url": f"http://127.0.0.1:{proxy_api_port}",
            "pid_file": str(hub.root / "proxy.pid"),
            "auth_token": secrets.token_hex(16),
        },
        "SharedPasswordAuthenticator": {"user_password": hub.password},
        "Authenticator": {"allowed_users": list(hub.students)},
        "SimpleLocalProcessSpawner": {"home_dir_template": str(hub.root / "home" / "{username}")},
        "Spawner": {
            "cmd": [str(BIN / "jupyterhub-singleuser")],
            "args": args,
            "default_url": "/lab",
            "environment": {"GRADER_CHECKS_URL": hub.service_url},
            "server_token_scopes": server_token_scopes(service),
            "start_timeout": 90, "http_timeout": 90,
        },
    }
    lines = ["c = get_config()  # noqa"]
    for section, values in settings.items():
        for key, value in values.items():
            lines.append(f"c.{section}.{key} = {value!r}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_hub(root: Path, service: dict, students: tuple[str, ...] = STUDENTS,
                timeout: float = 60) -> Iterator[Hub]:
    """A hub with `students` and one service, `{"name": ..., "command": [...], "environment": {...}}`
    (the command listens on 127.0.0.1:$SERVICE_PORT, also given as JUPYTERHUB_SERVICE_URL)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    hub = Hub(root=root, url=f"http://127.0.0.1:{port}", hub_port=free_port(), admin_token=secrets.token_hex(32),
              service_name=service.get("name", SERVICE), service_port=free_port(),
              service_token=secrets.token_hex(32), service_command=list(service["command"]),
              service_environment=dict(service.get("environment", {})), students=tuple(students))
    hub.service_environment.setdefault("SERVICE_PORT", str(hub.service_port))
    for student in students:
        hub.home(student)
    config = root / "jupyterhub_config.py"
    config.write_text(_config(hub, free_port()))
    try:
        # the service and the hub start together: the hub waits (up to 30 s) for an external
        # service's URL to answer before it routes anything, and a service may ask the hub early
        hub._launch_service()
        with open(root / "hub.log", "ab") as log:
            hub.process = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(config)], cwd=root,
                                           env=_clean_environ(), stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if hub.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {hub.process.returncode}{hub._tail()}")
            status, _ = (0, None)
            with contextlib.suppress(OSError):
                status, _ = request(f"{hub.url}/hub/api/", timeout=2)
            if status == 200:      # through the proxy: the hub is up and has routed itself
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyterhub did not answer in {timeout} s{hub._tail()}")
            time.sleep(0.1)
        hub.wait_for_service()
        yield hub
    finally:
        hub.close()


# --- JupyterLab, driven through Playwright ----------------------------------------------------------

def log_in(page, hub: Hub, user: str, timeout: float = 90) -> Lab:
    """The hub's login form, then JupyterLab once it has restored its layout."""
    page.goto(f"{hub.url}/hub/login", wait_until="domcontentloaded")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=timeout * 1000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
    page.evaluate("() => window.jupyterapp.restored")
    return Lab(page, user)


# JavaScript: the notebook panel open on `path` (a NotebookPanel), and a cell by index or marker.
_PANEL = """
const panelOf = (path) => {
  const app = window.jupyterapp;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content && widget.content.widgets) return widget;
  }
  throw new Error('no notebook open at ' + path);
};
const cellOf = (panel, which) => {
  const cells = panel.content.widgets;
  if (typeof which === 'number') {
    if (which < 0 || which >= cells.length) throw new Error('no cell ' + which + ' of ' + cells.length);
    return [which, cells[which]];
  }
  const index = cells.findIndex(cell => cell.model.sharedModel.getSource().includes(which));
  if (index < 0) throw new Error('no cell contains ' + JSON.stringify(which));
  return [index, cells[index]];
};
"""

# The text of a cell's outputs as shown, without the prompts ("[3]:").
_SHOWN = """return Array.from(cell.outputArea.node.querySelectorAll('.jp-OutputArea-output'))
                   .map(node => node.innerText).join('\\n');"""


class Lab:
    """One user's JupyterLab in a Playwright page. Cells are named by index or by a marker (text
    their source contains). Everything waits: for the kernel to be idle, for outputs to appear."""

    def __init__(self, page, user: str):
        self.page = page
        self.user = user
        self.path: str | None = None

    def _js(self, body: str, arg=None):
        return self.page.evaluate(f"async (arg) => {{ {_PANEL} {body} }}", arg)

    def open(self, path: str, timeout: float = 90) -> None:
        """Open the notebook at `path` (relative to the user's home) and wait for an idle kernel."""
        self.path = path
        self._js("""
            const widget = await window.jupyterapp.commands.execute('docmanager:open', {path: arg, factory: 'Notebook'});
            await widget.context.ready;
            await widget.sessionContext.ready;
            window.jupyterapp.shell.activateById(widget.id);
        """, path)
        self.wait_idle(timeout)

    def wait_idle(self, timeout: float = 90) -> None:
        self.page.wait_for_function(
            f"""(path) => {{ {_PANEL}
                const panel = panelOf(path);
                const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
                return kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected'; }}""",
            arg=self.path, timeout=timeout * 1000)

    def cells(self) -> list[str]:
        return self._js("return panelOf(arg).content.widgets.map(cell => cell.model.sharedModel.getSource());", self.path)

    def set_source(self, which: int | str, text: str) -> int:
        """Replace the source of a cell (by index, or the first containing a marker); its index."""
        return self._js("""
            const [index, cell] = cellOf(panelOf(arg.path), arg.which);
            cell.model.sharedModel.setSource(arg.text);
            return index;""", {"path": self.path, "which": which, "text": text})

    def run(self, which: int | str, timeout: float = 60, check: bool = True) -> str:
        """Run a cell as Shift+Enter would (notebook:run-cell on it), wait until it has finished
        and the kernel is idle; its output text. With `check`, an error output raises."""
        self.wait_idle(timeout)
        index = self._js("""
            const panel = panelOf(arg.path);
            const [index, cell] = cellOf(panel, arg.which);
            window.jupyterapp.shell.activateById(panel.id);
            panel.content.activeCellIndex = index;
            panel.content.deselectAll();
            cell.model.executionCount = null;
            await window.jupyterapp.commands.execute('notebook:run-cell');
            return index;""", {"path": self.path, "which": which})
        self.page.wait_for_function(
            f"""(arg) => {{ {_PANEL}
                const cell = panelOf(arg.path).content.widgets[arg.index];
                return cell.model.executionCount !== null && cell.model.executionState !== 'running'; }}""",
            arg={"path": self.path, "index": index}, timeout=timeout * 1000)
        self.wait_idle(timeout)
        if check:
            errors = [output for output in self.outputs(index) if output.get("output_type") == "error"]
            assert not errors, "\n".join(f"{e['ename']}: {e['evalue']}" for e in errors) + "\n" + self.output(index)
        return self.output(index)

    def outputs(self, which: int | str) -> list[dict]:
        """The cell's outputs as nbformat JSON."""
        return self._js("const [, cell] = cellOf(panelOf(arg.path), arg.which); return cell.model.outputs.toJSON();",
                        {"path": self.path, "which": which})

    def output(self, which: int | str) -> str:
        """The text the cell's output area shows (rendered widgets included)."""
        return self._js(f"const [, cell] = cellOf(panelOf(arg.path), arg.which); {_SHOWN}", {"path": self.path, "which": which})

    def wait_for_output(self, which: int | str, text: str, timeout: float = 30) -> str:
        """Wait until the cell's output shows `text`; the whole output."""
        self.page.wait_for_function(
            f"""(arg) => {{ {_PANEL}
                const [, cell] = cellOf(panelOf(arg.path), arg.which);
                return (() => {{ {_SHOWN} }})().includes(arg.text); }}""",
            arg={"path": self.path, "which": which, "text": text}, timeout=timeout * 1000)
        return self.output(which)

    def click_button(self, which: int | str, label: str, timeout: float = 30) -> None:
        """Click, with the mouse, the ipywidgets button labelled `label` in a cell's output."""
        index, panel_id = self._js("""
            const panel = panelOf(arg.path);
            const [index] = cellOf(panel, arg.which);
            return [index, panel.id];""", {"path": self.path, "which": which})
        cell = self.page.locator(f'[id="{panel_id}"] .jp-Notebook .jp-Cell').nth(index)
        button = cell.locator("button.widget-button", has_text=label)
        button.wait_for(state="visible", timeout=timeout * 1000)
        button.click(timeout=timeout * 1000)
