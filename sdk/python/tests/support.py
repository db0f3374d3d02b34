"""Real processes for the tests: the node (`resonate dev`), TypeScript
workers (`tsx`), Python workers; each in its own process group so a SIGKILL
takes everything it started, and every one still running is killed at exit."""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
TSX = REPO / "node_modules" / ".bin" / "tsx"

_running: List["Proc"] = []


class Proc:
    def __init__(self, name: str, args: List[str], env: Optional[Dict[str, str]] = None, cwd: Path = REPO):
        self.name = name
        self.output = ""
        self._lock = threading.Lock()
        full_env = {**os.environ, "RESONATE_LOG_LEVEL": os.environ.get("RESONATE_LOG_LEVEL", "warn"), **(env or {})}
        self.popen = subprocess.Popen(args, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        _running.append(self)

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in iter(self.popen.stdout.readline, b""):
            with self._lock:
                self.output += line.decode("utf-8", "replace")

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output)
            if m:
                return m
            if not self.running:
                raise AssertionError(f"{self.name} exited before printing {pattern!r}:\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not print {pattern!r} within {timeout}s:\n{self.output}")

    def signal(self, sig: int) -> None:
        if self.running:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def crash(self) -> None:
        """SIGKILL it and what it started."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.crash()


@atexit.register
def _kill_all() -> None:
    for p in _running:
        p.signal(signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_node(port: int = 0) -> "tuple[Proc, str]":
    """`resonate dev --port <port, default a free one>`, ready once GET /ready answers 200."""
    port = port or free_port()
    proc = Proc("node", ["node", str(REPO / "node/bin/resonate.js"), "dev", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if not proc.running:
            raise AssertionError(f"the node exited early:\n{proc.output}")
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as res:
                return res.status == 200
        except OSError:
            return False

    wait_until(f"the node on {url}", ready, 60)
    return proc, url


def start_ts_worker(url: str, group: str, py_group: str, count_file: str = "") -> Proc:
    proc = Proc(f"ts worker {group}", [str(TSX), str(HERE / "ts" / "worker.ts")],
                env={"RESONATE_URL": url, "TS_GROUP": group, "PY_GROUP": py_group, "COUNT_FILE": count_file})
    proc.wait_for(r"ts worker ready", 60)
    return proc


def start_py_worker(script: str, url: str, **env: str) -> Proc:
    proc = Proc(f"python worker {script}", [sys.executable, str(HERE / "workers" / script)],
                env={"RESONATE_URL": url, **env})
    proc.wait_for(r"python worker ready", 30)
    return proc


def temp_path(name: str) -> str:
    return os.path.join(tempfile.mkdtemp(prefix="resonate-py-"), name)


def start_nats(port: int = 0, store: Optional[str] = None) -> "tuple[Proc, str]":
    """`nats-server -js` on 127.0.0.1 (a free port when 0), its store in `store` (a restart after a crash)
    or a fresh temporary directory."""
    store = store or tempfile.mkdtemp(prefix="resonate-py-nats-")
    proc = Proc("nats-server", [os.environ.get("NATS_SERVER", "nats-server"), "-a", "127.0.0.1", "-p", str(port or -1),
                                "-js", "--store_dir", store])
    match = proc.wait_for(r"Listening for client connections on [^\s]*:(\d+)", 30)
    proc.wait_for(r"Server is ready", 30)
    return proc, f"nats://127.0.0.1:{match.group(1)}"


def start_jetstream_node(nats_port: int, ready: bool = True) -> "tuple[Proc, str]":
    """`resonate serve --store jetstream` with its NATS on `nats_port`. With `ready=False`, NATS is not up yet:
    the node serves but is not ready, and answers every request 503 UNAVAILABLE until NATS is there."""
    port = free_port()
    proc = Proc("node", ["node", str(REPO / "node/bin/resonate.js"), "serve", "--host", "127.0.0.1", "--port", str(port),
                         "--store", "jetstream", "--nats", f"nats://127.0.0.1:{nats_port}", "--replicas", "1"])
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        if not proc.running:
            raise AssertionError(f"the node exited early:\n{proc.output}")
        return ready_status(url) == (200 if ready else 503)

    wait_until(f"the node to serve, {'ready' if ready else 'not ready'}, on {url}", serving, 60)
    return proc, url


def ready_status(url: str) -> Optional[int]:
    """The node's GET /ready status, None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as res:
            return res.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None
