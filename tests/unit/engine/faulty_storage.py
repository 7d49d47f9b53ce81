"""Real storage that breaks on purpose: a small tmpfs, and an HTTP proxy before Azurite that fails writes.

- :func:`small_tmpfs`: mounts a tmpfs of a few hundred KiB (needs root; the caller skips otherwise)
  that can be grown afterwards, so a job runs out of space and then resumes.
- :class:`FailingBlobProxy`: forwards every request to a real Azurite; once ``fail_after`` PUTs
  below ``path_part`` went through, further such PUTs get ``503 ServerBusy`` (Azure's throttling
  answer; ``mode="throttle"``) or have their connection closed without an answer
  (``mode="drop"``, a lost connection) until :meth:`heal` is called.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "512k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``folder`` (created); skip the test when that is not possible."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def grow_tmpfs(folder: Path, size: str = "64m") -> None:
    """Give the mounted tmpfs at ``folder`` more space (the "cause is fixed")."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


class FailingBlobProxy:
    """A forwarding proxy on 127.0.0.1 before ``upstream`` (``http://host:port``) that fails writes."""

    def __init__(self, upstream: str, *, path_part: str, fail_after: int, mode: str = "throttle") -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.path_part = path_part
        self.fail_after = fail_after
        self.mode = mode
        self.passed = 0
        self.refused = 0
        self.healed = False
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "PUT" and proxy.path_part in self.path and proxy._refuse():
                    if proxy.mode == "drop":
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    message = b"<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>throttled</Message></Error>"
                    self.send_response(503)
                    self.send_header("x-ms-error-code", "ServerBusy")
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    if body is not None:
                        headers["Content-Length"] = str(len(body))
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in HOP_HEADERS:
                            self.send_header(key, value)
                    if self.command == "HEAD":
                        self.send_header("Content-Length", answer.getheader("Content-Length") or "0")
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _refuse(self) -> bool:
        with self._lock:
            if self.healed or self.passed < self.fail_after:
                self.passed += 1
                return False
            self.refused += 1
            return True

    def heal(self) -> None:
        """Let every request through from now on."""
        with self._lock:
            self.healed = True

    def __enter__(self) -> FailingBlobProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
