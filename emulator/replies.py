"""Response shapes of a Dolibarr 23 REST API (Luracast Restler 3): JSON, errors, empty bodies.

An error is `{"error":{"code":N,"message":"<Reason>: <text>"}}`, plus a `debug` block
naming the Restler stage that failed unless the server runs in production mode. Every
JSON answer carries the same headers (and never X-Total-Count).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

from .dataset import encode

JSON_TYPE = "application/json; charset=utf-8"
API_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, api_key, DOLAPIKEY, DOLAPIENTITY",
    "X-Frame-Options": "SAMEORIGIN",
    "Vary": "Accept",
    "Cache-Control": "no-cache, must-revalidate",
    "Expires": "0",
    "X-Powered-By": "Luracast Restler v3.1.0",
    "Content-Language": "en",
}
# Restler's stages, in order; an error lists those passed and the one that failed.
STAGES = ("get", "route", "negotiate", "authenticate", "validate", "call")
STAGE_SUCCESS = {
    "route": ["get"],
    "authenticate": ["get", "route", "negotiate"],
    "validate": ["get", "route", "negotiate", "authenticate"],
    "call": ["get", "route", "negotiate", "authenticate", "validate"],
}
STAGE_FAILURE = {"route": ["route", "negotiate", "message"]}
UNKNOWN_API_TEXT = "API not found (failed to include API file)"


@dataclass
class Reply:
    """What the HTTP layer sends: status, reason phrase, headers and body bytes."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    reason: str | None = None
    headers: dict = field(default_factory=dict)


class ApiError(Exception):
    """An answer other than success, raised from anywhere in a handler."""

    def __init__(self, status: int, text: str = "", stage: str = "call", source: str = "api_invoices.class.php:0",
                 bare: bool = False, extra: dict | None = None):
        super().__init__(text)
        self.status, self.text, self.stage, self.source = status, text, stage, source
        self.bare = bare  # the message without its "<Reason>: " prefix (the bank 422s)
        self.extra = extra or {}  # more keys of the error object (the bank 500s' "0")


class EmptyReply(Exception):
    """An answer with no body at all: 304 "nothing done", 500 PHP fatal error."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def reason_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_reply(payload, production: bool, status: int = 200) -> Reply:
    return Reply(status, encode(payload, production), headers=dict(API_HEADERS))


def error_reply(error: ApiError, production: bool) -> Reply:
    reason = reason_of(error.status)
    message = error.text if error.bare else f"{reason}: {error.text}" if error.text else reason
    payload: dict = {"error": {"code": error.status, "message": message, **error.extra}}
    if not production:
        payload["debug"] = {
            "source": f"{error.source} at {error.stage} stage",
            "stages": {
                "success": STAGE_SUCCESS.get(error.stage, list(STAGES[:-1])),
                "failure": STAGE_FAILURE.get(error.stage, [error.stage, "message"]),
            },
        }
    reply = json_reply(payload, production, error.status)
    if error.bare:
        reply.reason = ""  # this server's status line is just "HTTP/1.1 422"
    if error.status == 401:
        reply.headers["WWW-Authenticate"] = ""
    return reply


def empty_reply(status: int) -> Reply:
    return Reply(status, b"", content_type=None if status == 304 else "text/html; charset=UTF-8",
                 headers={} if status != 304 else dict(API_HEADERS))


def unknown_api_reply() -> Reply:
    """Dolibarr's index.php, before Restler: plain text, the text is also the reason phrase."""
    return Reply(501, UNKNOWN_API_TEXT.encode(), content_type="text/html; charset=UTF-8",
                 reason=UNKNOWN_API_TEXT, headers={"X-Powered-By": "PHP/8.2.35"})


def fault_reply(status: int) -> Reply:
    """An injected failure (proxy or overloaded server): a JSON error without debug block."""
    return json_reply({"error": {"code": status, "message": reason_of(status)}}, True, status)
