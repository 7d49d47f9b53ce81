"""``mlendpoints emulator``: serve the workspace emulator until SIGTERM/SIGINT.

With ``--ssl-certfile``/``--ssl-keyfile`` it serves HTTPS (what Microsoft's
azure-ai-ml SDK requires before it sends a bearer token).

Prints one start-up line: the URL, the workspace base path to use (any
subscription / resource group / workspace works; the line shows an example)
and the bearer token (the development token ``mlendpoints-dev-token`` when
``--token`` is not given; a token given on the command line is not echoed).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Generator
from typing import Any

from .config import DEV_TOKEN, EmulatorConfig

EXAMPLE_WORKSPACE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def _server_class() -> type:
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn's server, but SIGTERM/SIGINT end it gracefully with exit code 0 (not re-raised)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            def handler(sig: int, _frame: Any) -> None:
                if self.should_exit:
                    self.force_exit = True
                self.should_exit = True

            previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, old in previous.items():
                    signal.signal(sig, old)

    return _Server


def run_emulator(args: Any) -> int:
    """Run the emulator with the CLI arguments (host, port, token, state, spec); the exit code."""
    import uvicorn

    from .app import create_app

    try:
        config = EmulatorConfig.from_args(args)
        app = create_app(config)
    except (ValueError, OSError) as exc:
        print(f"mlendpoints emulator: {exc}", file=sys.stderr)
        return 2
    token_note = (
        f"{DEV_TOKEN} (the development default token)" if config.token == DEV_TOKEN else "<the --token value>"
    )
    certfile, keyfile = getattr(args, "ssl_certfile", None), getattr(args, "ssl_keyfile", None)
    if bool(certfile) != bool(keyfile):
        print("mlendpoints emulator: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    url = f"{'https' if certfile else 'http'}://{config.host}:{config.port}"
    print(
        f"mlendpoints emulator listening on {url} | workspace base path {EXAMPLE_WORKSPACE} "
        f"(any subscription/resourceGroup/workspace) | Authorization: Bearer {token_note}",
        flush=True,
    )
    server = _server_class()(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            lifespan="off",
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    )
    try:
        server.run()  # installs SIGINT/SIGTERM handlers and returns after a graceful shutdown
    finally:
        app.state.emu.shutdown()
    return 0
