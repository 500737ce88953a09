"""The check service over real HTTP, as students and attackers reach it (issue #21, item 7).

Each test starts `python -m grader serve-checks --no-hub` as a subprocess on a free port of
127.0.0.1, in a course of its own (service_kit.py), with course tokens issued as `distribute`
issues them. What the service recorded is counted in the SQLite database directly, not through
the service: a refused check must leave no row.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from service_kit import CHECKS, DUE, free_port

from grader import engine
from grader.attempts.store import Store
from grader.bank import load_bank
from grader.service.check import MAX_BODY
from grader.variants import draw_for

pytestmark = pytest.mark.server

START_TIMEOUT = 60.0


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict

    @property
    def text(self) -> str:
        return json.dumps(self.body)


@dataclass
class RunningService:
    """One `grader serve-checks --no-hub` process; `restart()` starts it again on the same port."""

    course: Path
    port: int
    process: subprocess.Popen | None = None
    output: list[str] = field(default_factory=list)

    def start(self) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTERHUB_")}
        self.output = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader", "serve-checks", "--no-hub", "--course", str(self.course),
             "--port", str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"serve-checks exited {self.process.returncode}: {''.join(self.output)}")
            if any("listening on" in line for line in self.output):
                return
            time.sleep(0.05)
        raise AssertionError(f"serve-checks did not listen within {START_TIMEOUT} s: {''.join(self.output)}")

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(20)

    def request(self, method: str, path: str, body: bytes | dict | None = None, token: str | None = None,
                headers: dict | None = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"token {token}"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw))

    def check(self, token: str | None, problem: str, answer, assignment: str = "hw", **extra) -> Reply:
        return self.request("POST", "/api/check", {"assignment": assignment, "problem": problem, "answer": answer,
                                                   **extra}, token)


def rows(course: Path, where: str = "1=1", parameters: tuple = ()) -> list[tuple]:
    """The recorded checks, read with sqlite3 (not through the service or the store)."""
    with sqlite3.connect(course / "gradebook.db") as connection:
        return connection.execute(f"SELECT student, problem, try_number FROM grader_check_attempts WHERE {where} "
                                  f"ORDER BY id", parameters).fetchall()


@pytest.fixture
def service(service_course):
    running = RunningService(service_course, free_port())
    running.start()
    yield running
    if running.process.poll() is None:
        running.kill()


@pytest.fixture
def tokens(service_course):
    store = Store(f"sqlite:///{service_course}/gradebook.db", "service-kit")
    return {student: store.issue_token(student) for student in ("ada", "ben")}


def expected_mse(course: Path, student: str, problem: str = "mse") -> float:
    bank = load_bank(course / "questions.yaml")
    values = draw_for(bank, bank.problems[problem], "hw", student)
    return float(engine.mse(values["y"], values["p"]))


# --- who is asking ----------------------------------------------------------------------------------

def test_no_token_or_a_foreign_token_is_401(service, tokens, tmp_path):
    assert service.check(None, "mse", 1.0).status == 401
    assert service.request("POST", "/api/check", {"assignment": "hw", "problem": "mse", "answer": 1.0},
                           headers={"Authorization": "Basic YWRhOmFkYQ=="}).status == 401
    assert service.check("not-a-token", "mse", 1.0).status == 401
    other_course = tmp_path / "other.db"
    foreign = Store(f"sqlite:///{other_course}", "other-course").issue_token("ada")   # ada's, of another course
    refused = service.check(foreign, "mse", 1.0)
    assert refused.status == 401 and "unknown token" in refused.body["error"]
    assert refused.headers["www-authenticate"].startswith("token")
    for path in ("/api/status/hw", "/api/attempts/hw", "/api/cases/hw/sig"):
        assert service.request("GET", path).status == 401
        assert service.request("GET", path, token=foreign).status == 401
    assert rows(service.course) == []


def test_a_reissued_token_replaces_the_old_one(service, tokens):
    store = Store(f"sqlite:///{service.course}/gradebook.db", "service-kit")
    new = store.issue_token("ada")
    assert service.check(tokens["ada"], "mse", 1.0).status == 401
    assert service.check(new, "mse", 1.0).status == 200
    assert rows(service.course) == [("ada", "mse", 1)]


def test_another_students_id_in_the_body_is_ignored(service, tokens):
    reply = service.check(tokens["ada"], "mse", 1.0, student="ben")
    assert reply.status == 200
    assert rows(service.course) == [("ada", "mse", 1)]
    assert service.request("GET", "/api/attempts/hw", token=tokens["ben"]).body["attempts"] == []


# --- what is refused, and that it records nothing -------------------------------------------------------

def test_an_oversize_body_is_413_without_being_read(service, tokens):
    big = service.request("POST", "/api/check", b" " * (MAX_BODY + 1), tokens["ada"])
    assert big.status == 413 and "too big" in big.body["error"]
    # a declared gigabyte: the reply comes at once, long before such a body could have been sent
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as raw:
        raw.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\nAuthorization: token " + tokens["ada"].encode()
                    + b"\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"assignment\": ")
        answer = raw.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert rows(service.course) == []


def test_malformed_checks_are_400_with_a_message(service, tokens):
    not_json = service.request("POST", "/api/check", b"{assignment: hw", tokens["ada"])
    assert not_json.status == 400 and not_json.body["error"] == "the check could not be read (not JSON)"
    bad_answer = service.check(tokens["ada"], "mse", {"$array": {"dtype": "float64", "shape": [2], "data": [1]}})
    assert bad_answer.status == 400 and bad_answer.body["error"].startswith("the answer could not be read: ")
    missing = service.request("POST", "/api/check", {"assignment": "hw", "problem": "mse"}, tokens["ada"])
    assert missing.status == 400 and "an assignment, a problem and an answer" in missing.body["error"]
    bad_round = service.request("GET", "/api/cases/hw/sig?practice=zero", token=tokens["ada"])
    assert bad_round.status == 400 and "practice" in bad_round.body["error"]
    assert rows(service.course) == []


def test_unknown_problems_assignments_and_routes_are_404_json(service, tokens):
    unknown = service.check(tokens["ada"], "no-such-problem", 1.0)
    assert unknown.status == 404 and unknown.body["error"] == "hw has no problem 'no-such-problem'"
    assert service.check(tokens["ada"], "mse", 1.0, assignment="no-such").status == 404
    assert service.request("GET", "/api/status/no-such", token=tokens["ada"]).status == 404
    route = service.request("GET", "/api/nothing-here", token=tokens["ada"])
    assert route.status == 404 and "no such route" in route.body["error"]
    wrong_method = service.request("GET", "/api/check", token=tokens["ada"])
    assert wrong_method.status == 405 and "error" in wrong_method.body
    assert rows(service.course) == []


def test_over_the_limit_and_too_soon_are_429_with_retry_after(service, tokens):
    for number in range(1, CHECKS + 1):
        assert service.check(tokens["ada"], "mse", 1.0).body["try"] == number
    over = service.check(tokens["ada"], "mse", 1.0)
    assert over.status == 429 and "no checks of mse left" in over.body["error"]
    closes = (DUE + dt.timedelta(days=2)).timestamp()      # when practice opens
    assert abs(int(over.headers["retry-after"]) - (closes - time.time())) < 5
    assert service.check(tokens["ada"], "slow", 1.0).status == 200
    soon = service.check(tokens["ada"], "slow", 1.0)
    assert soon.status == 429 and "too soon" in soon.body["error"]
    assert 3590 <= int(soon.headers["retry-after"]) <= 3600
    assert rows(service.course) == [("ada", "mse", 1), ("ada", "mse", 2), ("ada", "mse", 3), ("ada", "slow", 1)]


def test_after_the_deadline_checks_are_practice(service, tokens):
    # `past` closed in 2020 (due, then one day of late credit): checks count for nothing
    reply = service.check(tokens["ada"], "mse", 1.0, assignment="past")
    assert reply.status == 200 and reply.body["practice"] is True and reply.body["try"] is None
    assert "Practice: this check counts for nothing." in reply.body["message"]
    status = service.request("GET", "/api/status/past", token=tokens["ada"]).body
    assert status["practice"] is True and status["problems"]["mse"]["left"] is None
    assert rows(service.course) == [("ada", "mse", None)]


# --- what survives, what is never shown -------------------------------------------------------------------

def test_a_killed_service_restarts_with_every_check_kept(service, tokens):
    for _ in range(2):
        assert service.check(tokens["ada"], "mse", 1.0).status == 200
    service.kill()
    service.start()
    status = service.request("GET", "/api/status/hw", token=tokens["ada"]).body["problems"]["mse"]
    assert (status["used"], status["left"]) == (2, 1)
    third = service.check(tokens["ada"], "mse", 1.0)
    assert third.status == 200 and third.body["try"] == 3 and third.body["checks_left"] == 0
    assert service.check(tokens["ada"], "mse", 1.0).status == 429
    assert len(service.request("GET", "/api/attempts/hw", token=tokens["ada"]).body["attempts"]) == 3
    assert rows(service.course) == [("ada", "mse", 1), ("ada", "mse", 2), ("ada", "mse", 3)]


def test_the_key_and_other_students_checks_are_never_returned(service, tokens):
    expected = {student: expected_mse(service.course, student) for student in tokens}
    assert expected["ada"] != expected["ben"]          # keyed per student: their own numbers
    replies = [service.check(tokens["ada"], "mse", expected["ada"] * 2),
               service.check(tokens["ada"], "mse-mis", 1.0),
               service.check(tokens["ada"], "mse", expected["ada"])]
    assert replies[-1].body["verdict"] == "right"
    ben_attempts = service.request("GET", "/api/attempts/hw", token=tokens["ben"])
    assert ben_attempts.status == 200 and ben_attempts.body["attempts"] == []
    assert service.request("GET", "/api/status/hw", token=tokens["ben"]).body["problems"]["mse"]["used"] == 0
    replies += [ben_attempts, service.request("GET", "/api/attempts/hw", token=tokens["ada"]),
                service.request("GET", "/api/status/hw", token=tokens["ada"]),
                service.request("GET", "/api/cases/hw/mse", token=tokens["ada"]),
                service.request("GET", "/"), service.request("GET", "/api/health")]
    for reply in replies:
        for value in expected.values():
            for spelling in (repr(value), f"{value:.6g}", f"{value:.4g}"):
                assert spelling not in reply.text, f"{spelling} in {reply.text}"
        assert "ben" not in reply.text or reply is ben_attempts


def test_twenty_simultaneous_checks_spend_exactly_the_three_allowed(service, tokens):
    start = threading.Barrier(20)

    def one_check(_):
        start.wait()
        return service.check(tokens["ada"], "mse", 1.0)

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(one_check, range(20)))
    assert sorted(r.status for r in replies) == [200] * CHECKS + [429] * (20 - CHECKS)
    assert sorted(r.body["try"] for r in replies if r.status == 200) == [1, 2, 3]
    assert all("retry-after" in r.headers for r in replies if r.status == 429)
    assert sorted(rows(service.course)) == [("ada", "mse", 1), ("ada", "mse", 2), ("ada", "mse", 3)]


def test_about_health_and_a_clean_stop(service):
    about = service.request("GET", "/")
    assert about.status == 200 and about.body["service"] == "grader-checks"
    assert about.body["authentication"] == "course tokens (no hub)"
    assert service.request("GET", "/api/health").body == {"ready": True}
    line = next(line for line in service.output if "listening on" in line)
    assert f"http://127.0.0.1:{service.port}/" in line and "course tokens" in line and "gradebook.db" in line
    assert service.stop() == 0
    time.sleep(0.2)     # the reader thread takes the last lines
    assert any(line.startswith("grader serve-checks: stopped") for line in service.output)
    assert not any("token " in line for line in service.output if "listening" not in line)    # the log shows no token


def test_two_services_on_one_database_never_spend_a_try_twice(service, tokens):
    """Each service keeps its own copy of a student's checks: the database's unique try decides, and
    the service that lost a race answers 429 (try again) with nothing recorded."""
    second = RunningService(service.course, free_port())
    second.start()
    try:
        start = threading.Barrier(20)

        def one_check(number):
            start.wait()
            return (service if number % 2 else second).check(tokens["ada"], "mse", 1.0)

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(one_check, range(20)))
    finally:
        second.kill()
    assert sorted(r.status for r in replies) == [200] * CHECKS + [429] * (20 - CHECKS)
    assert all("retry-after" in r.headers for r in replies if r.status == 429)
    assert sorted(rows(service.course)) == [("ada", "mse", 1), ("ada", "mse", 2), ("ada", "mse", 3)]
