"""Shared fixtures.

`dolibarr`: a started Dolibarr emulator on a private copy of the demo dataset
(demo/dolibarr), accepting the API key "test-key"; stopped after the test.

`emu`: the same, accepting fix_helpers.KEY, and the environment `make fix` reads pointing
at it. `data`: tests/data, each file copied on first use.

`one_answer_server`: a factory of tiny HTTP servers on 127.0.0.1 that answer every GET
with the same status and body (what the emulator never sends); call it with
(status, body, content_type) to get a server's URL; all are stopped after the test.
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulated import start_emulator
from fix_helpers import KEY, use_emulator


@pytest.fixture
def dolibarr(tmp_path):
    emulator = start_emulator(tmp_path, api_key="test-key")
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(tmp_path, monkeypatch):
    emulator = start_emulator(tmp_path, api_key=KEY)
    use_emulator(monkeypatch, emulator)
    yield emulator
    emulator.stop()


@pytest.fixture
def data(lazy_shared_datadir):
    """tests/data, each file copied on first use (the whole folder is 2 MB of samples)."""
    return lazy_shared_datadir


@pytest.fixture
def one_answer_server():
    servers = []

    def serve(status: int, body: bytes, content_type: str = "application/json") -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
