"""A real ``jupyter server`` process on loopback, for tests: start, REST calls, stop."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.url}/api/contents/{path}",
            params={"content": 1},
            headers=self.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        model: dict[str, Any] = response.json()
        return model

    def put(self, path: str, model: Mapping[str, Any]) -> dict[str, Any]:
        response = requests.put(
            f"{self.url}/api/contents/{path}",
            data=json.dumps(model),
            headers=self.headers,
            timeout=60,
        )
        assert response.status_code in (200, 201), response.text
        saved: dict[str, Any] = response.json()
        return saved


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """Jupyter's config, data and runtime folders under ``home``: nothing of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBRULES_"))}
    for name in ("config", "data", "runtime"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_PLATFORM_DIRS="0",
        **extra,
    )
    return env


@contextmanager
def jupyter_server(
    root: Path,
    home: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    executable: str = sys.executable,
) -> Iterator[Server]:
    """Run ``jupyter server`` serving ``root`` until the block ends."""
    port, token = free_port(), secrets.token_hex(16)
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"server-{port}.log"
    command = [
        executable, "-m", "jupyter_server", "--allow-root", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}", *args,
    ]  # fmt: skip
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, env=dict(env or isolated_env(home)), stdout=handle, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", token, log)
    try:
        _wait(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"jupyter server exited:\n{server.log.read_text()[-3000:]}")
        try:
            requests.get(f"{server.url}/api/status", headers=server.headers, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
            continue
        return
    raise AssertionError(f"jupyter server did not start:\n{server.log.read_text()[-3000:]}")
