"""ARM ids, type names and the URLs the emulator hands out."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import Any

PROVIDER = "Microsoft.MachineLearningServices"
WS_PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
TYPE_PREFIX = f"{PROVIDER}/workspaces"
#: The tenant the emulator's identities belong to.
TENANT_ID = "00000000-0000-0000-0000-000000000000"

_WS_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


def workspace_id(sub: str, rg: str, ws: str) -> str:
    """The ARM id of a workspace."""
    return WS_PATH.format(sub=sub, rg=rg, ws=ws)


def parse_workspace_id(arm_id: str) -> tuple[str, str, str, str] | None:
    """(sub, rg, ws, rest) of an ARM id below a workspace, or None."""
    match = _WS_RE.match(arm_id.strip())
    if not match:
        return None
    return match["sub"], match["rg"], match["ws"], match["rest"] or ""


def utc_now_iso(ts: float | None = None) -> str:
    """ISO 8601 UTC timestamp with milliseconds, as ARM writes them."""
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def system_data(created: dict[str, Any] | None = None) -> dict[str, Any]:
    """``systemData`` for a new (or, with ``created``, an updated) resource."""
    now = utc_now_iso()
    base = created or {"createdAt": now, "createdBy": "mlendpoints-emulator", "createdByType": "User"}
    return {
        "createdAt": base["createdAt"],
        "createdBy": base.get("createdBy", "mlendpoints-emulator"),
        "createdByType": base.get("createdByType", "User"),
        "lastModifiedAt": now,
        "lastModifiedBy": "mlendpoints-emulator",
        "lastModifiedByType": "User",
    }


def new_key() -> str:
    """A random endpoint key."""
    return secrets.token_urlsafe(32)


def new_id() -> str:
    """A random operation or job id."""
    return str(uuid.uuid4())


def studio_url(sub: str, rg: str, ws: str, job: str) -> str:
    """The Studio link of a job, as the service builds it."""
    return (
        f"https://ml.azure.com/runs/{job}?wsid=/subscriptions/{sub}/resourcegroups/{rg}"
        f"/workspaces/{ws}&tid=00000000-0000-0000-0000-000000000000"
    )
