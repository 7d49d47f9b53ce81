"""A slow front end on 127.0.0.1: each HTTP request is held ``delay`` seconds, then passed on.

Like a gateway that queues requests, it forwards a request even when the
client has given up waiting (its read timeout), and answers the client only
if it is still there. One request per connection (``Connection: close`` both
ways), which keeps the relay simple.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body


class DelayingProxy:
    """Relays to ``upstream`` (host, port) after ``delay`` seconds; counts the requests it relayed."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.relayed = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _relay(self, client: socket.socket) -> None:
        with client:
            request = _read_request(client)
            if not request:
                return
            time.sleep(self.delay)  # the slow front end
            with socket.create_connection(self.upstream, timeout=30) as upstream:
                upstream.sendall(request)
                self.relayed += 1
                response = b""
                while chunk := upstream.recv(65536):
                    response += chunk
            with suppress(OSError):  # the client may have given up long ago
                client.sendall(response)

    def start(self) -> DelayingProxy:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop accepting and wait for requests still held (each is relayed before this returns)."""
        self._stopped.set()
        self._server.close()
        for thread in self._threads:
            thread.join(timeout=self.delay + 30)


@contextmanager
def delaying_proxy(upstream: tuple[str, int], delay: float) -> Iterator[DelayingProxy]:
    """A started :class:`DelayingProxy`, stopped (held requests relayed first) on exit."""
    proxy = DelayingProxy(upstream, delay).start()
    try:
        yield proxy
    finally:
        proxy.stop()
