"""Stage fetch_dolibarr: the Dolibarr invoices a window needs, saved as a snapshot, as Parquet.

For the window FROM..TO it asks Dolibarr for the invoices dated from FROM minus
`dolibarr.lookback_days` to TO, plus every invoice still unpaid (status 1) whatever its
date, in one `sqlfilters` query, with only the properties the INVOICES schema needs; then
every third party (`id`, `name`) in bulk pages, joined on `socid`. Pages are fetched
`dolibarr.parallel_pages` at a time. The raw answers are saved as a snapshot folder
(invoices.jsonl, thirdparties.jsonl: JSON Lines, the objects as the API returned them, one
per line; meta.json: window, server version and timezone, fetch time, SHA-256 of both
files),
written into a temporary folder and renamed into place, and the Parquet is built from
those files, exactly as an offline replay would build it.

With DOLIBARR_SNAPSHOT=<folder> in the environment it reads that folder instead of the
network (meta.json optional there, and the objects may be JSON arrays in invoices.json and
thirdparties.json: a snapshot saved by hand) and writes no snapshot.

Usage: fetch_dolibarr.py --from YYYY-MM-DD --to YYYY-MM-DD --config config.yaml
                         --snapshot-dir raw/dolibarr/<FROM>_<TO>
                         --out interim/invoices_<FROM>_<TO>.parquet
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, TextIO

import polars as pl

from recon import config as config_module
from recon import provenance
from recon.errors import InputError, run
from recon.invoices import (INVOICE_PROPERTIES, INVOICES_FILE, THIRDPARTIES_FILE,
                            THIRDPARTY_PROPERTIES, in_window, load_snapshot, snapshot_file,
                            window_start)
from recon.io import write_parquet
from recon.stamps import sha256_of
from recon.match_common import parse_window
from recon.schemas import INVOICES

if TYPE_CHECKING:  # the HTTP client (requests: 0.1 s to import) only when going online
    from recon.dolibarr import DolibarrClient

META_FILE = "meta.json"
SNAPSHOT_VARIABLE = "DOLIBARR_SNAPSHOT"


@dataclass(frozen=True)
class Window:
    date_from: date
    date_to: date
    lookback_days: int

    @property
    def invoices_from(self) -> date:
        return window_start(self.date_from, self.lookback_days)


@dataclass(frozen=True)
class FetchSettings:
    lookback_days: int = 120
    page_size: int = 100
    parallel_pages: int = 4


def fetch_settings(config: dict, config_path: str | Path = "config.yaml") -> FetchSettings:
    """The `dolibarr:` section's paging settings, checked."""
    section = config.get("dolibarr") or {}
    values = {}
    for key, minimum in (("lookback_days", 0), ("page_size", 1), ("parallel_pages", 1)):
        value = section.get(key, getattr(FetchSettings, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InputError(f"dolibarr.{key} must be a whole number of at least {minimum}",
                             file=config_path, value=value)
        values[key] = value
    return FetchSettings(**values)


# --- what to ask for ------------------------------------------------------------------------

def invoice_filter(window: Window) -> str:
    """One sqlfilters for the window: dated in [FROM - lookback, TO], or still unpaid.

    DB column names (API_FACTS.md §4): t.datef is the invoice date, t.fk_statut the status;
    dates are quoted (an unquoted date loses its dashes, a timestamp matches everything).
    """
    return (f"((t.datef:>=:'{window.invoices_from.isoformat()}') and "
            f"(t.datef:<=:'{window.date_to.isoformat()}')) or (t.fk_statut:=:1)")


def invoice_query(window: Window) -> dict:
    return {"sqlfilters": invoice_filter(window), "properties": ",".join(INVOICE_PROPERTIES),
            "withLines": "false", "sortfield": "t.rowid", "sortorder": "ASC"}


def thirdparty_query() -> dict:
    return {"properties": ",".join(THIRDPARTY_PROPERTIES), "sortfield": "t.rowid",
            "sortorder": "ASC"}


# --- progress -------------------------------------------------------------------------------

def progress_stream(stream: TextIO | None) -> TextIO:
    """Where progress goes: the terminal itself when there is one, so that it shows live
    even when Make holds the stage's stderr until it ends (--output-sync); else stderr
    (a log gets plain lines)."""
    if stream not in (None, sys.stderr) or getattr(sys.stderr, "isatty", lambda: False)():
        return stream or sys.stderr
    try:
        return open("/dev/tty", "w", encoding="utf-8")
    except OSError:  # no controlling terminal: a log, a test, a CI job
        return sys.stderr


class PagingProgress:
    """A progress bar on the terminal (plain lines in a log), only once paging has taken
    more than `after` seconds."""

    def __init__(self, what: str, stream: TextIO | None = None, after: float = 1.0,
                 every: float = 2.0):
        self.what, self.stream = what, progress_stream(stream)
        self.after, self.every = after, every
        self.started = time.monotonic()
        self.last_shown: float | None = None
        self.interactive = getattr(self.stream, "isatty", lambda: False)()

    def __call__(self, items: int, pages: int, pages_total: int | None) -> None:
        now = time.monotonic()
        if now - self.started < self.after:
            return
        if not self.interactive and self.last_shown is not None \
                and now - self.last_shown < self.every:
            return
        of = f"/{pages_total}" if pages_total is not None else ""
        line = f"fetching {self.what}: {items} so far, page {pages}{of}"
        if self.interactive and pages_total:
            done = 24 * pages // pages_total
            line = f"[{'#' * done}{'.' * (24 - done)}] {line}"
        self.stream.write(f"\r{line}\033[K" if self.interactive else line + "\n")
        self.stream.flush()
        self.last_shown = now

    def done(self) -> None:
        if self.interactive and self.last_shown is not None:
            self.stream.write("\n")
            self.stream.flush()
        if getattr(self.stream, "name", None) == "/dev/tty":
            self.stream.close()


# --- the snapshot folder --------------------------------------------------------------------

def write_json_lines(pages: Iterable[list], path: Path) -> tuple[int, str]:
    """Stream pages of API objects as JSON Lines, one compact object per line (polars
    reads that straight from the file). Returns the object count and the SHA-256."""
    digest, count = hashlib.sha256(), 0
    with path.open("wb") as out:
        for page in pages:
            for item in page:
                line = json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
                chunk = line.encode("utf-8")
                out.write(chunk)
                digest.update(chunk)
                count += 1
    return count, digest.hexdigest()


def fetch_snapshot(client: DolibarrClient, window: Window, settings: FetchSettings,
                   folder: Path, stream: TextIO | None = None) -> dict:
    """Fetch the window's invoices and every third party into `folder` (replaced whole,
    atomically); return the metadata written to meta.json."""
    server = client.server_info()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        invoices, invoices_hash = _fetch_list(client, "/invoices", invoice_query(window),
                                              "invoices", settings, staging / INVOICES_FILE,
                                              stream)
        thirdparties, thirdparties_hash = _fetch_list(
            client, "/thirdparties", thirdparty_query(), "third parties", settings,
            staging / THIRDPARTIES_FILE, stream)
        meta = {
            "from": window.date_from.isoformat(), "to": window.date_to.isoformat(),
            "invoices_dated_from": window.invoices_from.isoformat(),
            "rule": "invoices dated from invoices_dated_from to `to`, plus every unpaid one",
            "sqlfilters": invoice_filter(window),
            "url": client.display_url,
            "dolibarr_version": server["version"], "timezone": server["timezone"],
            "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "invoices": invoices, "thirdparties": thirdparties,
            "sha256": {INVOICES_FILE: invoices_hash, THIRDPARTIES_FILE: thirdparties_hash},
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return meta


def _fetch_list(client: DolibarrClient, path: str, query: dict, what: str,
                settings: FetchSettings, target: Path, stream: TextIO | None) -> tuple[int, str]:
    progress = PagingProgress(what, stream)
    try:
        pages = client.iter_pages(path, query, page_size=settings.page_size,
                                  parallel=settings.parallel_pages, progress=progress)
        return write_json_lines(pages, target)
    finally:
        progress.done()


def replace_folder(staging: Path, folder: Path) -> None:
    """Put `staging` in the place of `folder`: the old one is moved aside, then removed."""
    old = None
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
        os.replace(folder, old / folder.name)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_meta(folder: Path) -> dict:
    """meta.json of a snapshot folder, or {} when it has none (a snapshot saved by hand)."""
    path = folder / META_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None
    if not isinstance(meta, dict):
        raise InputError("not a JSON object", file=path, expected='{"timezone": ..., ...}')
    return meta


def changed_files(folder: Path, meta: dict) -> list[Path]:
    """The files that no longer match the SHA-256 recorded in meta.json when fetched."""
    return [folder / name for name, expected in (meta.get("sha256") or {}).items()
            if (folder / name).is_file() and sha256_of(folder / name) != expected]


# --- snapshot -> invoices -------------------------------------------------------------------

def invoices_of_snapshot(folder: Path, window: Window, meta: dict, stream: TextIO,
                         check_hashes: bool = False) -> pl.DataFrame:
    """The INVOICES frame of a snapshot, restricted to the window's rule (a no-op on a
    fetched snapshot; on one saved by hand, it keeps what a fetch would have).

    With check_hashes, says so when a file no longer matches its recorded SHA-256; the
    hashing runs in a thread while polars parses (hashlib releases the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        changed = pool.submit(changed_files, folder, meta if check_hashes else {})
        invoices = load_snapshot(folder, timezone=meta.get("timezone"))
    for path in changed.result():
        stream.write(f"notice: {path} changed since it was fetched (its SHA-256 differs "
                     f"from {folder / META_FILE}); reading it as it is now\n")
    kept = in_window(invoices, window.date_from, window.date_to, window.lookback_days)
    if kept.height < invoices.height:
        stream.write(f"notice: {invoices.height - kept.height} invoice(s) of {folder} are "
                     f"outside the window (dated before {window.invoices_from} or after "
                     f"{window.date_to}, and not unpaid): left out\n")
    orphans = kept.filter(pl.col("customer_name").is_null())
    if orphans.height:
        stream.write(f"notice: {orphans.height} invoice(s) have a customer id missing from "
                     f"{snapshot_file(folder, THIRDPARTIES_FILE)} (e.g. socid {orphans['socid'][0]} on "
                     f"{orphans['invoice_ref'][0]}); their customer_name is empty\n")
    return kept


def record_source(folder: Path, meta: dict, invoices: int, saved: bool) -> None:
    """The Dolibarr source for the report's provenance; no invoice at all is a missing
    input, unless ALLOW_MISSING names `invoices`."""
    source = {"url": None if saved else meta.get("url"), "snapshot": str(folder),
              "fetched_at": meta.get("fetched_at"),
              "dolibarr_version": meta.get("dolibarr_version"), "invoices": invoices}
    provenance.record_dolibarr(source)
    if invoices:
        return
    where = f"the saved snapshot {folder}" if saved else \
        f"Dolibarr {meta.get('url')} (snapshot {folder})"
    files = ", ".join(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else "nothing"
    reason = f"no invoice of the window (nor any unpaid one) in {where}"
    if "invoices" in provenance.allowed_missing():
        provenance.note("missing", {"kind": "invoices", "folder": str(folder),
                                    "reason": reason})
        return
    raise InputError(f"Dolibarr invoices missing: {reason}; found there: {files}",
                     expected="the Dolibarr holding this period's invoices, or "
                              "ALLOW_MISSING=invoices on the command line")


# --- the script -----------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fetch the Dolibarr invoices (and customers) a window needs, save them "
                    "as a JSON Lines snapshot, write the invoices Parquet. DOLIBARR_URL and "
                    "DOLIBARR_API_KEY come from the environment; with DOLIBARR_SNAPSHOT="
                    "<folder> a saved snapshot is read instead of the network.")
    parser.add_argument("--from", dest="date_from", required=True,
                        help="first day of the window, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", required=True,
                        help="last day of the window, YYYY-MM-DD")
    parser.add_argument("--config", required=True, help="config.yaml (section dolibarr:)")
    parser.add_argument("--snapshot-dir", required=True, type=Path,
                        help="snapshot folder to write, e.g. raw/dolibarr/<FROM>_<TO>")
    parser.add_argument("--out", required=True, type=Path,
                        help="invoices Parquet, e.g. interim/invoices_<FROM>_<TO>.parquet")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stream: TextIO | None = None) -> int:
    args = parse_args(argv)
    stream = stream or sys.stderr
    date_from, date_to = parse_window(args.date_from, args.date_to)
    config = config_module.load(args.config)
    settings = fetch_settings(config, args.config)
    window = Window(date_from, date_to, settings.lookback_days)
    saved = os.environ.get(SNAPSHOT_VARIABLE, "").strip()
    if saved:
        folder = Path(saved)
        if not folder.is_dir():
            raise InputError(f"{SNAPSHOT_VARIABLE} does not name a folder", value=saved,
                             expected="a snapshot folder holding the invoices and third "
                                      "parties (.jsonl, or .json arrays)")
        meta = read_meta(folder)
        source = f"saved snapshot {folder} ({SNAPSHOT_VARIABLE})"
        print(f"fetch_dolibarr: no network, reading {source}", file=sys.stderr)
    else:
        from recon.dolibarr import announce, client_from_env  # an offline run needs no requests
        folder = args.snapshot_dir
        with client_from_env(config) as client:
            announce("fetch_dolibarr", client)
            meta = fetch_snapshot(client, window, settings, folder, stream)
        source = (f"Dolibarr {meta['dolibarr_version']} (timezone "
                  f"{meta['timezone'] or 'not reported'}), snapshot {folder}")
    invoices = invoices_of_snapshot(folder, window, meta, stream, check_hashes=bool(saved))
    record_source(folder, meta, invoices.height, saved=bool(saved))
    write_parquet(invoices, args.out, INVOICES)
    print(f"fetch_dolibarr: {invoices.height} invoices from {source} -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
