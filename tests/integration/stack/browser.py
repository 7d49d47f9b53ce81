"""Headless Chromium driven over the DevTools protocol (a websocket, with aiohttp): enough to
open a page, wait for text, click, type, read the DOM and take a screenshot.

Debian's ``chromium`` (``make chromium``); :func:`chromium_path` skips the test with a reason
when it is not installed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.emulator import free_port


def chromium_path() -> str:
    """The chromium binary, or a skip naming how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (Debian: `make chromium`, i.e. apt-get install chromium)")
    return found


class Browser:
    """One page of a headless Chromium; every method blocks until its DevTools call answers."""

    def __init__(self, ws_url: str) -> None:
        import aiohttp

        self._loop = asyncio.new_event_loop()
        self._session = self._loop.run_until_complete(self._open_session(aiohttp))
        self._ws = self._loop.run_until_complete(self._session.ws_connect(ws_url, max_msg_size=0))
        self._id = 0

    @staticmethod
    async def _open_session(aiohttp: Any) -> Any:
        return aiohttp.ClientSession()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command; its result (events in between are dropped)."""
        self._id += 1
        ident = self._id

        async def exchange() -> dict[str, Any]:
            await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads((await self._ws.receive(timeout=60)).data)
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})

        return self._loop.run_until_complete(exchange())

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                last = self.evaluate(expression)
                if last:
                    return last
            time.sleep(0.3)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise TimeoutError(f"not true after {timeout:.0f}s: {expression}\npage text:\n{text}")

    def click(self, element_expression: str) -> None:
        """A real mouse click (pressed + released) at the centre of the element the expression finds."""
        box = self.evaluate(
            f"(() => {{ const e = {element_expression}; e.scrollIntoView({{block: 'center'}}); "
            "const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", text=text)

    def press(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    def screenshot(self, path: Path) -> Path:
        """The page as a PNG at ``path``; also kept in ``$MLENDPOINTS_SCREENSHOT_DIR`` when set."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        keep = os.environ.get("MLENDPOINTS_SCREENSHOT_DIR")
        if keep:
            shutil.copy(path, Path(keep) / path.name)
        return path

    def close(self) -> None:
        self._loop.run_until_complete(self._ws.close())
        self._loop.run_until_complete(self._session.close())
        self._loop.close()


@contextlib.contextmanager
def headless_chromium(width: int = 1280, height: int = 1000) -> Iterator[Browser]:
    """A headless Chromium with one blank page; stopped (by its pid) afterwards."""
    binary = chromium_path()
    port = free_port()
    profile = tempfile.mkdtemp(prefix="mlendpoints-chromium-")
    proc = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         f"--remote-debugging-port={port}", f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    browser = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    pages = [p for p in json.loads(response.read()) if p.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.3)
        browser = Browser(pages[0]["webSocketDebuggerUrl"])
        browser.call("Page.enable")
        yield browser
    finally:
        if browser is not None:
            browser.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
