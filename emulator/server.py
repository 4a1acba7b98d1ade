"""DolibarrEmulator: the API of `api.py` served over HTTP on 127.0.0.1, with fault switches.

    with DolibarrEmulator("demo/dolibarr", api_key="test-key") as emu:
        requests.get(emu.url + "/api/index.php/invoices", headers={"DOLAPIKEY": "test-key"})

`emu.requests` records (method, path, query) of every request in arrival order, failed
ones included; `path` is the API path after "/api/index.php" (e.g. "/invoices/3/payments"),
or the raw path for requests outside the API. Key values in the query are masked.
"""
from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from . import bank, invoices
from .api import Api
from .dataset import Dataset, as_served
from .params import Context
from .replies import Reply, fault_reply

API_PREFIX = "/api/index.php"
SECRET_PARAMS = ("DOLAPIKEY", "api_key")


class DolibarrEmulator:
    """A Dolibarr 23 REST API over a dataset folder (see emulator/dataset.py)."""

    def __init__(self, data_dir, api_key: str = "test-key", timezone: str = "UTC", legacy: bool = False,
                 delay: float = 0.0, production: bool = False, users: dict | None = None):
        self.data_dir = Path(data_dir)
        self.api_key = api_key
        self.timezone = timezone
        self.delay = delay
        self.requests: list[tuple[str, str, dict]] = []
        self.url: str | None = None
        self._ctx = Context(Dataset(self.data_dir), ZoneInfo(timezone), legacy, production)
        self._api = Api(self._ctx, api_key, users=users)
        self._switch_lock = threading.Lock()
        self._failures: list[int] = []
        self._drops = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- settings that may change while serving ------------------------------------------

    @property
    def legacy(self) -> bool:
        return self._ctx.legacy

    @legacy.setter
    def legacy(self, value: bool) -> None:
        self._ctx.legacy = value

    @property
    def production(self) -> bool:
        return self._ctx.production

    @production.setter
    def production(self, value: bool) -> None:
        self._ctx.production = value

    @property
    def wrong_key_delay(self) -> float:
        """Seconds slept before a wrong-key 401 (the real server: about 1 s)."""
        return self._api.wrong_key_delay

    @wrong_key_delay.setter
    def wrong_key_delay(self, value: float) -> None:
        self._api.wrong_key_delay = value

    # --- life cycle --------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="dolibarr-emulator", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> "DolibarrEmulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- fault switches --------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next n requests answer `status` (5xx, 429) without acting."""
        with self._switch_lock:
            self._failures.extend([status] * n)

    def drop_after_write_next(self, n: int = 1) -> None:
        """The next n POSTs are carried out (a payment is recorded) and then the connection
        is closed without any response, as when a network drops after the server commits."""
        with self._switch_lock:
            self._drops += n

    # --- inspection --------------------------------------------------------------------------

    def invoice(self, invoice_id) -> dict:
        """The invoice as GET /invoices/{id} serves it now (KeyError if there is none)."""
        with self._ctx.lock:
            if int(invoice_id) not in self._ctx.data.invoices:
                raise KeyError(f"no invoice {invoice_id}")
            return as_served(invoices.get_invoice(self._ctx, int(invoice_id)))

    def payments(self, invoice_id) -> list[dict]:
        """The invoice's payments as GET /invoices/{id}/payments serves them now."""
        with self._ctx.lock:
            return as_served(invoices.get_payments(self._ctx, int(invoice_id)))

    def payment_count(self) -> int:
        """How many payments exist (one payment spread over two invoices counts once)."""
        with self._ctx.lock:
            return len({line.payment_id for lines in self._ctx.data.payments.values() for line in lines})

    def bank_lines(self, account_id) -> list[dict]:
        """The account's lines as GET /bankaccounts/{id}/lines serves them now, plus the hidden
        `emetteur` column (what a filter on it finds)."""
        with self._ctx.lock:
            lines = sorted((l for l in self._ctx.data.bank_lines.values() if l.fk_account == int(account_id)),
                           key=lambda l: l.rowid)
            return [{**as_served(bank.served_line(self._ctx, l)), "emetteur": l.emetteur} for l in lines]

    def balance_cents(self, account_id) -> int:
        """The balance as GET /bankaccounts/{id}/balance computes it, in cents."""
        with self._ctx.lock:
            return int(bank.balance(self._ctx, int(account_id)) * 100)

    # --- used by the request handler -----------------------------------------------------------

    def _record(self, method: str, path: str, query: dict) -> None:
        masked = {k: ("***" if k in SECRET_PARAMS else v) for k, v in query.items()}
        with self._switch_lock:
            self.requests.append((method, path, masked))

    def _take_failure(self) -> int | None:
        with self._switch_lock:
            return self._failures.pop(0) if self._failures else None

    def _take_drop(self) -> bool:
        with self._switch_lock:
            if self._drops > 0:
                self._drops -= 1
                return True
            return False


NOT_FOUND_PAGE = Reply(404, b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                            b"<body><h1>Not Found</h1></body></html>\n",
                       content_type="text/html; charset=iso-8859-1")


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; every answer has a Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    emulator: DolibarrEmulator

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_PUT(self):
        self.serve("PUT")

    def do_DELETE(self):
        self.serve("DELETE")

    def log_message(self, format, *args):  # quiet: tests and demos read stderr
        pass

    def serve(self, method: str) -> None:
        emulator = self.emulator
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        in_api = split.path == API_PREFIX or split.path.startswith(API_PREFIX + "/")
        path = split.path[len(API_PREFIX):] if in_api else split.path
        emulator._record(method, path, query)
        if emulator.delay:
            time.sleep(emulator.delay)
        failure = emulator._take_failure()
        if failure is not None:
            return self.send(fault_reply(failure))
        if not in_api:
            return self.send(NOT_FOUND_PAGE)
        reply = emulator._api.handle(method, path, query, self.headers, body)
        if method == "POST" and emulator._take_drop():
            return self.drop()
        self.send(reply)

    def send(self, reply: Reply) -> None:
        self.send_response(reply.status, reply.reason)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:  # the client asked to close: say so, as real servers do
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
