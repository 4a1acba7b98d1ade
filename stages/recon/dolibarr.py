"""A small client for Dolibarr's REST API, shaped by what a real server does (API_FACTS.md).

- One `requests.Session` for reads, with the `DOLAPIKEY` header, connect/read timeouts and
  urllib3 `Retry` (backoff) on connection errors, 429 and 5xx, for GETs only.
- Writes go through a second session that never retries: Dolibarr has no idempotency, so
  a POST whose answer was lost raises `WriteOutcomeUnknown` and the caller settles it by
  reading. Each POST uses a fresh connection, so a stale pooled one is never the cause.
- Lists are paged by `limit`/`page`. The first page asks for `pagination_data`; when the
  server answers with the total, the remaining pages are fetched several at a time (the
  server's cost is per row, so pages in flight divide the wall time). A server that
  ignores it (a bare list) is paged sequentially until a short page. A 404 on a list is
  an empty list (older Dolibarr, and `/thirdparties` past the end).
- Every failure becomes a `DolibarrError` (a `StageError`) with a sentence that says what
  to do. The API key never appears in a message: it is scrubbed from anything the server
  or the network layer says, and URLs are shown without credentials or query.
"""
from __future__ import annotations

import math
import os
import re
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (ConnectTimeoutError, MaxRetryError, NameResolutionError,
                                IncompleteRead, NewConnectionError, ProtocolError,
                                ReadTimeoutError)
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.retry import Retry

from recon.errors import InputError, StageError

API_PATH = "/api/index.php"
RETRY_STATUSES = (429, 500, 502, 503, 504)
URL_VARIABLE = "DOLIBARR_URL"
READ_KEY_VARIABLE = "DOLIBARR_API_KEY"
WRITE_KEY_VARIABLE = "DOLIBARR_WRITE_API_KEY"
MIN_SCRUBBED_KEY = 4

# progress(items so far, pages done, pages in all or None when the server does not say)
Progress = Callable[[int, int, "int | None"], None]


# --- errors ---------------------------------------------------------------------------------

class DolibarrError(StageError):
    """Anything that went wrong talking to Dolibarr; `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None,
                 server_message: str | None = None):
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class AuthError(DolibarrError):
    """401: the key is missing, wrong, or its user is disabled."""


class ForbiddenError(DolibarrError):
    """403: the key's user lacks a permission."""


class NotFoundError(DolibarrError):
    """404 on a single object (on a list, 404 means empty and is not raised)."""


class BadRequestError(DolibarrError):
    """400: Dolibarr refused the parameters; the message is the server's text."""


class ServerError(DolibarrError):
    """5xx after the retries (503 is also how Dolibarr reports SQL errors), or no answer."""


class ApiNotFoundError(DolibarrError):
    """501 "API not found", or a non-JSON 404: DOLIBARR_URL is probably wrong."""


class UnreachableError(DolibarrError):
    """No connection at all (refused, unknown host, TLS, connect timeout): nothing was sent."""


class InvalidResponseError(DolibarrError):
    """The server answered something that is not the JSON Dolibarr sends."""


class WriteOutcomeUnknown(DolibarrError):
    """A POST was sent but its answer was lost: it may or may not have been recorded."""


# --- the client -----------------------------------------------------------------------------

class DolibarrClient:
    """Talks to one Dolibarr with one API key. Thread-safe for reads (list_all uses threads)."""

    def __init__(self, base_url: str, api_key: str, *, key_name: str = READ_KEY_VARIABLE,
                 connect_timeout: float = 5, read_timeout: float = 60, retries: int = 4,
                 backoff: float = 0.2, pool_size: int = 8):
        self.api_root = api_root(base_url)
        self.display_url = display_url(base_url)
        self.key_name = key_name
        self._key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self._reads = _session(api_key, Retry(
            total=retries, connect=retries, read=retries, status=retries, other=0,
            redirect=0, allowed_methods=frozenset({"GET"}), status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff, respect_retry_after_header=True, raise_on_status=False,
            raise_on_redirect=False), pool_size)
        self._writes = _session(api_key, Retry(0, read=False, redirect=0), 1)

    # -- single calls --

    def get(self, path: str, params: dict | None = None):
        """GET a resource; the parsed JSON. Retried on connection errors, 429 and 5xx."""
        try:
            response = self._reads.get(self.api_root + path, params=_query(params),
                                       timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._network_error("GET", path, exc, retried=True) from None
        return self._answer("GET", path, response)

    def post(self, path: str, body: dict):
        """POST a JSON body; the parsed JSON answer (often a bare int id). Never retried."""
        try:
            response = self._writes.post(self.api_root + path, json=body, timeout=self.timeout,
                                         headers={"Connection": "close"})
        except requests.RequestException as exc:
            if _nothing_sent(exc):
                raise self._network_error("POST", path, exc, retried=False) from None
            raise WriteOutcomeUnknown(self._scrub(
                f"the connection was lost after POST {path} was sent ({_reason(exc, self.timeout)}): "
                "Dolibarr may or may not have recorded it; read it back before trying again"
            )) from None
        return self._answer("POST", path, response)

    def server_info(self) -> dict:
        """Version and PHP timezone from GET /status (timezone is None on older versions)."""
        body = self.get("/status")
        success = body.get("success") if isinstance(body, dict) else None
        if not isinstance(success, dict):
            raise InvalidResponseError(
                f"GET /status at {self.display_url} did not answer like Dolibarr does "
                "(no 'success' object): is DOLIBARR_URL the Dolibarr root?")
        return {"version": success.get("dolibarr_version"),
                "timezone": success.get("timestamp_php_tz") or None,
                "environment": success.get("environment")}

    # -- lists --

    def list_all(self, path: str, params: dict | None = None, page_size: int = 100,
                 parallel: int = 4, progress: Progress | None = None) -> list:
        """Every item of a list endpoint, all pages concatenated in order."""
        return [item for page in self.iter_pages(path, params, page_size=page_size,
                                                 parallel=parallel, progress=progress)
                for item in page]

    def iter_pages(self, path: str, params: dict | None = None, *, page_size: int = 100,
                   parallel: int = 4, progress: Progress | None = None) -> Iterator[list]:
        """The pages of a list endpoint, in order (so a caller can stream them to a file)."""
        params = {k: v for k, v in (params or {}).items() if k not in ("limit", "page")}
        first, total = self._first_page(path, params, page_size)
        counter = _Counter(progress, math.ceil(total / page_size) if total is not None else None)
        counter.add(first)
        yield first
        if total is None:
            yield from self._sequential_pages(path, params, page_size, first, counter)
            return
        yield from self._parallel_pages(path, params, page_size, range(1, counter.pages_total),
                                        parallel, counter)
        if counter.items != total:
            raise DolibarrError(
                f"the list {path} changed while it was being read ({total} rows announced, "
                f"{counter.items} received): run the fetch again")

    def _first_page(self, path: str, params: dict, page_size: int) -> tuple[list, int | None]:
        """Page 0 with `pagination_data`: its items and the total (None if not supported)."""
        body = self._page_body(path, {**params, "pagination_data": "true"}, page_size, 0)
        if isinstance(body, dict):
            data, pagination = body.get("data"), body.get("pagination")
            if isinstance(data, list) and isinstance(pagination, dict) \
                    and isinstance(pagination.get("total"), int):
                return data, pagination["total"]
            raise InvalidResponseError(
                f"GET {path} answered an object that is neither a list nor a page with "
                "'data' and 'pagination'")
        return body, None

    def _page(self, path: str, params: dict, page_size: int, page: int) -> list:
        body = self._page_body(path, params, page_size, page)
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return body["data"]
        if not isinstance(body, list):
            raise InvalidResponseError(f"GET {path} (page {page}) did not answer a JSON list")
        return body

    def _page_body(self, path: str, params: dict, page_size: int, page: int):
        try:
            return self.get(path, {**params, "limit": page_size, "page": page})
        except NotFoundError:
            return []  # an empty list: older Dolibarr, and /thirdparties past the end

    def _sequential_pages(self, path: str, params: dict, page_size: int, first: list,
                          counter: "_Counter") -> Iterator[list]:
        """Until a short page. A page longer than asked means the server ignored `limit`."""
        previous, page = first, 0
        while len(previous) == page_size:
            page += 1
            items = self._page(path, params, page_size, page)
            if items and previous and items[0] == previous[0]:
                raise InvalidResponseError(
                    f"GET {path} answered the same page for page {page - 1} and {page}: "
                    "the server ignores `page`, so the list cannot be read whole")
            counter.add(items)
            yield items
            previous = items

    def _parallel_pages(self, path: str, params: dict, page_size: int, pages: range,
                        parallel: int, counter: "_Counter") -> Iterator[list]:
        """Pages with up to `parallel` requests in flight, yielded in page order."""
        if not pages:
            return
        todo = iter(pages)
        with ThreadPoolExecutor(max_workers=max(1, parallel),
                                thread_name_prefix="dolibarr-page") as pool:
            fetch = lambda page: self._page(path, params, page_size, page)  # noqa: E731
            pending = deque(pool.submit(fetch, page) for page in islice(todo, 2 * parallel))
            try:
                while pending:
                    items = pending.popleft().result()
                    following = next(todo, None)
                    if following is not None:
                        pending.append(pool.submit(fetch, following))
                    counter.add(items)
                    yield items
            finally:
                for future in pending:
                    future.cancel()

    # -- answers and failures --

    def _answer(self, method: str, path: str, response: requests.Response):
        status = response.status_code
        if status in (204, 304):
            return None  # Dolibarr's "nothing done"
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError as exc:
                cut = _cut_off_at(response, exc)
                if cut is not None:
                    raise InvalidResponseError(
                        f"the answer to {method} {path} was cut off after {cut} bytes (JSON "
                        "that stops before its end: the server or a proxy broke off, e.g. on "
                        "a time or memory limit); try again, or lower dolibarr.page_size",
                        status=status) from None
                raise InvalidResponseError(self._scrub(
                    f"the answer to {method} {path} is not JSON (status {status}, starts with "
                    f"{_snippet(response.text)!r}): is DOLIBARR_URL the Dolibarr root?"),
                    status=status) from None
        raise self._http_error(method, path, response)

    def _http_error(self, method: str, path: str, response: requests.Response) -> DolibarrError:
        status = response.status_code
        message, is_json = _server_message(response)
        message = self._scrub(message)
        where = f"{method} {path}"
        said = message or f"empty answer, HTTP {status}"
        if status == 401:
            return AuthError(
                f"Dolibarr refused the API key ({said}). Set {self.key_name} to the API key "
                "of an active Dolibarr user (environment or .env)", status=status,
                server_message=message)
        if status == 403:
            return ForbiddenError(
                f"Dolibarr denied {where} ({said}): the user of {self.key_name} lacks the "
                "permission for it", status=status, server_message=message)
        if status == 501 or (status == 404 and not is_json):
            return ApiNotFoundError(
                f"no Dolibarr API at {self.display_url} ({where} answered {status}: {said}): "
                "wrong base URL? Set DOLIBARR_URL to the Dolibarr root (the address of its "
                "login page); /api/index.php is added by the client. Also check that the "
                "module 'Web services API REST' is enabled", status=status,
                server_message=message)
        if status == 404:
            return NotFoundError(f"{where}: {said}", status=status, server_message=message)
        if status == 400:
            return BadRequestError(said, status=status, server_message=message)
        if status >= 500:
            what = ("a database error on the Dolibarr server" if status == 503 and
                    "Error when" in message else "a server error")
            return ServerError(
                f"Dolibarr answered {status} to {where} after {self.retries} retries, "
                f"{what}: {said}", status=status, server_message=message)
        return DolibarrError(f"Dolibarr answered {status} to {where}: {said}", status=status,
                             server_message=message)

    def _network_error(self, method: str, path: str, exc: Exception,
                       retried: bool) -> DolibarrError:
        reason = _reason(exc, self.timeout)
        after = f" after {self.retries} retries" if retried and self.retries else ""
        if _nothing_sent(exc):
            return UnreachableError(self._scrub(
                f"cannot reach Dolibarr at {self.display_url} ({reason}{after}): check "
                "DOLIBARR_URL and that the server is up"))
        return ServerError(self._scrub(f"{method} {path} to Dolibarr at {self.display_url} "
                                       f"failed ({reason}{after})"))

    def _scrub(self, text: str) -> str:
        """The key replaced, should a server or library echo it (keys are long; a key of
        a few letters would be found inside ordinary words)."""
        return text.replace(self._key, "<key>") if len(self._key) >= MIN_SCRUBBED_KEY else text

    # -- lifetime --

    def close(self) -> None:
        self._reads.close()
        self._writes.close()

    def __enter__(self) -> "DolibarrClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Counter:
    """Counts items and pages for the progress callback (called from the consuming thread)."""

    def __init__(self, progress: Progress | None, pages_total: int | None):
        self.progress, self.pages_total = progress, pages_total
        self.items = self.pages = 0

    def add(self, page: list) -> None:
        self.items += len(page)
        self.pages += 1
        if self.progress is not None:
            self.progress(self.items, self.pages, self.pages_total)


# --- construction from the environment ------------------------------------------------------

def client_from_env(config: dict, write: bool = False) -> DolibarrClient:
    """A client for DOLIBARR_URL with DOLIBARR_API_KEY (write=True: DOLIBARR_WRITE_API_KEY,
    else DOLIBARR_API_KEY with a notice). Timeouts and retries from config `dolibarr:`."""
    url = _required_variable(URL_VARIABLE, "your Dolibarr's address, e.g. https://erp.example.com")
    key_name = READ_KEY_VARIABLE
    if write:
        if os.environ.get(WRITE_KEY_VARIABLE, "").strip():
            key_name = WRITE_KEY_VARIABLE
        else:
            print(f"notice: {WRITE_KEY_VARIABLE} is not set; writing with {READ_KEY_VARIABLE}",
                  file=sys.stderr)
    key = _required_variable(key_name, "the API key of a Dolibarr user (Users > user > API key)")
    settings = config.get("dolibarr") or {}
    return DolibarrClient(
        url, key, key_name=key_name,
        connect_timeout=_number(settings, "connect_timeout_seconds", 5),
        read_timeout=_number(settings, "read_timeout_seconds", 60),
        retries=int(_number(settings, "retries", 4)),
        backoff=_number(settings, "retry_backoff_seconds", 0.2),
        pool_size=max(8, int(_number(settings, "parallel_pages", 4)) + 2))


def _required_variable(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise StageError(f"{name} is not set: set it to {what}, in the environment or in .env "
                         "(see .env.example)")
    return value


def _number(settings: dict, key: str, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InputError(f"config setting dolibarr.{key} must be a number of at least 0",
                         value=value)
    return value


# --- helpers ----------------------------------------------------------------------------------

def api_root(base_url: str) -> str:
    """`https://host/dolibarr/` -> `https://host/dolibarr/api/index.php` (an URL already
    ending in /api/index.php is kept)."""
    root = base_url.strip().rstrip("/")
    if root.endswith(API_PATH):
        return root
    return root + API_PATH


def display_url(base_url: str) -> str:
    """The URL as it may be shown: no user:password, no query, no fragment."""
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _session(api_key: str, retry: Retry, pool_size: int) -> requests.Session:
    session = requests.Session()
    # identity: Dolibarr's SQL-error 503 announces gzip but is plain HTML (API_FACTS §10.6)
    session.headers.update({"DOLAPIKEY": api_key, "Accept": "application/json",
                            "Accept-Encoding": "identity", "User-Agent": "recon-pipeline"})
    adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _query(params: dict | None) -> dict | None:
    if not params:
        return None
    return {k: ("true" if v is True else "false" if v is False else v)
            for k, v in params.items() if v is not None}


def _cause(exc: BaseException) -> BaseException:
    """The urllib3 error under a requests exception (through MaxRetryError)."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    if isinstance(inner, MaxRetryError) and inner.reason is not None:
        return inner.reason
    return inner


def _nothing_sent(exc: BaseException) -> bool:
    """True when the connection was never established, so no request reached the server."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    return isinstance(_cause(exc), (NewConnectionError, ConnectTimeoutError, Urllib3SSLError))


def _reason(exc: BaseException, timeout: tuple[float, float]) -> str:
    """A short cause, without the URL the library would print."""
    cause = _cause(exc)
    if isinstance(cause, NameResolutionError):
        return "host name not found"
    if isinstance(cause, NewConnectionError):  # a subclass of ConnectTimeoutError: first
        text = str(cause).lower()
        return "connection refused" if "refused" in text else "cannot connect"
    if isinstance(cause, ConnectTimeoutError) or isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(cause, Urllib3SSLError) or isinstance(exc, requests.exceptions.SSLError):
        return "TLS/SSL error"
    if isinstance(cause, ReadTimeoutError) or isinstance(exc, requests.ReadTimeout):
        return f"no answer within {timeout[1]:g} s"
    if isinstance(cause, ProtocolError):
        cut = next((a for a in cause.args if isinstance(a, IncompleteRead)), None)
        if cut is not None:
            got = cut.partial if isinstance(cut.partial, int) else len(cut.partial)
            return (f"the answer was cut off after {got} bytes, "
                    f"{cut.expected} more were announced")
        return "the connection was dropped"
    return type(cause).__name__


def _cut_off_at(response: requests.Response, exc: ValueError) -> int | None:
    """The length of a JSON answer that ends before its document does, else None."""
    text = response.text.rstrip()
    position = getattr(exc, "pos", None)
    # Broken off inside a string (which then runs to the end), or wanting more at the end.
    runs_to_end = str(getattr(exc, "msg", "")).startswith("Unterminated string")
    if not text.startswith(("[", "{")) or position is None or \
            (position < len(text) and not runs_to_end):
        return None
    return len(response.content)


def _server_message(response: requests.Response) -> tuple[str, bool]:
    """Dolibarr's error text ({"error": {"message": ...}}) or the start of a plain body;
    and whether the body was JSON."""
    try:
        body = response.json()
    except ValueError:
        return _snippet(re.sub(r"<[^>]*>", " ", response.text), 200), False  # HTML: its text
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or ""), True
    return _snippet(response.text, 200), True


def _snippet(text: str, length: int = 80) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[:length] + "..."
