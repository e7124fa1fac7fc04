"""Servers on loopback for a script or a test: a free port, and waiting until one answers.

Why here: benchmarks import no tests, and the tests start the same servers, so both read
these two helpers from this one place.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(
    url: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 600
) -> None:
    """Until GET `url` answers 200; fails with the server's log when it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log.read_text()}")
        time.sleep(0.5)
