"""The emulator's bearer token is passed on the command line; any token must survive argparse.

``secrets.token_urlsafe`` yields a leading ``-`` about one time in 32, which argparse
mistook for an option when passed as ``--token VALUE`` (a CI failure on record).
"""

from __future__ import annotations

import httpx

from tests.fixtures.emulator import start_emulator


def test_a_token_that_starts_with_a_dash_is_accepted(tmp_path):
    token = "-starts-with-a-dash_x"
    with start_emulator(token=token, log_dir=tmp_path) as emu, emu.client() as c:
        assert c.get(emu.arm_url("/batchEndpoints")).status_code == 200
        wrong = httpx.get(emu.arm_url("/batchEndpoints"), headers={"Authorization": "Bearer other"})
        assert wrong.status_code == 401
