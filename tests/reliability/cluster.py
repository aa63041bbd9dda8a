"""A throwaway PostgreSQL cluster for fault tests: initdb into a temporary
folder, its own free port, started and killed with pg_ctl. The machine's
shared PostgreSQL is never touched. As root, the cluster runs as the
`postgres` user (initdb refuses root)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gp_fault_pg_"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgis://fault:fault@127.0.0.1:{self.port}/fault"

    def _run(self, *args, check=True, timeout=120):
        cmd = [str(a) for a in args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout, cwd="/")

    def init(self) -> "Cluster":
        self._run(BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = on\nmax_connections = 60\nshared_buffers = 64MB\n")
        self.start()
        self.psql("postgres", "create role fault login superuser password 'fault'")
        self.psql("postgres", "create database fault owner fault")
        self.psql("fault", "create extension postgis")
        return self

    def start(self):
        self._run(BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log.txt", "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate"):
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True, timeout=120,
        )
        return out.stdout.strip()

    def migrate(self):
        env = {**os.environ, "DATABASE_URL": self.url}
        env.pop("GEO_PLATFORM_TEST_DB", None)
        subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
                       cwd=ROOT, env=env, check=True, timeout=600)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate, timeout: float, step: float = 0.05) -> float | None:
    """Seconds until predicate() is true, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(step)
    return None
