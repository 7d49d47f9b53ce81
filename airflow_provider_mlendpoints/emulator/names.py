"""Azure's rules for the names of the resources a PUT creates.

Endpoints (batch and online) follow the service's rule, which the azure-ai-ml
SDK checks too: 3 to 32 characters, a letter first, then letters, digits or
hyphens, ending with a letter or digit. Deployments follow the same rule but
for the 3-character minimum, which the emulator does not enforce (the service
has taken shorter deployment names; the emulator is never the stricter one). Everything else
(asset names and versions, computes, jobs, datastores) follows the REST spec's
path pattern ``^[a-zA-Z0-9][a-zA-Z0-9\\-_]{0,254}$``.
"""

from __future__ import annotations

import re

_ENDPOINT = re.compile(r"^[a-zA-Z](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_GENERIC = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
_VERSION = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$")
_WS = r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+"
#: (path pattern of a PUT, what it names, whose rule applies)
_PUT_PATHS = (
    (re.compile(_WS + r"/(?:batch|online)Endpoints/(?P<name>[^/]+)$", re.I), "endpoint", _ENDPOINT),
    (re.compile(_WS + r"/(?:batch|online)Endpoints/[^/]+/deployments/(?P<name>[^/]+)$", re.I), "deployment", _ENDPOINT),
    (re.compile(_WS + r"/(?:codes|models|environments|data)/(?P<name>[^/]+)/versions/[^/]+$", re.I), "asset", _GENERIC),
    (re.compile(_WS + r"/(?:codes|models|environments|data)/[^/]+/versions/(?P<name>[^/]+)$", re.I), "version", _VERSION),
    (re.compile(_WS + r"/(?:computes|jobs|datastores)/(?P<name>[^/]+)$", re.I), "resource", _GENERIC),
)


def name_problem(path: str) -> str | None:
    """Why the name a PUT to ``path`` would create breaks Azure's rules, or None when it is fine."""
    for pattern, what, rule in _PUT_PATHS:
        match = pattern.match(path.rstrip("/"))
        if match is None:
            continue
        name = match["name"]
        if what in ("endpoint", "deployment"):
            shortest = 3 if what == "endpoint" else 1
            if not shortest <= len(name) <= 32 or not rule.match(name):
                return (
                    f"The name '{name}' of {'a deployment' if what == 'deployment' else 'an endpoint'} is invalid: "
                    f"it must be {shortest} to 32 characters, start with a letter, hold only letters, digits and hyphens, "
                    "and end with a letter or a digit."
                )
        elif not rule.match(name):
            return (
                f"The {what} name '{name}' is invalid: it must start with a letter or a digit and hold only "
                f"letters, digits, '-' and '_'{', and .' if what == 'version' else ''} (at most 255 characters)."
            )
    return None
