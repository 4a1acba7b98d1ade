"""fetch_dolibarr end to end against the emulator: the window's invoices (old unpaid ones
included) with customer names in a counted number of requests, the same result in legacy
mode and after a burst of 5xx, the snapshot folder, offline replay, server timezones, and
one clear message per failure with nothing left behind."""
import io
import json
import math
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import fetch_dolibarr
from emulator import DolibarrEmulator
from recon.dolibarr import (ApiNotFoundError, AuthError, InvalidResponseError, ServerError,
                            UnreachableError)
from recon.errors import InputError
from recon.stamps import sha256_of
from recon.schemas import INVOICES

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "dolibarr"
KEY = "test-key"
PAGE = 10
WINDOW = ["--from", "2026-02-01", "--to", "2026-02-09"]
# The demo's invoices dated 2026-02-01..09 (24-28, draft 30) and every unpaid (status 1)
# one from January; the January ones already paid (1-3, 6, 7, 9, 19, 22) stay out.
EXPECTED_IDS = [4, 5, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 24, 25, 26, 27, 28, 30]
DEMO_CUSTOMERS = 12


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"""dolibarr:
  lookback_days: 0
  page_size: {PAGE}
  parallel_pages: 4
  connect_timeout_seconds: 2
  read_timeout_seconds: 10
  retries: 4
  retry_backoff_seconds: 0.001
""")
    return path


@pytest.fixture
def env(monkeypatch, dolibarr):
    for name in ("DOLIBARR_SNAPSHOT", "DOLIBARR_WRITE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOLIBARR_URL", dolibarr.url)
    monkeypatch.setenv("DOLIBARR_API_KEY", KEY)
    return monkeypatch


def fetch(config, tmp_path, name="run", window=WINDOW):
    """Run the stage in-process; the Parquet it wrote, read back, and what it told stderr."""
    out = tmp_path / name / "invoices.parquet"
    stream = io.StringIO()
    fetch_dolibarr.main([*window, "--config", str(config), "--snapshot-dir",
                         str(tmp_path / name / "snapshot"), "--out", str(out)], stream=stream)
    return pl.read_parquet(out), stream.getvalue()


def requests_by_path(emulator):
    paths = [path for _method, path, _query in emulator.requests]
    return {path: paths.count(path) for path in paths}


# --- the window, in few requests --------------------------------------------------------------

def test_window_invoices_with_old_unpaid_ones_and_names_in_counted_requests(
        env, dolibarr, config, tmp_path):
    invoices, _ = fetch(config, tmp_path)
    assert invoices.schema == pl.Schema(INVOICES)
    assert invoices["invoice_id"].to_list() == EXPECTED_IDS
    assert invoices["customer_name"].null_count() == 0
    first = invoices.row(0, named=True)
    assert (first["invoice_ref"], first["customer_name"], first["total_cents"],
            first["invoice_date"]) == ("FA2601-0004", "Nguyen Jérôme", 8990, date(2026, 1, 5))
    assert requests_by_path(dolibarr) == {
        "/status": 1,
        "/invoices": math.ceil(len(EXPECTED_IDS) / PAGE),
        "/thirdparties": math.ceil(DEMO_CUSTOMERS / PAGE),
    }


def test_the_query_asks_only_for_what_the_schema_needs(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path)
    query = next(q for _m, p, q in dolibarr.requests if p == "/invoices")
    assert query["sqlfilters"] == ("((t.datef:>=:'2026-02-01') and (t.datef:<=:'2026-02-09'))"
                                   " or (t.fk_statut:=:1)")
    assert query["withLines"] == "false"
    assert set(query["properties"].split(",")) == {
        "id", "ref", "ref_client", "socid", "type", "status", "paye", "close_code",
        "total_ttc", "totalpaid", "remaintopay", "date", "date_lim_reglement",
        "multicurrency_code", "mode_reglement_code"}
    parties = next(q for _m, p, q in dolibarr.requests if p == "/thirdparties")
    assert parties["properties"] == "id,name"


def test_legacy_server_gives_the_same_invoices(env, dolibarr, config, tmp_path):
    modern, _ = fetch(config, tmp_path, "modern")
    dolibarr.requests.clear()
    dolibarr.legacy = True  # Dolibarr <= 17: no pagination_data, 404 on empty pages
    legacy, _ = fetch(config, tmp_path, "legacy")
    assert_frame_equal(legacy, modern)
    counts = requests_by_path(dolibarr)
    assert counts["/invoices"] <= math.ceil(len(EXPECTED_IDS) / PAGE) + 1
    assert counts["/thirdparties"] <= math.ceil(DEMO_CUSTOMERS / PAGE) + 1


def test_a_burst_of_5xx_gives_the_same_invoices_after_retries(env, dolibarr, config, tmp_path):
    calm, _ = fetch(config, tmp_path, "calm")
    dolibarr.fail_next(3, status=503)
    stormy, _ = fetch(config, tmp_path, "stormy")
    assert_frame_equal(stormy, calm)


# --- the snapshot folder and offline replay ---------------------------------------------------

def test_snapshot_folder_holds_raw_objects_and_meta(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path)
    folder = tmp_path / "run" / "snapshot"
    assert sorted(p.name for p in folder.iterdir()) == ["invoices.jsonl", "meta.json",
                                                        "thirdparties.jsonl"]
    lines = (folder / "invoices.jsonl").read_text(encoding="utf-8").splitlines()
    invoices = [json.loads(line) for line in lines]
    assert [i["id"] for i in invoices] == [str(i) for i in EXPECTED_IDS]
    assert invoices[0]["total_ttc"] == "89.90000000" and invoices[0]["totalpaid"] == 0
    meta = json.loads((folder / "meta.json").read_text())
    assert {k: meta[k] for k in ("from", "to", "invoices_dated_from", "dolibarr_version",
                                 "timezone", "invoices", "thirdparties")} == {
        "from": "2026-02-01", "to": "2026-02-09", "invoices_dated_from": "2026-02-01",
        "dolibarr_version": "23.0.0-beta", "timezone": "UTC", "invoices": 21,
        "thirdparties": DEMO_CUSTOMERS}
    assert meta["sha256"]["invoices.jsonl"] == sha256_of(folder / "invoices.jsonl")
    assert [p.name for p in (tmp_path / "run").iterdir() if p.name.startswith(".")] == []


def test_offline_replay_gives_the_identical_parquet_without_the_network(
        env, dolibarr, config, tmp_path):
    online, _ = fetch(config, tmp_path, "online")
    snapshot = tmp_path / "online" / "snapshot"
    before = {p.name: p.read_bytes() for p in snapshot.iterdir()}
    dolibarr.requests.clear()
    env.setenv("DOLIBARR_SNAPSHOT", str(snapshot))
    env.setenv("DOLIBARR_URL", "http://127.0.0.1:9")  # would fail if it were used
    offline, _ = fetch(config, tmp_path, "offline")
    assert_frame_equal(offline, online)
    assert dolibarr.requests == []
    assert not (tmp_path / "offline" / "snapshot").exists()
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == before


def test_offline_replay_does_not_import_the_http_client(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path, "online")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOLIBARR")}
    environ["DOLIBARR_SNAPSHOT"] = str(tmp_path / "online" / "snapshot")
    replay = ("import sys, fetch_dolibarr; fetch_dolibarr.main(sys.argv[1:]); "
              "print('requests' in sys.modules)")
    result = subprocess.run(
        [sys.executable, "-c", replay, *WINDOW, "--config", str(config), "--snapshot-dir",
         str(tmp_path / "x" / "snapshot"), "--out", str(tmp_path / "x" / "invoices.parquet")],
        capture_output=True, text=True, env=environ, cwd=ROOT / "stages")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"


def test_replay_of_a_snapshot_saved_by_hand_applies_the_window(env, config, tmp_path,
                                                                 lazy_shared_datadir):
    folder = tmp_path / "by_hand"  # no meta.json, full pretty-printed objects
    folder.mkdir()
    captured = lazy_shared_datadir / "dolibarr_captured"
    (captured / "GET_invoices_all_full_snapshot.json").rename(folder / "invoices.json")
    (captured / "GET_thirdparties_all_full_snapshot.json").rename(folder / "thirdparties.json")
    env.setenv("DOLIBARR_SNAPSHOT", str(folder))
    invoices, told = fetch(config, tmp_path, window=["--from", "2026-03-01", "--to",
                                                      "2026-03-10"])
    assert invoices["invoice_id"].to_list() == [3, 4, 8, 10, 11, 12, 13, 16, 18]
    assert "9 invoice(s) of" in told and "outside the window" in told


def test_an_edited_snapshot_is_noticed(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path, "online")
    snapshot = tmp_path / "online" / "snapshot"
    with (snapshot / "thirdparties.jsonl").open("a") as handle:
        handle.write("\n")
    env.setenv("DOLIBARR_SNAPSHOT", str(snapshot))
    _, told = fetch(config, tmp_path, "offline")
    assert "thirdparties.jsonl changed since it was fetched" in told


def test_a_refetch_replaces_the_snapshot_whole(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path)
    folder = tmp_path / "run" / "snapshot"
    (folder / "stale.json").write_text("[]")
    fetch(config, tmp_path)
    assert not (folder / "stale.json").exists()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "invoices.parquet", "invoices.parquet.sources.json", "snapshot"]


# --- timezones ----------------------------------------------------------------------------------

def test_paris_and_utc_servers_give_the_same_invoice_dates(env, config, tmp_path):
    frames, raw_dates = [], []
    for zone in ("UTC", "Europe/Paris"):
        with DolibarrEmulator(DEMO, api_key=KEY, timezone=zone) as emulator:
            env.setenv("DOLIBARR_URL", emulator.url)
            frame, _ = fetch(config, tmp_path, zone.replace("/", "_"))
        frames.append(frame)
        snapshot = tmp_path / zone.replace("/", "_") / "snapshot" / "invoices.jsonl"
        raw_dates.append(json.loads(snapshot.read_text().splitlines()[0])["date"])
    assert raw_dates[0] - raw_dates[1] == 3600  # midnight in Paris is 23:00 UTC the day before
    assert_frame_equal(frames[0], frames[1])
    env.setenv("DOLIBARR_SNAPSHOT", str(tmp_path / "Europe_Paris" / "snapshot"))
    (tmp_path / "Europe_Paris" / "snapshot" / "meta.json").unlink()  # as if saved by hand
    replay, _ = fetch(config, tmp_path, "replay")
    assert_frame_equal(replay, frames[0])


# --- failures: a clear message, nothing left behind ------------------------------------------

def run_stage(tmp_path, config, env):
    """The stage as Make runs it: a separate process."""
    out = tmp_path / "cli" / "invoices.parquet"
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "fetch_dolibarr.py"), *WINDOW, "--config",
         str(config), "--snapshot-dir", str(tmp_path / "cli" / "snapshot"), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT), out


def test_wrong_key_is_a_clear_error_exit_2_and_the_key_is_never_printed(dolibarr, config,
                                                                         tmp_path):
    dolibarr.wrong_key_delay = 0
    secret = "wrong-9f8e7d6c5b4a"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIBARR")}
    env.update(DOLIBARR_URL=dolibarr.url, DOLIBARR_API_KEY=secret)
    result, out = run_stage(tmp_path, config, env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"fetch_dolibarr: Dolibarr {dolibarr.url} (DOLIBARR_URL "
                                    "from the command line or environment, key "
                                    "DOLIBARR_API_KEY)\nerror: Dolibarr refused the API key "
                                    "(Unauthorized: ")
    assert "Set DOLIBARR_API_KEY to the API key of an active Dolibarr user" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stdout + result.stderr
    assert not out.exists() and not (tmp_path / "cli").exists()  # no Parquet, no snapshot


def test_a_failed_fetch_keeps_the_previous_snapshot(env, dolibarr, config, tmp_path):
    fetch(config, tmp_path)
    folder = tmp_path / "run" / "snapshot"
    before = (folder / "invoices.jsonl").read_bytes()
    dolibarr.wrong_key_delay = 0
    env.setenv("DOLIBARR_API_KEY", "not-the-key")
    with pytest.raises(AuthError):
        fetch(config, tmp_path)
    assert (folder / "invoices.jsonl").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "invoices.parquet", "invoices.parquet.sources.json", "snapshot"]


def test_unreachable_url(env, config, tmp_path):
    env.setenv("DOLIBARR_URL", "http://127.0.0.1:9")
    with pytest.raises(UnreachableError, match="cannot reach Dolibarr at http://127.0.0.1:9 "
                                               r"\(connection refused"):
        fetch(config, tmp_path)
    assert not (tmp_path / "run" / "invoices.parquet").exists()


def test_501_says_wrong_base_url(env, dolibarr, config, tmp_path):
    env.setenv("DOLIBARR_URL", dolibarr.url + "/api/index.php/erp")
    with pytest.raises(ApiNotFoundError, match="answered 501: API not found .*wrong base URL"):
        fetch(config, tmp_path)


def test_503_after_the_retries(env, dolibarr, config, tmp_path):
    dolibarr.fail_next(50, status=503)
    with pytest.raises(ServerError, match="Dolibarr answered 503 to GET /status after 4 "
                                          "retries"):
        fetch(config, tmp_path)
    assert not (tmp_path / "run").exists()


def test_invalid_json_is_a_clear_error(env, config, tmp_path, one_answer_server):
    env.setenv("DOLIBARR_URL", one_answer_server(200, b"<html><body>Please log in</body></html>",
                                                 "text/html"))
    with pytest.raises(InvalidResponseError, match=r"the answer to GET /status is not JSON "
                                                   r"\(status 200, starts with '<html>"):
        fetch(config, tmp_path)


def test_bad_window_and_bad_settings(env, config, tmp_path):
    with pytest.raises(InputError, match="the window ends before it starts"):
        fetch(config, tmp_path, window=["--from", "2026-02-09", "--to", "2026-02-01"])
    config.write_text("dolibarr:\n  page_size: 0\n")
    with pytest.raises(InputError, match="dolibarr.page_size must be a whole number of at "
                                         "least 1; found 0"):
        fetch(config, tmp_path)
    env.setenv("DOLIBARR_SNAPSHOT", str(tmp_path / "nowhere"))
    config.write_text("dolibarr: {}\n")
    with pytest.raises(InputError, match="DOLIBARR_SNAPSHOT does not name a folder"):
        fetch(config, tmp_path)


def test_progress_line_only_after_a_moment():
    stream = io.StringIO()
    progress = fetch_dolibarr.PagingProgress("invoices", stream, after=0.0, every=0.0)
    progress(100, 1, 3)
    progress(250, 3, 3)
    progress.done()
    assert stream.getvalue() == ("fetching invoices: 100 so far, page 1/3\n"
                                 "fetching invoices: 250 so far, page 3/3\n")
    quiet = io.StringIO()
    slow_to_start = fetch_dolibarr.PagingProgress("invoices", quiet, after=60)
    slow_to_start(100, 1, None)
    assert quiet.getvalue() == ""
