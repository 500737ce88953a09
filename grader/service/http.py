"""The check-my-answer service over HTTP: tornado routes around one `Checker` (docs/checks.md).

    GET  B/                                 what this service is (no data, no authentication)
    GET  B/api/health                       ready: the course database answers (no authentication)
    POST B/api/check                        {"assignment", "problem", "answer", optional "practice"}
    GET  B/api/status/<assignment>          checks allowed, used, left per problem
    GET  B/api/attempts/<assignment>        the student's own checks
    GET  B/api/cases/<assignment>/<problem>[?practice=N]   a function answer's argument lists

B is the route prefix: JupyterHub's JUPYTERHUB_SERVICE_PREFIX behind the Hub's proxy, `/` alone.
Every /api/ request carries `Authorization: token T` and the student is whoever T belongs to,
never anything in the request: `HubTokens` asks the Hub (`HubAuth.user_for_token`, cached, so only
a token's first request costs a Hub round trip) and requires the service's access scope, as
JupyterHub's own HubAuthenticated does; `CourseTokens` looks up the no-hub token `distribute`
issued (grader.attempts.store: only digests are stored).

Concurrency: a check is prepared on the event loop (Checker.check_async: decode, draw, grade, and
take its try in the Checker's copy of the student's checks; synchronous and quick, and one at a
time, so two checks of one problem arriving together count one after the other) and recorded by
the Checker's GroupRecorder on a thread of its own (one commit for the checks that arrive
together) while the loop serves other requests. Another service process on the same database
cannot spend the same try either: the store's unique (assignment, problem, student, try)
constraint lets one of two racing records in, and the other check gets the Checker's own 429
("try again"), nothing recorded. The read-only requests (status, attempts) and the no-hub token
look-up read the database on a small thread pool, so a slow database never stalls the loop.

Bodies: a check's body is streamed and refused with 413 as soon as its declared length, or what
has arrived, passes MAX_BODY; nothing larger is ever held in memory (the server's own
max_body_size cuts a connection off at twice that).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from grader.attempts.store import Store
from grader.errors import GraderError
from grader.service.check import MAX_BODY, MAX_PRACTICE_VARIANT, Checker, Reply
from grader.service.client import client_source
from grader.service.practice import practice_round

SERVICE_NAME = "grader-checks"
WORKER_THREADS = 4                 # database reads in progress at once (status, attempts, token look-ups)
SERVER_MAX_BODY = 2 * MAX_BODY     # tornado closes a connection whose body passes this (check refuses at MAX_BODY)
_AUTHORIZATION = re.compile(r"^\s*(?:token|bearer)\s+(\S+)\s*$", re.IGNORECASE)


class NotAllowed(Exception):
    """The request's token names no student who may use the service (401) or one without the
    service's scope (403); the message says which, never whose."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Authentication(Protocol):
    """Who a token belongs to: the student's id, or NotAllowed."""

    description: str

    async def student_of(self, token: str) -> str: ...


def _usable_student(name: Any) -> str:
    """A student id as the rest of the grader uses it ('/' would collide with practice keys and folders)."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name != name.strip():
        raise NotAllowed(403, "this account's name cannot be a student id")
    return name


@dataclass
class CourseTokens:
    """The no-hub tokens `grader distribute --checks-url` issued (one per student; a new one
    replaces the old). Not cached: a re-issued token must stop working at once."""

    store: Store
    executor: ThreadPoolExecutor
    description: str = "course tokens (no hub)"

    async def student_of(self, token: str) -> str:
        student = await IOLoop.current().run_in_executor(self.executor, self.store.student_of_token, token)
        if student is None:
            raise NotAllowed(401, "unknown token: use the one in .grader-checks.json beside your notebook")
        return _usable_student(student)


@dataclass
class HubTokens:
    """Tokens the JupyterHub issued: a student's server token (JUPYTERHUB_API_TOKEN in the kernel).

    `user_for_token` tells who a token belongs to and with which scopes; HubAuth caches the answer
    (cache_max_age, 5 minutes by default). Any valid token may ask the Hub who it is, so the scope
    is checked here: a token without the service's access scope (e.g. a server token the spawner
    was not told to give it) is refused with 403, and only user tokens count (not a service's)."""

    hub_auth: Any                      # jupyterhub.services.auth.HubAuth
    description: str = "JupyterHub tokens"

    def __post_init__(self) -> None:
        if not self.hub_auth.access_scopes:
            raise GraderError("--hub: the service's access scope is unknown: run it as a JupyterHub service "
                              "(JUPYTERHUB_SERVICE_NAME or JUPYTERHUB_OAUTH_ACCESS_SCOPES set), or use --no-hub")

    async def student_of(self, token: str) -> str:
        model = await self.hub_auth.user_for_token(token, sync=False)
        if not model or model.get("kind", "user") != "user":
            raise NotAllowed(401, "unknown token: the Hub knows no user with it")
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise NotAllowed(403, f"this token may not use the check service (it needs one of "
                                  f"{', '.join(sorted(self.hub_auth.access_scopes))})")
        return _usable_student(model.get("name"))


def hub_tokens_from_environment() -> HubTokens:
    """HubAuth as a JupyterHub service gets it: JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL and the
    access scopes from the environment the Hub gives the service."""
    import os

    missing = [name for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL") if not os.environ.get(name)]
    if missing:
        raise GraderError(f"--hub: {' and '.join(missing)} not set: run `grader serve-checks` as a JupyterHub "
                          f"service (c.JupyterHub.services), or use --no-hub")
    from jupyterhub.services.auth import HubAuth

    return HubTokens(HubAuth())


# --- handlers ------------------------------------------------------------------------------------------

@dataclass
class Service:
    checker: Checker
    authentication: Authentication
    executor: ThreadPoolExecutor

    async def run(self, method: Any, *args: Any) -> Reply:
        """One read-only Checker call on the pool (see the module's docstring)."""
        return await IOLoop.current().run_in_executor(self.executor, method, *args)


class JSONHandler(web.RequestHandler):
    """Every reply is JSON, errors too; nothing is cached by a proxy or a browser."""

    def initialize(self, service: Service) -> None:
        self.service = service

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def send_json(self, status: int, body: dict[str, Any], retry_after: float | None = None) -> None:
        self.set_status(status)
        if status == 429 and retry_after is not None:
            self.set_header("Retry-After", str(max(1, math.ceil(retry_after))))
        if status == 401:
            self.set_header("WWW-Authenticate", 'token realm="grader-checks"')
        self.finish(json.dumps(body))

    def send_reply(self, reply: Reply) -> None:
        self.send_json(reply.status, reply.body, reply.retry_after)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason if status_code < 500 else "the check service failed; nothing was recorded if it failed " \
                                                        "before replying (see the service's log)"
        self.finish(json.dumps({"error": reason}))

    async def authenticated_student(self) -> str | None:
        """The student the Authorization header's token belongs to; None after replying 401/403."""
        found = _AUTHORIZATION.match(self.request.headers.get("Authorization", ""))
        if not found:
            self.send_json(401, {"error": "no token: send the header 'Authorization: token <your token>'"})
            return None
        try:
            return await self.service.authentication.student_of(found.group(1))
        except NotAllowed as refusal:
            self.send_json(refusal.status, {"error": refusal.message})
            return None


class AboutHandler(JSONHandler):
    def get(self) -> None:
        self.send_json(200, {"service": SERVICE_NAME,
                             "what": "checks an answer of an ELEN 521 assignment before the deadline, within "
                                     "the assignment's policy; used from the notebook's Check buttons",
                             "authentication": self.service.authentication.description,
                             "api": ["POST api/check", "GET api/status/<assignment>", "GET api/attempts/<assignment>",
                                     "GET api/cases/<assignment>/<problem>", "GET api/health"]})


class HealthHandler(JSONHandler):
    async def get(self) -> None:
        try:
            await IOLoop.current().run_in_executor(self.service.executor, _ping, self.service.checker.store)
        except Exception as exc:    # any database failure: not ready, and why
            self.send_json(503, {"ready": False, "error": f"the course database does not answer: {type(exc).__name__}"})
            return
        self.send_json(200, {"ready": True})


def _ping(store: Store) -> None:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


@web.stream_request_body
class CheckHandler(JSONHandler):
    """POST api/check: the body is streamed and counted (module docstring)."""

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._refused = False
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY:
            self._too_big(int(declared))

    def _too_big(self, size: int) -> None:
        self._refused = True
        self.send_json(413, {"error": f"the answer is too big to check ({size:,} bytes or more; at most {MAX_BODY:,})"})

    def data_received(self, chunk: bytes) -> None:
        if self._refused:
            return
        self._received += len(chunk)
        if self._received > MAX_BODY:
            self._chunks.clear()
            self._too_big(self._received)
            return
        self._chunks.append(chunk)

    async def post(self) -> None:
        student = await self.authenticated_student()
        if student is None:
            return
        self.send_reply(await self.service.checker.check_async(student, b"".join(self._chunks),
                                                                   self.service.executor))


class StatusHandler(JSONHandler):
    async def get(self, assignment: str) -> None:
        student = await self.authenticated_student()
        if student is not None:
            self.send_reply(await self.service.run(self.service.checker.status, student, assignment))


class AttemptsHandler(JSONHandler):
    async def get(self, assignment: str) -> None:
        student = await self.authenticated_student()
        if student is not None:
            self.send_reply(await self.service.run(self.service.checker.attempts_of, student, assignment))


def _round(handler: JSONHandler, name: str) -> int | None | Reply:
    """The practice round named by the query argument `name` (None without one), or the refusal."""
    text = handler.get_query_argument(name, None)
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_PRACTICE_VARIANT:
        return Reply.refused(400, f"{name}: a round number from 1 to {MAX_PRACTICE_VARIANT:,}")
    return int(text)


class CasesHandler(JSONHandler):
    async def get(self, assignment: str, problem: str) -> None:
        student = await self.authenticated_student()
        if student is None:
            return
        practice = _round(self, "practice")
        if isinstance(practice, Reply):
            self.send_reply(practice)
            return
        self.send_reply(self.service.checker.cases(student, assignment, problem, practice))   # drawing only: on the loop


class PracticeHandler(JSONHandler):
    """The problem on a practice round's numbers, once answers stop counting (grader.service.practice)."""

    async def get(self, assignment: str, problem: str) -> None:
        student = await self.authenticated_student()
        if student is None:
            return
        number = _round(self, "round")
        if isinstance(number, Reply):
            self.send_reply(number)
            return
        self.send_reply(await self.service.run(practice_round, self.service.checker, student, assignment, problem,
                                               number or 1))


class ClientHandler(web.RequestHandler):
    """The notebook's client code (grader/service/client.py with the answer codec), for any caller: it
    holds no data, and a notebook fetches it before it has shown anything."""

    def initialize(self, service: Service) -> None:
        self.service = service

    def get(self) -> None:
        self.set_header("Content-Type", "text/x-python; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(client_text())


@functools.lru_cache(maxsize=1)
def client_text() -> str:
    return client_source()


class NotFoundHandler(JSONHandler):
    def prepare(self) -> None:
        self.send_json(404, {"error": f"no such route: {self.request.method} {self.request.path} "
                                      f"(the API is under {self.application.settings['prefix']}api/)"})


def route_prefix(prefix: str) -> str:
    """'/services/grader-checks/' from JUPYTERHUB_SERVICE_PREFIX (or '/'), with both slashes."""
    return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"


def make_application(service: Service, prefix: str = "/") -> web.Application:
    prefix = route_prefix(prefix)
    base = re.escape(prefix)
    part = r"([^/]+)"
    handlers: list[Any] = [
        (base, AboutHandler),
        (base + r"api/health", HealthHandler),
        (base + r"api/check", CheckHandler),
        (base + rf"api/status/{part}", StatusHandler),
        (base + rf"api/attempts/{part}", AttemptsHandler),
        (base + rf"api/cases/{part}/{part}", CasesHandler),
        (base + rf"api/practice/{part}/{part}", PracticeHandler),
        (base + r"client\.py", ClientHandler),
    ]
    if prefix != "/":
        handlers.append((re.escape(prefix.rstrip("/")), AboutHandler))
    return web.Application([(pattern, handler, {"service": service}) for pattern, handler in handlers],
                           default_handler_class=NotFoundHandler, default_handler_args={"service": service},
                           prefix=prefix, compress_response=False, xsrf_cookies=False)


# --- running it ----------------------------------------------------------------------------------------

@dataclass
class Listening:
    url: str
    port: int


async def serve(checker: Checker, authentication_for: Any, ip: str, port: int, prefix: str,
                on_listening: Any, stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then stop accepting, let the checks already graded reach the
    database, and return. `authentication_for(executor)` makes the Authentication (it may need the
    pool). The Checker gets a GroupRecorder of its store unless it has one (then the caller closes it)."""
    from tornado.netutil import bind_sockets

    from grader.attempts.store import GroupRecorder

    executor = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="grader-check")
    try:
        sockets = bind_sockets(port, address=ip)
    except OSError as exc:
        executor.shutdown()
        raise GraderError(f"cannot listen on {ip}:{port}: {exc.strerror}") from None
    own_recorder = checker.recorder is None
    if own_recorder:
        checker.recorder = GroupRecorder(checker.store)
    service = Service(checker, authentication_for(executor), executor)
    server = HTTPServer(make_application(service, prefix), max_body_size=SERVER_MAX_BODY)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    host = f"[{ip}]" if ":" in ip else ip
    on_listening(Listening(f"http://{host}:{bound}{route_prefix(prefix)}", bound), service)
    try:
        await stop.wait()
    finally:
        server.stop()
        await server.close_all_connections()
        if own_recorder:
            checker.recorder.close()         # the checks it holds are written first
        executor.shutdown(wait=True)
