"""Credentials in URLs and text: the one place that finds and hides them.

A blob URL may carry a SAS token in its query (``?sv=...&sig=...``), a user
and password before its host, and connection strings carry ``AccountKey=``
or ``SharedAccessSignature=``. Everything the provider writes (task logs,
error messages, XCom, the task state store, lineage, reports) goes through
:func:`location` (the URL without query or user info: what names a place) or
:func:`redact` (any text, credentials replaced by ``***``);
:func:`secret_parts` gives the values to register with a secrets masker.

Pure Python, no airflow imports.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"
# Query parameters whose value is a credential: SAS signature (sig), tokens, keys, codes, passwords.
_SECRET_PARAM = re.compile(r"^(sig|signature|.*token.*|.*key.*|code|.*secret.*|.*password.*|credential)$", re.I)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()\[\]{}]+")
# A bare SAS query or connection-string secret found outside a URL.
_LOOSE = re.compile(
    r"(?i)(?P<name>\bsig=|\bAccountKey=|\bSharedAccessSignature=|\bSharedAccessKey=|\bPassword=)"
    r"(?P<value>[^&;\s'\"]+)"
)


def location(uri: str) -> str:
    """``uri`` without its query string, fragment and user info (for local paths: unchanged).

    What names a place: safe to log, to store and to compare across tries
    whose SAS tokens differ.
    """
    text = str(uri)
    if "://" not in text:
        return text.split("?", 1)[0]
    parts = urlsplit(text)
    netloc = parts.netloc.rsplit("@", 1)[-1] if parts.scheme.lower() in ("http", "https") else parts.netloc
    return f"{parts.scheme}://{netloc}{parts.path}"


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:  # user:password@host
        netloc = f"{MASK}@" + netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            name, eq, _ = piece.partition("=")
            pieces.append(f"{name}={MASK}" if eq and _SECRET_PARAM.match(unquote(name)) else piece)
        query = "&".join(pieces)
    tail = f"?{query}" if query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{tail}{fragment}"


def redact(text: object) -> str:
    """``text`` with every credential replaced by ``***``: SAS signatures and tokens in URL queries,
    passwords in URLs, and ``sig=`` / ``AccountKey=`` / ``SharedAccessSignature=`` values found loose."""
    out = _URL.sub(_redact_url, str(text))
    return _LOOSE.sub(lambda m: m.group("name") + MASK, out)


def secret_parts(uri: str) -> list[str]:
    """The credential values ``uri`` carries (each as written and URL-decoded), for a secrets masker.

    Empty for a URL without credentials. The whole query is included too, so
    a masker hides it even where it is printed on its own.
    """
    text = str(uri)
    if "?" not in text and "@" not in text and "=" not in text:
        return []
    found: list[str] = []
    query = text.split("?", 1)[1] if "?" in text else ""
    query = query.split("#", 1)[0]
    for name, value in parse_qsl(query, keep_blank_values=False):
        if _SECRET_PARAM.match(name) and value:
            found.extend({value, quote(value, safe=""), quote(value)})
    if found:
        found.append(query)
    if "://" in text:
        userinfo = urlsplit(text).netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    for match in _LOOSE.finditer(text):
        found.append(match.group("value"))
    return sorted({part for part in found if len(part) >= 4})
