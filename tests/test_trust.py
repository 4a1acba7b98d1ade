"""Issue 10, trust: which Dolibarr, settings precedence, secrets, missing inputs, provenance,
a changed world, progress. Through the real command line: `make …` in a copy of the
project (so that a `.env` can be written without touching the real one), the Dolibarr
emulator or a tiny misbehaving server on 127.0.0.1."""
import hashlib
import json
import os
import pty
import select
import shutil
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FROM, TO = "2026-01-01", "2026-02-09"
WINDOW = f"{FROM}_{TO}"
DEAD = "http://127.0.0.1:9"  # nothing listens there: a wrong Dolibarr fails at once
SECRET = "k3y-9f8e7d6c5b4a39281706f5e4d3c2b1a0"  # 36 characters, as Dolibarr keys are long


@pytest.fixture
def project(tmp_path):
    """A copy of the project (its own .env, config.yaml), sharing the repo's .venv."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("stages", "emulator", "demo"):
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "config.yaml", "requirements.txt"):
        shutil.copy(REPO / name, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "venv.ok").touch()
    return root


def make(root, *args, env=None, timeout=120):
    base = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL") and not k.startswith("DOLIBARR")
            and k not in ("ENV_FILE", "ALLOW_MISSING")}
    return subprocess.run(["make", "--no-print-directory", *args, "VENV_OK=venv.ok",
                           "RAW_DIR=demo/raw"],
                          cwd=root, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def at(dolibarr):
    return {"DOLIBARR_URL": dolibarr.url, "DOLIBARR_API_KEY": "test-key"}


def window(*args):
    return [*args, f"FROM={FROM}", f"TO={TO}"]


def no_traceback(proc):
    assert "Traceback" not in proc.stdout + proc.stderr


# --- 1. settings: the closest word wins, and the user sees which Dolibarr -------------------

def test_the_environment_beats_dotenv_and_the_stage_names_its_dolibarr(project, dolibarr):
    (project / ".env").write_text(f"DOLIBARR_URL={DEAD}\nDOLIBARR_API_KEY=test-key\n")
    proc = make(project, *window("fetch"), env={"DOLIBARR_URL": dolibarr.url})
    assert proc.returncode == 0, proc.stderr
    assert (f"fetch_dolibarr: Dolibarr {dolibarr.url} (DOLIBARR_URL from the command line or "
            "environment, key DOLIBARR_API_KEY)") in proc.stderr
    # The command line beats both.
    proc = make(project, *window("refresh"), f"DOLIBARR_URL={DEAD}",
                env={"DOLIBARR_URL": dolibarr.url})
    assert proc.returncode != 0 and f"cannot reach Dolibarr at {DEAD}" in proc.stderr
    no_traceback(proc)


def test_dotenv_fills_what_is_unset_and_its_quotes_are_taken_off(project, dolibarr):
    (project / ".env").write_text(f'# site settings\nexport DOLIBARR_URL="{dolibarr.url}"\n'
                                  "DOLIBARR_API_KEY='test-key'  \n")
    proc = make(project, *window("fetch"))
    assert proc.returncode == 0, proc.stderr
    assert f"fetch_dolibarr: Dolibarr {dolibarr.url} (DOLIBARR_URL from .env" in proc.stderr


def test_demo_reaches_the_emulator_whatever_dotenv_says(project):
    (project / ".env").write_text(f"DOLIBARR_URL={DEAD}\nDOLIBARR_API_KEY={SECRET}\n"
                                  f"DOLIBARR_WRITE_API_KEY={SECRET}\n"
                                  "DOLIBARR_SNAPSHOT=/nonexistent/snapshot\n")
    proc = make(project, "demo")
    assert proc.returncode == 0, proc.stderr
    assert "fetch_dolibarr: Dolibarr http://127.0.0.1:" in proc.stderr
    assert DEAD not in proc.stderr and SECRET not in proc.stdout + proc.stderr
    assert "GC_PAID_DOLIBARR_OPEN" in proc.stdout


def test_check_names_the_dolibarr_on_stderr(project, dolibarr):
    proc = make(project, "check", env=at(dolibarr))
    assert (f"check_dolibarr: Dolibarr {dolibarr.url} (DOLIBARR_URL from the command line or "
            "environment, key DOLIBARR_API_KEY)") in proc.stderr
    assert "test-key" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("config, message", [
    ("matching:\n  date_tolerence_days: 3\n",
     "unknown setting matching.date_tolerence_days (did you mean date_tolerance_days?)"),
    ("matchin:\n  date_tolerance_days: 3\n", "unknown setting matchin (did you mean matching?)"),
    ("fix:\n  allow_soft: 'yes'\n", "setting fix.allow_soft has the wrong type; found 'yes'; "
                                    "expected true or false"),
    ("dolibarr:\n  max_age_minutes: soon\n", "setting dolibarr.max_age_minutes has the wrong "
                                             "type; found 'soon'; expected a number"),
    ("- a list\n", "not a mapping of sections"),
])
def test_config_is_validated_as_a_whole(project, dolibarr, config, message):
    (project / "bad.yaml").write_text(config)
    proc = make(project, *window("fetch"), "CONFIG=bad.yaml", env=at(dolibarr))
    assert proc.returncode != 0
    assert f"error: bad.yaml: {message}" in proc.stderr
    no_traceback(proc)


def test_a_config_that_is_a_folder_or_unreadable_is_a_sentence(project, dolibarr):
    (project / "conf.d").mkdir()
    proc = make(project, "check", "CONFIG=conf.d", env=at(dolibarr))
    assert proc.returncode != 0
    assert "error: conf.d: a folder, not a configuration file" in proc.stderr
    no_traceback(proc)
    (project / "locked.yaml").write_text("matching: {}\n")
    (project / "locked.yaml").chmod(0)
    if os.access(project / "locked.yaml", os.R_OK):
        pytest.skip("running as a user who reads any file")
    proc = make(project, "check", "CONFIG=locked.yaml", env=at(dolibarr))
    assert "error: locked.yaml: cannot be read (Permission denied)" in proc.stderr


def test_the_emulator_wrapper_ignores_dotenv(project):
    (project / ".env").write_text(f"DOLIBARR_URL={DEAD}\nDOLIBARR_SNAPSHOT=/nowhere\n")
    proc = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-m", "emulator", "--data", "demo/dolibarr", "--",
         "make", "--no-print-directory", *window("fetch"), "VENV_OK=venv.ok"],
        cwd=project, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "DOLIBARR"))})
    assert proc.returncode == 0, proc.stderr
    assert "fetch_dolibarr: Dolibarr http://127.0.0.1:" in proc.stderr


# --- 3. the key never leaves the process ----------------------------------------------------

class EchoHandler(BaseHTTPRequestHandler):
    """Answers every GET with the request headers echoed: a 500 text page, or an HTML 200
    (as a misconfigured proxy or a PHP error page does)."""
    status, html = 500, False

    def do_GET(self):
        headers = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        if self.html:
            body = ("<html><body><h1>Debug</h1><table>" + "".join(
                f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in self.headers.items())
                + f"</table><pre>{headers}</pre></body></html>")
        else:
            body = f"Internal error. Request was:\n{headers}\n"
        data = body.encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html" if self.html else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[(500, False), (200, True), (500, True)],
                ids=["500-text", "200-html", "500-html"])
def echo_server(request):
    handler = type("Echo", (EchoHandler,), {"status": request.param[0],
                                            "html": request.param[1]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def leaked(text):
    """Any 6 characters of the key in a row."""
    return [SECRET[i:i + 6] for i in range(len(SECRET) - 5) if SECRET[i:i + 6] in text]


@pytest.mark.parametrize("target", ["check", "fetch", "report"])
def test_an_error_page_echoing_the_key_never_shows_it(project, echo_server, target):
    (project / "fast.yaml").write_text("dolibarr:\n  retries: 0\n")
    env = {"DOLIBARR_URL": echo_server, "DOLIBARR_API_KEY": SECRET}
    proc = make(project, *window(target), "CONFIG=fast.yaml", env=env)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert leaked(out) == []
    if "Internal error" in out:  # the page is quoted, the header's value never
        assert "DOLAPIKEY: <hidden>" in out or "Dolapikey: <hidden>" in out
    no_traceback(proc)


# --- 4. missing inputs are said loudly --------------------------------------------------------

def test_a_missing_bank_export_fails_naming_the_folder_and_what_is_there(project, dolibarr):
    shine = project / "demo" / "raw" / "shine"
    for path in shine.iterdir():
        path.unlink()
    (shine / "BQ_2026-01.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode != 0
    assert ("error: bank missing: demo/raw/shine: no bank export found (Shine (current and "
            "2023 layouts), Qonto (French or English), Wise, OFX, camt.053); found there: "
            "BQ_2026-01.xlsx (a spreadsheet, not an export: save it as CSV (or download the "
            "CSV again)); expected the bank export(s) of the period in demo/raw/shine, or "
            "ALLOW_MISSING=bank on the command line to reconcile without them.") in proc.stderr
    assert not (project / "tmp" / f"summary_{WINDOW}.txt").exists()
    no_traceback(proc)
    # Said on the command line: the report is made, and its first line says what it lacks.
    proc = make(project, *window("report"), "ALLOW_MISSING=bank", env=at(dolibarr))
    assert proc.returncode == 0, proc.stderr
    summary = (project / "tmp" / f"summary_{WINDOW}.txt").read_text()
    assert summary.splitlines()[0] == (
        "NOT CHECKED: bank — demo/raw/shine: no bank export found (Shine (current and 2023 "
        "layouts), Qonto (French or English), Wise, OFX, camt.053) (ALLOW_MISSING=bank)")
    assert ("IGNORED: demo/raw/shine/BQ_2026-01.xlsx: a spreadsheet, not an export: save it "
            "as CSV (or download the CSV again)") in summary


def test_a_header_only_payments_export_is_missing_and_named(project, dolibarr):
    gc = project / "demo" / "raw" / "gocardless"
    payments = next(gc.glob("payments_index-export-*.csv"))
    payments.write_text(payments.read_text().splitlines()[0] + "\n")
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode != 0
    assert (f"error: payments missing: demo/raw/gocardless: no GoCardless payments export "
            f"found with rows ({payments.name}: header only); found there:") in proc.stderr
    proc = make(project, *window("report"), "ALLOW_MISSING=payments", env=at(dolibarr))
    assert proc.returncode == 0, proc.stderr
    summary = (project / "tmp" / f"summary_{WINDOW}.txt").read_text()
    assert summary.startswith("NOT CHECKED: payments")
    assert f"EMPTY: {payments.relative_to(project)} (GoCardless payments export) has no rows" \
        in summary


def test_no_dolibarr_invoice_is_a_missing_input_unless_allowed(project, tmp_path):
    empty = tmp_path / "empty_snapshot"
    empty.mkdir()
    (empty / "invoices.json").write_text("[]")
    (empty / "thirdparties.json").write_text("[]")
    proc = make(project, *window("fetch"), f"DOLIBARR_SNAPSHOT={empty}")
    assert proc.returncode != 0
    assert (f"error: Dolibarr invoices missing: no invoice of the window (nor any unpaid one) "
            f"in the saved snapshot {empty}; found there: invoices.json, thirdparties.json; "
            "expected the Dolibarr holding this period's invoices, or ALLOW_MISSING=invoices "
            "on the command line.") in proc.stderr
    no_traceback(proc)
    proc = make(project, *window("report"), f"DOLIBARR_SNAPSHOT={empty}",
                "ALLOW_MISSING=invoices")
    assert proc.returncode == 0, proc.stderr
    summary = (project / "tmp" / f"summary_{WINDOW}.txt").read_text()
    assert summary.startswith("NOT CHECKED: invoices — no invoice of the window")


def test_allowing_a_missing_input_once_does_not_carry_over(project, dolibarr):
    for path in (project / "demo" / "raw" / "shine").iterdir():
        path.unlink()
    assert make(project, *window("report"), "ALLOW_MISSING=bank", env=at(dolibarr)
                ).returncode == 0
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode != 0 and "error: bank missing:" in proc.stderr
    assert not (project / "tmp" / f"summary_{WINDOW}.txt").exists()


# --- 5. every report says what it was made from -----------------------------------------------

def test_provenance_beside_the_csvs_and_at_the_top_of_the_summary(project, dolibarr):
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode == 0, proc.stderr
    prov = json.loads((project / "tmp" / f"provenance_{WINDOW}.json").read_text())
    assert prov["window"] == {"from": FROM, "to": TO}
    [source] = prov["dolibarr"]
    assert source["url"] == dolibarr.url and source["invoices"] == 29
    assert source["snapshot"] == f"demo/raw/dolibarr/{WINDOW}" or source["snapshot"].endswith(
        f"dolibarr/{WINDOW}")
    assert 0 <= source["age_minutes"] <= 5
    exports = {Path(e["file"]).name: e for e in prov["exports"]}
    shine = project / "demo" / "raw" / "shine" / "BQ_2026-01-01_2026-02-06.csv"
    assert exports[shine.name] == {
        "file": "demo/raw/shine/BQ_2026-01-01_2026-02-06.csv", "kind": "Shine bank export",
        "rows": 20, "dates": ["2026-01-02", "2026-02-06"],
        "sha256": hashlib.sha256(shine.read_bytes()).hexdigest()[:12]}
    assert len(exports) == 4
    assert prov["config"]["matching"]["date_tolerance_days"] == 7
    assert prov["config"]["dolibarr"]["max_age_minutes"] == 60
    assert prov["version"]
    lines = (project / "tmp" / f"summary_{WINDOW}.txt").read_text().splitlines()
    assert "\n".join(lines) + "\nReport to read: " in proc.stdout  # the summary, as printed
    assert lines[0] == f"Window {FROM} .. {TO}; version {prov['version']}"
    assert lines[1].startswith(f"Dolibarr: {dolibarr.url}, fetched ")
    assert "min ago); 29 invoices" in lines[1]
    assert any(line.startswith("Export: demo/raw/shine/BQ_2026-01-01_2026-02-06.csv (Shine "
                               "bank export), 20 rows, 2026-01-02 .. 2026-02-06, sha256 ")
               for line in lines)
    assert "SECRET" not in json.dumps(prov) and "test-key" not in json.dumps(prov)


# --- 6. a changed world is never mistaken for an unchanged one --------------------------------

def snapshot(project):
    return project / "demo" / "raw" / "dolibarr" / WINDOW


def fetched(proc):
    return "stages/fetch_dolibarr.py" in proc.stdout


def test_an_old_or_damaged_snapshot_is_fetched_again(project, dolibarr):
    assert make(project, *window("report"), env=at(dolibarr)).returncode == 0
    again = make(project, *window("report"), env=at(dolibarr))
    assert again.returncode == 0 and not fetched(again)
    meta = snapshot(project) / "meta.json"
    data = json.loads(meta.read_text())
    data["fetched_at"] = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    meta.write_text(json.dumps(data))
    old = make(project, *window("report"), env=at(dolibarr))
    assert old.returncode == 0 and fetched(old)
    assert "more than dolibarr.max_age_minutes (60)" in old.stderr
    (snapshot(project) / "thirdparties.jsonl").unlink()
    deleted = make(project, *window("report"), env=at(dolibarr))
    assert deleted.returncode == 0 and fetched(deleted)
    assert "thirdparties.jsonl was deleted" in deleted.stderr
    assert (snapshot(project) / "thirdparties.jsonl").exists()


def test_refresh_while_dolibarr_is_down_keeps_the_previous_snapshot(project, dolibarr):
    assert make(project, *window("report"), env=at(dolibarr)).returncode == 0
    before = {p.name: p.read_bytes() for p in snapshot(project).iterdir()}
    invoices = project / "interim" / f"invoices_{WINDOW}.parquet"
    parquet = invoices.read_bytes()
    proc = make(project, *window("refresh"), env={**at(dolibarr), "DOLIBARR_URL": DEAD})
    assert proc.returncode != 0 and "cannot reach Dolibarr" in proc.stderr
    assert {p.name: p.read_bytes() for p in snapshot(project).iterdir()} == before
    assert invoices.read_bytes() == parquet


def test_a_failed_run_leaves_no_report_of_the_window(project, dolibarr):
    assert make(project, *window("report"), env=at(dolibarr)).returncode == 0
    out = project / "tmp"
    assert (out / f"reconciliation_{WINDOW}.csv").exists()
    shine = project / "demo" / "raw" / "shine" / "BQ_2026-01-01_2026-02-06.csv"
    shine.write_bytes(shine.read_bytes()[:-40])  # cut mid-record, as an interrupted download
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode != 0
    assert f"no report of {WINDOW} is left" in proc.stderr
    assert sorted(p.name for p in out.iterdir() if WINDOW in p.name) == []
    no_traceback(proc)


def test_a_bad_setting_leaves_no_report_of_the_window(project, dolibarr):
    assert make(project, *window("report"), env=at(dolibarr)).returncode == 0
    (project / "config.yaml").write_text((project / "config.yaml").read_text().replace(
        "date_tolerance_days:", "date_tolerence_days:"))
    proc = make(project, *window("report"), env=at(dolibarr))
    assert proc.returncode != 0
    assert "did you mean date_tolerance_days?" in proc.stderr
    assert sorted(p.name for p in (project / "tmp").iterdir() if WINDOW in p.name) == []


def test_make_clean_keeps_the_fix_journal(project, dolibarr):
    env = {**at(dolibarr), "DOLIBARR_WRITE_API_KEY": "test-key"}
    proc = make(project, *window("fix"), "CONFIRM=yes", env=env)
    assert proc.returncode == 0, proc.stderr
    journals = sorted(project.rglob("fix_journal.jsonl"))
    assert journals == [project / "journal" / "fix_journal.jsonl"]
    content = journals[0].read_text()
    assert content.count("\n") >= 7
    assert make(project, "clean").returncode == 0
    assert not (project / "tmp").exists() and not (project / "interim").exists()
    assert journals[0].read_text() == content


# --- 9. long work shows progress ----------------------------------------------------------------

def test_fetch_progress_reaches_the_terminal_live_despite_output_sync(project, tmp_path):
    """`make report` runs the stages with --output-sync, which holds their stderr until each
    ends; the page progress goes to the terminal itself, so it shows while fetching."""
    from emulated import start_emulator
    emulator = start_emulator(tmp_path, api_key="test-key")
    emulator.delay = 0.15
    (project / "slow.yaml").write_text("dolibarr:\n  page_size: 2\n  parallel_pages: 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "DOLIBARR"))}
    env.update(DOLIBARR_URL=emulator.url, DOLIBARR_API_KEY="test-key")
    pid, fd = pty.fork()
    if pid == 0:  # the child: make on a terminal, as a person runs it
        os.chdir(project)
        os.execvpe("make", ["make", "--no-print-directory", *window("report"),
                            "CONFIG=slow.yaml", "VENV_OK=venv.ok", "RAW_DIR=demo/raw",
                            "JOBS=2"], env)
    seen, first_progress, stage_end, started = b"", None, None, time.monotonic()
    try:
        while time.monotonic() - started < 120:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if first_progress is None and b"fetching invoices" in seen:
                first_progress = time.monotonic()
            if stage_end is None and b"fetch_dolibarr: 29 invoices" in seen:
                stage_end = time.monotonic()  # when make released the stage's output
    finally:
        _, status = os.waitpid(pid, 0)
        emulator.stop()
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert first_progress is not None, text
    assert "[" in text and "] fetching invoices:" in text  # a bar on a terminal
    # Shown while the fetch ran, not all at once when make released the stage's output.
    assert text.index("fetching invoices") < text.index("fetch_dolibarr: 29 invoices")
    assert stage_end - first_progress > 0.5
