"""`make run` (scripts/run.py) starts everything, and Ctrl-C leaves nothing behind.

One boot (about 20 s): SIGTERM takes the same path as Ctrl-C in scripts/run.py (one
handler for both signals sets the same stop event), so a second boot would test nothing
the first does not."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mercado_devtools.processes import free_port, wait_until
from mercado_shared.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reachable_tmp() -> Iterator[Path]:
    """A folder the postgres user can reach (pytest's own tmp_path is closed to others)."""
    path = Path(tempfile.mkdtemp(prefix="mv-make-run-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


Process = tuple[int, int]  # pid and start time: pids are recycled fast (pid_max is small)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> set[Process]:
    children: dict[int, list[Process]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append((int(entry.name), int(fields[19])))
    found: set[Process] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def alive(process: Process) -> bool:
    fields = _stat(process[0])
    return fields is not None and int(fields[19]) == process[1] and fields[0] != "Z"  # a zombie is gone


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_serves_the_system_and_stops_on_ctrl_c_without_leaving_a_process(reachable_tmp: Path) -> None:
    tmp_path = reachable_tmp
    ports = {s.port_env: free_port() for s in SERVICES}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "PG_PORT": str(free_port()),
        "PUBSUB_EMULATOR_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
        "STORAGE_EMULATOR_PORT": str(free_port()),
        "PIX_PROVIDER_PORT": str(free_port()),
        "GATEWAY_PORT": str(origin := free_port()),
        "RUN_DIR": str(tmp_path / "run"),
        "STAFF_EMAIL": "staff@run.local",
        "STAFF_PASSWORD": "staff-run-password",
    }
    env.pop("DATABASE_URL", None)
    env.pop("PUBSUB_EMULATOR_HOST", None)
    with open(tmp_path / "run.log", "wb") as log:
        runner = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:

            def serving() -> bool:
                assert runner.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
                return all(httpx.get(f"http://127.0.0.1:{p}/health").status_code == 200 for p in ports.values())

            wait_until(serving, timeout=120, what="make run")
            token = httpx.post(
                f"http://127.0.0.1:{ports['CLIENTE_PORT']}/auth/token",
                data={"username": "staff@run.local", "password": "staff-run-password"},
            )
            assert token.status_code == 200  # the settings came from the environment
            # One origin, routed as the load balancer routes: the console, the API, nothing else.
            gateway = f"http://127.0.0.1:{origin}"
            console = httpx.get(f"{gateway}/console/")
            assert console.status_code == 200 and "console.js" in console.text
            assert "script-src 'self'" in console.headers["content-security-policy"]
            staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert httpx.get(f"{gateway}/operations/overview", headers=staff).status_code == 200
            assert httpx.get(f"{gateway}/metrics").status_code == 404  # not a public path
            started = descendants(runner.pid)
            assert len(started) >= 6  # postgres, the emulator, four services

            runner.send_signal(signal.SIGINT)
            assert runner.wait(timeout=60) == 0
        finally:
            if runner.poll() is None:
                runner.kill()
    assert not [p for p in started if alive(p)], (tmp_path / "run.log").read_text()[-3000:]
    assert not [port for port in [*ports.values(), origin] if port_in_use(port)]
