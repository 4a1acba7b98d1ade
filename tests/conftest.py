"""Shared fixtures.

`dolibarr`: a started Dolibarr emulator on a private copy of the demo dataset
(demo/dolibarr), accepting the API key "test-key"; stopped after the test.

`one_answer_server`: a factory of tiny HTTP servers on 127.0.0.1 that answer every GET
with the same status and body (what the emulator never sends); call it with
(status, body, content_type) to get a server's URL; all are stopped after the test.
"""
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emulator import DolibarrEmulator

DEMO_DOLIBARR = Path(__file__).resolve().parents[1] / "demo" / "dolibarr"


@pytest.fixture
def dolibarr(tmp_path):
    data = tmp_path / "dolibarr"
    shutil.copytree(DEMO_DOLIBARR, data)
    with DolibarrEmulator(data, api_key="test-key") as emulator:
        yield emulator


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
