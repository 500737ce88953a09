"""A private, throwaway PostgreSQL server, for the tests and `make bench-cluster`.

    with PrivatePostgres() as server:
        db_url = server.create_database("gradebook")     # postgresql://postgres@127.0.0.1:PORT/gradebook

initdb in a new temporary directory with the machine's server binaries (Debian's `postgresql`
package puts them under /usr/lib/postgresql/VERSION/bin), listening on a free loopback port only,
trust authentication. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user (or `nobody`) through setpriv, in a directory owned by that user.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from grader.errors import GraderError

SEARCH = "/usr/lib/postgresql/*/bin"


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(Path("/").glob(SEARCH.lstrip("/")), key=lambda p: _version(p.parent.name))
    for bindir in reversed(versions):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _version(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL server of our own. `durable=False` turns fsync off (tests); the bench keeps it on."""

    def __init__(self, durable: bool = True):
        self.bindir = server_binaries()
        if self.bindir is None:
            raise GraderError(f"no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in {SEARCH}; "
                              f"install Debian's postgresql package")
        self.durable = durable
        self.port = None
        self.root = None

    def _as_server_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
            except KeyError:
                continue
            self._owner = (user.pw_uid, user.pw_gid)
            return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
        raise GraderError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._prefix, *command], capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise GraderError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{tail}")

    def start(self) -> "PrivatePostgres":
        self._owner = None
        self._prefix = self._as_server_user()
        self.root = Path(tempfile.mkdtemp(prefix="grader-postgres-"))
        if self._owner:
            os.chown(self.root, *self._owner)
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-instructions")
        self.port = free_port()
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.root}"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
                  "-o", " ".join(options), "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        if self.port is not None:
            subprocess.run([*self._prefix, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                            "-m", "immediate", "-w", "stop"], capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = self.port = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
