"""Issue 10: a corpus of bad inputs, one realistic fault each, through the stage scripts.

Every case starts from a good set of inputs (tests/test_bad_inputs/: the sample exports,
a slim Dolibarr snapshot of the demo data), breaks one thing the way a user or a server
does, runs one stage as a subprocess, and asserts:
- exit status != 0, or 0 with the documented notice when the input is accepted;
- the message names what is wrong: the file, and where it applies the line, column, value;
- no traceback; no output file written by a failing stage;
- the API key (in the environment of every case) never printed.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ROOT / "stages"
PARSE_DATA = ROOT / "tests" / "data" / "parse"  # the samples re-saved by Excel (build.py)
KEY = "k3yS3cr3tZ9xQ7wV5tR2pL8mN4bH6jF1"  # 32 characters, like a Dolibarr key
WINDOW = ["--from", "2026-01-01", "--to", "2026-02-09"]
PAYMENTS = "gocardless/payments_index-export-EX0001.csv"
PAYOUTS = "gocardless/payouts-export-EX0002.csv"
SHINE = "shine/BQ_2026-01-01_2026-02-06.csv"
INVOICES = "snapshot/invoices.jsonl"


# --- the workspace and the run of one case -----------------------------------------------------

@dataclass
class Run:
    """What a case runs, and what it must give."""
    script: str  # stage script name in stages/
    args: list[str]
    outputs: list[Path]  # must not exist after a failure; exist after success
    says: list[str]  # all in stderr
    ok: bool = False  # accepted input: exit 0 (with the notice in `says`)
    env: dict = field(default_factory=dict)
    deny: Path | None = None  # run with this path unreadable
    check: Callable[[], None] | None = None  # further assertions on success


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.gc, self.shine, self.snapshot = root / "gocardless", root / "shine", root / "snapshot"
        self.interim = root / "interim"
        self.config = root / "config.yaml"
        shutil.copy(ROOT / "config.yaml", self.config)

    def path(self, name: str) -> Path:
        return self.root / name

    # stage commands on this workspace
    def parse_gc(self, says, **kw) -> Run:
        out = self.interim / "gc_payments.parquet"
        return Run("parse_gc.py", ["--input-dir", str(self.gc), "--out", str(out)], [out],
                   says, **kw)

    def parse_payouts(self, says, **kw) -> Run:
        out, items = self.interim / "gc_payouts.parquet", self.interim / "items.parquet"
        return Run("parse_payouts.py", ["--input-dir", str(self.gc), "--out", str(out),
                                        "--items-out", str(items)], [out, items], says, **kw)

    def parse_shine(self, says, config=None, **kw) -> Run:
        out = self.interim / "bank.parquet"
        return Run("parse_shine.py", ["--input-dir", str(self.shine), "--config",
                                      str(config or self.config), "--out", str(out)],
                   [out], says, **kw)

    def fetch(self, says, env=None, config=None, window=WINDOW, **kw) -> Run:
        out = self.interim / "invoices.parquet"
        env = env if env is not None else {"DOLIBARR_SNAPSHOT": str(self.snapshot)}
        return Run("fetch_dolibarr.py", [*window, "--config", str(config or self.config),
                                         "--snapshot-dir", str(self.root / "fetched"),
                                         "--out", str(out)], [out], says, env=env, **kw)

    def pass1(self, says, config=None, **kw) -> Run:
        out = self.interim / "pass1.parquet"
        return Run("pass1.py", ["--invoices", str(self.interim / "invoices.parquet"),
                                "--payments", str(self.interim / "gc_payments.parquet"),
                                *WINDOW, "--config", str(config or self.config),
                                "--out", str(out)], [out], says, **kw)

    def set_config(self, change: Callable[[dict], None]) -> None:
        config = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        change(config)
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")


def run_stage(run: Run, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOLIBARR_", "RECONCILIATION_"))}
    env.update({"DOLIBARR_API_KEY": KEY, **run.env})
    command = [sys.executable, str(STAGES / run.script), *run.args]
    if run.deny is not None:
        command = [sys.executable, str(cwd / "deny_open.py"), str(run.deny), *command[1:]]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


def in_process(run: Run, cwd: Path) -> None:
    """A setup step (a good stage before the one under test); it must succeed."""
    done = run_stage(run, cwd)
    assert done.returncode == 0, done.stderr


# --- editing files the way users and programs do ---------------------------------------------

def read_rows(path: Path, sep=",", encoding=None) -> list[list[str]]:
    data = path.read_bytes()
    if encoding is None:
        try:
            data.decode("utf-8")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "cp1252"
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=sep))


def write_rows(path: Path, rows, sep=",", eol="\n", quoting=csv.QUOTE_MINIMAL,
               encoding="utf-8") -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=sep, lineterminator=eol, quoting=quoting).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def set_cell(path: Path, line: int, column: str, value: str, sep=",", **kw) -> None:
    """Change one value; `line` counts like an editor (the header is line 1)."""
    rows = read_rows(path, sep)
    rows[line - 1][rows[0].index(column)] = value
    if sep == ";":  # Shine quotes every field, CRLF
        kw = {"eol": "\r\n", "quoting": csv.QUOTE_ALL, **kw}
    write_rows(path, rows, sep, **kw)


def line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


# --- the cases ----------------------------------------------------------------------------------

CASES: dict[str, Callable[[Workspace], Run]] = {}


def case(name: str):
    def register(build):
        CASES[name] = build
        return build
    return register


# GoCardless payments export ------------------------------------------------------------------

@case("gc_truncated_last_line")
def _(ws):
    path = ws.path(PAYMENTS)
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[:data.rindex(b"\n") + 60])  # download interrupted mid-line
    return ws.parse_gc([str(path), "line 29", "short or truncated line: 5 fields instead of 34"])


@case("gc_cut_inside_a_quoted_field")
def _(ws):
    path = ws.path(PAYMENTS)
    data = path.read_bytes()
    quote = data.index(b',"') + 2  # a customer name with a comma, quoted
    path.write_bytes(data[:quote + 5])
    return ws.parse_gc([str(path), f"line {line_of(data, quote)}", "malformed CSV record"])


@case("gc_reencoded_utf16")
def _(ws):
    path = ws.path(PAYMENTS)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))  # Notepad "Unicode"
    return ws.parse_gc([str(path), "encoded in UTF-16", "UTF-8 or Windows-1252"])


@case("gc_excel_french_locale_accepted")
def _(ws):
    shutil.copy(PARSE_DATA / "payments_excel_fr.csv", ws.path(PAYMENTS))

    def same_payments():
        got = pl.read_parquet(ws.interim / "gc_payments.parquet")
        assert (got.height, got["amount_cents"].sum(), got["transaction_fee_cents"].sum()) == (
            28, 1064430, 5821)
        assert got.filter(pl.col("gc_payment_id") == "PM00002784FWY3")["amount_cents"].item() \
            == 34860  # written 348,6
    return ws.parse_gc([str(ws.path(PAYMENTS)), "separated by ';' with decimal commas",
                        "decoded as Windows-1252"], ok=True, check=same_payments)


@case("gc_excel_english_locale_accepted")
def _(ws):
    shutil.copy(PARSE_DATA / "payments_excel.csv", ws.path(PAYMENTS))

    def same_payments():
        got = pl.read_parquet(ws.interim / "gc_payments.parquet")
        assert (got.height, got["amount_cents"].sum()) == (28, 1064430)
    return ws.parse_gc([str(ws.path(PAYMENTS)), "dates written DD/MM/YYYY"], ok=True,
                       check=same_payments)


@case("gc_cr_only_line_endings_accepted")
def _(ws):
    path = ws.path(PAYMENTS)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))  # old Mac Excel

    def same_lines():
        got = pl.read_parquet(ws.interim / "gc_payments.parquet")
        assert (got.height, got["amount_cents"].sum(), got["source_line"].to_list()) == (
            28, 1064430, list(range(2, 30)))
    return ws.parse_gc([str(path), "carriage return alone"], ok=True, check=same_lines)


@case("gc_excel_mac_csv_macintosh_accepted")
def _(ws):
    # Excel for Mac's "CSV (Macintosh)": CR-only lines, Mac Roman accents.
    path = ws.path(PAYMENTS)
    path.write_bytes(path.read_text(encoding="utf-8").replace("\n", "\r").encode("mac_roman"))

    def accents_kept():
        got = pl.read_parquet(ws.interim / "gc_payments.parquet")
        assert (got.height, got["amount_cents"].sum()) == (28, 1064430)
        assert got.filter(pl.col("gc_payment_id") == "PM00001D9EN5ZD")["customer_name"].item() \
            == "Élodie Marchand"
    return ws.parse_gc([str(path), "carriage return alone", "decoded as Mac Roman"], ok=True,
                       check=accents_kept)


@case("gc_cr_only_with_a_bad_amount_names_its_line")
def _(ws):
    path = ws.path(PAYMENTS)
    set_cell(path, 6, "amount", "5OO.00", eol="\r")
    return ws.parse_gc([str(path), "line 6", "column 'amount'", "'5OO.00'"])


@case("gc_nul_byte_in_a_line")
def _(ws):
    path = ws.path(PAYMENTS)
    data = path.read_bytes()
    at = data.index(b"Acompte chantier") + 3
    path.write_bytes(data[:at] + b"\x00" + data[at:])
    return ws.parse_gc([str(path), f"line {line_of(data, at)}", "a NUL byte",
                        "Aco\\x00'"])


@case("gc_zero_filled_tail_after_interrupted_copy")
def _(ws):
    path = ws.path(PAYMENTS)
    data = path.read_bytes()
    cut = data.index(b"\nPM00020")
    path.write_bytes(data[:cut + 1] + b"\x00" * (len(data) - cut - 1))
    return ws.parse_gc([str(path), f"line {line_of(data, cut + 1)}", "a NUL byte",
                        "damaged"])


@case("gc_png_named_csv")
def _(ws):
    ws.path(PAYMENTS).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "binary content, not a CSV text file"])


@case("gc_xlsx_renamed_csv")
def _(ws):
    ws.path(PAYMENTS).write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" * 4)
    return ws.parse_gc([str(ws.path(PAYMENTS)), "an Excel workbook", "save"])


@case("gc_empty_file")
def _(ws):
    ws.path(PAYMENTS).write_bytes(b"")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "empty file: no header row"])


@case("gc_amount_with_euro_sign")
def _(ws):
    set_cell(ws.path(PAYMENTS), 3, "amount", "348,60 €")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 3", "column 'amount'", "'348,60 €'",
                        "unreadable amount"])


@case("gc_huge_amount")
def _(ws):
    set_cell(ws.path(PAYMENTS), 4, "amount", "9" * 40 + ".00")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 4", "column 'amount'", "9" * 40])


@case("gc_huge_field_pasted_into_amount")
def _(ws):
    set_cell(ws.path(PAYMENTS), 9, "amount", "215.40 " + "voir pièce jointe " * 20000)
    # read trimmed: 360,006 characters, cut in the message
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 9", "column 'amount'",
                        "'215.40 voir pièce jointe voir", "(360,006 characters)"])


@case("gc_text_in_a_date")
def _(ws):
    set_cell(ws.path(PAYMENTS), 5, "charge_date", "demain")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 5", "column 'charge_date'", "'demain'",
                        "a date YYYY-MM-DD or DD/MM/YYYY"])


@case("gc_status_as_shown_on_screen")
def _(ws):
    set_cell(ws.path(PAYMENTS), 7, "status", "Paid out")
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 7", "column 'status'", "'Paid out'",
                        "one of pending_customer_approval"])


@case("gc_required_column_deleted")
def _(ws):
    rows = read_rows(ws.path(PAYMENTS))
    status = rows[0].index("status")
    write_rows(ws.path(PAYMENTS), [r[:status] + r[status + 1:] for r in rows])
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 1", "column 'status'",
                        "required column 'status' missing"])


@case("gc_same_payment_twice_in_one_file")
def _(ws):
    rows = read_rows(ws.path(PAYMENTS))
    again = list(rows[9])
    again[rows[0].index("amount")] = "78.00"
    write_rows(ws.path(PAYMENTS), rows + [again])
    # The column and value are the parsed ones (amount_cents, 7800): item 6's dedup work may
    # name the export's own; the file, the lines and the payment are named today.
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 30", "PM00009WPREQ8J",
                        "appears on lines 10 and 30 with different content"])


@case("gc_overlapping_identical_downloads_accepted")
def _(ws):
    shutil.copy(ws.path(PAYMENTS), ws.gc / "payments_index-export-EX0004.csv")

    def one_row_per_payment():
        assert pl.read_parquet(ws.interim / "gc_payments.parquet").height == 28
    return ws.parse_gc([], ok=True, check=one_row_per_payment)


@case("gc_conflicting_duplicate_across_files")
def _(ws):
    other = ws.gc / "payments_index-export-EX0004.csv"
    shutil.copy(ws.path(PAYMENTS), other)
    set_cell(other, 3, "amount", "384.60")
    return ws.parse_gc(["PM00002784FWY3", other.name, Path(PAYMENTS).name, "348.60", "384.60"])


@case("gc_export_dropped_in_the_shine_folder")
def _(ws):
    shutil.copy(ws.path(PAYMENTS), ws.shine / "payments.csv")
    return ws.parse_shine([str(ws.shine / "payments.csv"), "GoCardless payments export",
                           "does not belong"])


@case("gc_folder_in_place_of_a_file")
def _(ws):
    ws.path(PAYMENTS).unlink()
    ws.path(PAYMENTS).mkdir()  # an archive tool unpacked into a folder of that name
    return ws.parse_gc([str(ws.path(PAYMENTS)), "a folder, not a file"])


@case("gc_unreadable_export")
def _(ws):
    return ws.parse_gc([str(ws.path(PAYMENTS)), "cannot be read (Permission denied)"],
                       deny=ws.path(PAYMENTS))


@case("gc_broken_link")
def _(ws):
    link = ws.gc / "payments_latest.csv"
    link.symlink_to(ws.root / "Downloads" / "payments.csv")
    return ws.parse_gc([str(link), "not a regular file"])


@case("gc_input_folder_missing")
def _(ws):
    shutil.rmtree(ws.gc)
    return ws.parse_gc([str(ws.gc), "input folder not found"])


@case("gc_input_folder_is_a_file")
def _(ws):
    shutil.rmtree(ws.gc)
    ws.gc.write_bytes(b"")  # `touch raw/gocardless` by mistake
    return ws.parse_payouts([str(ws.gc), "a file, not a folder"])


# GoCardless payouts export -------------------------------------------------------------------

@case("payouts_status_not_a_gocardless_one")
def _(ws):
    set_cell(ws.path(PAYOUTS), 3, "status", "sent")
    return ws.parse_payouts([str(ws.path(PAYOUTS)), "line 3", "column 'status'", "'sent'",
                             "one of pending, paid, bounced"])


@case("payouts_impossible_arrival_date")
def _(ws):
    set_cell(ws.path(PAYOUTS), 4, "arrival_date", "2026-13-01")
    return ws.parse_payouts([str(ws.path(PAYOUTS)), "line 4", "column 'arrival_date'",
                             "'2026-13-01'"])


@case("payouts_excel_french_locale_accepted")
def _(ws):
    shutil.copy(PARSE_DATA / "payouts_excel_fr.csv", ws.path(PAYOUTS))

    def same_payouts():
        got = pl.read_parquet(ws.interim / "gc_payouts.parquet")
        assert (got.height, got["amount_cents"].sum()) == (5, 819706)
    return ws.parse_payouts([str(ws.path(PAYOUTS)), "separated by ';' with decimal commas"],
                            ok=True, check=same_payouts)


# Shine export --------------------------------------------------------------------------------

def shine_text(ws) -> str:
    return ws.path(SHINE).read_text(encoding="utf-8-sig")


@case("shine_double_encoded_by_an_editor")
def _(ws):
    # Opened as Windows-1252 by an editor and saved again as UTF-8: Débit -> DÃ©bit.
    ws.path(SHINE).write_bytes(shine_text(ws).encode("utf-8").decode("cp1252").encode("utf-8"))
    return ws.parse_shine([str(ws.path(SHINE)), "line 1", "Date d'opÃ©ration",
                           "read as UTF-8 (the encoding detected)", "double encoded",
                           "download it again"])


@case("shine_saved_in_mac_roman")
def _(ws):
    ws.path(SHINE).write_bytes(shine_text(ws).encode("mac_roman", errors="replace"))
    return ws.parse_shine([str(ws.path(SHINE)), "line 1", "neither UTF-8 nor Windows-1252",
                           "it reads as Mac Roman", "download it again"])


@case("shine_accents_already_lost")
def _(ws):
    ws.path(SHINE).write_bytes(shine_text(ws).replace("é", "\ufffd").encode("utf-8"))
    return ws.parse_shine([str(ws.path(SHINE)), "line 1", "Date d'op\ufffdration",
                           "accents were lost", "download it again"])


@case("shine_movement_disagrees_with_debit")
def _(ws):
    set_cell(ws.path(SHINE), 5, "Solde mouvement", "23,99", sep=";")
    return ws.parse_shine([str(ws.path(SHINE)), "line 5", "column 'Solde mouvement'",
                           "'23,99'", "Crédit - Débit"])


@case("shine_impossible_date")
def _(ws):
    set_cell(ws.path(SHINE), 4, "Date d'opération", "31/02/2026", sep=";")
    return ws.parse_shine([str(ws.path(SHINE)), "line 4", "column 'Date d'opération'",
                           "'31/02/2026'"])


@case("shine_resaved_by_excel_in_english")
def _(ws):
    rows = read_rows(ws.path(SHINE), sep=";")
    write_rows(ws.path(SHINE), rows, sep=",", eol="\r\n")
    return ws.parse_shine([str(ws.path(SHINE)), "line 1", "separated by ',' instead of ';'"])


# config.yaml ---------------------------------------------------------------------------------

@case("config_is_a_directory")
def _(ws):
    folder = ws.root / "settings"
    folder.mkdir()
    return ws.parse_shine([str(folder), "a folder, not a configuration file"], config=folder)


@case("config_unreadable")
def _(ws):
    return ws.parse_shine([str(ws.config), "cannot be read (Permission denied)"],
                          deny=ws.config)


@case("config_not_yaml")
def _(ws):
    ws.config.write_text("matching:\n  date_tolerance_days: 7\n legal_forms: [sarl\n",
                         encoding="utf-8")
    return ws.parse_shine([str(ws.config), "line 3", "not valid YAML", "at character 2"])


@case("config_indented_with_a_tab")
def _(ws):
    ws.config.write_text("matching:\n\tdate_tolerance_days: 7\n", encoding="utf-8")
    return ws.parse_shine([str(ws.config), "line 2", "'\\t' that cannot start any token",
                           "spaces, not tabs"])


@case("config_saved_in_windows_1252")
def _(ws):
    ws.config.write_bytes(ws.config.read_bytes() + "# réglages\n".encode("cp1252"))
    return ws.parse_shine([str(ws.config), "not UTF-8", "0xe9"])


@case("config_tolerance_in_words")
def _(ws):
    in_process(ws.parse_gc([]), ws.root)
    in_process(ws.fetch([]), ws.root)
    ws.set_config(lambda c: c["matching"].update(date_tolerance_days="seven"))
    return ws.pass1([str(ws.config), "matching.date_tolerance_days", "'seven'",
                     "expected a whole number"])


@case("config_page_size_zero")
def _(ws):
    ws.set_config(lambda c: c["dolibarr"].update(page_size=0))
    return ws.fetch([str(ws.config), "dolibarr.page_size", "at least 1", "found 0"])


@case("config_unknown_key_typo")
def _(ws):
    ws.set_config(lambda c: c["matching"].update(date_tolerence_days=5))
    return ws.parse_shine([str(ws.config), "date_tolerence_days", "date_tolerance_days"])


# Dolibarr snapshot (offline) -------------------------------------------------------------------

@case("snapshot_invoices_json_is_a_folder")
def _(ws):
    ws.path(INVOICES).unlink()
    (ws.snapshot / "invoices.json").mkdir()
    return ws.fetch([str(ws.snapshot / "invoices.json"), "a folder, not a file"])


@case("snapshot_truncated_mid_object")
def _(ws):
    data = ws.path(INVOICES).read_bytes()
    ws.path(INVOICES).write_bytes(data[:len(data) - 40])
    return ws.fetch([str(ws.path(INVOICES)), "line 29", "not a JSON object"])


@case("snapshot_amount_not_a_number")
def _(ws):
    lines = ws.path(INVOICES).read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace('"total_ttc":"540.00000000"', '"total_ttc":"540,00"')
    ws.path(INVOICES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ws.fetch([str(ws.path(INVOICES)), "line 5", "column 'total_ttc'", "'540,00'"])


@case("snapshot_same_invoice_twice")
def _(ws):
    lines = ws.path(INVOICES).read_text(encoding="utf-8").splitlines()
    ws.path(INVOICES).write_text("\n".join(lines + lines[2:3]) + "\n", encoding="utf-8")
    return ws.fetch([str(ws.path(INVOICES)), "column 'id'", "'3'", "appears twice"])


@case("snapshot_variable_names_a_file")
def _(ws):
    return ws.fetch(["DOLIBARR_SNAPSHOT does not name a folder", str(ws.path(INVOICES))],
                    env={"DOLIBARR_SNAPSHOT": str(ws.path(INVOICES))})


@case("window_end_impossible")
def _(ws):
    return ws.fetch(["--to", "'2026-02-30'", "YYYY-MM-DD"],
                    window=["--from", "2026-01-01", "--to", "2026-02-30"])


@case("snapshot_unreadable")
def _(ws):
    return ws.fetch([str(ws.path(INVOICES)), "cannot be read (Permission denied)"],
                    deny=ws.path(INVOICES))


@case("snapshot_meta_cut_off")
def _(ws):
    (ws.snapshot / "meta.json").write_text('{"from": "2026-01-01", "timezone": "Europe/Pa',
                                           encoding="utf-8")
    return ws.fetch([str(ws.snapshot / "meta.json"), "not valid JSON"])


@case("snapshot_json_array_saved_by_hand_cut_off")
def _(ws):
    objects = [json.loads(line) for line in ws.path(INVOICES).read_text().splitlines()]
    ws.path(INVOICES).unlink()
    text = json.dumps(objects, indent=2)
    (ws.snapshot / "invoices.json").write_text(text[:len(text) // 2], encoding="utf-8")
    return ws.fetch([str(ws.snapshot / "invoices.json"), "not valid JSON", "line "])


# Between stages: an interim file that is not what the stage before wrote ----------------------

@case("pass_input_is_a_folder")
def _(ws):
    in_process(ws.fetch([]), ws.root)
    (ws.interim / "gc_payments.parquet").mkdir(parents=True)
    return ws.pass1([str(ws.interim / "gc_payments.parquet"), "a folder, not a file"])


@case("pass_input_cut_short")
def _(ws):
    in_process(ws.parse_gc([]), ws.root)
    in_process(ws.fetch([]), ws.root)
    payments = ws.interim / "gc_payments.parquet"
    payments.write_bytes(payments.read_bytes()[:1000])  # a disk that filled up
    return ws.pass1([str(payments), "not a readable Parquet file", "run that stage again"])


@case("gc_excel_french_with_a_bad_amount_names_its_line")
def _(ws):
    shutil.copy(PARSE_DATA / "payments_excel_fr.csv", ws.path(PAYMENTS))
    set_cell(ws.path(PAYMENTS), 8, "amount", "540,0O", sep=";", encoding="cp1252",
             eol="\r\n", quoting=csv.QUOTE_MINIMAL)
    return ws.parse_gc([str(ws.path(PAYMENTS)), "line 8", "column 'amount'", "'540,0O'"])


# Dolibarr API: a misbehaving server on 127.0.0.1 -------------------------------------------------

STATUS = json.dumps({"success": {"code": 200, "dolibarr_version": "23.0.0",
                                 "environment": "prod", "timestamp_php_tz": "Europe/Paris"}})
INVOICE_PAGE = b'[{"id":"1","ref":"FA2601-0001","socid":"1","type":"0","status":"2"},' \
               b'{"id":"2","ref":"FA2601-0002","socid":"2","type":"0","status":"2"}]'


class Misbehaving:
    """A server answering /status like Dolibarr and everything else as told."""

    def __init__(self):
        self.answer: dict = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answer = owner.answer
                announced = None
                if self.path.startswith("/api/index.php/status") and not answer.get("all"):
                    body, status, ctype = STATUS.encode(), 200, "application/json"
                else:
                    announced = answer.get("announce")
                    body, status = answer["body"], answer["status"]
                    ctype = answer.get("type", "application/json")
                    if answer.get("echo_headers"):
                        body = body.replace(b"{key}", self.headers["DOLAPIKEY"].encode())
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(announced or len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def online(ws, server: Misbehaving, says, **answer) -> Run:
    server.answer = answer
    ws.set_config(lambda c: c["dolibarr"].update(retries=0))  # no waiting on retries
    return ws.fetch(says, env={"DOLIBARR_URL": server.url})


@case("api_key_refused_401")
def _(ws, server):
    return online(ws, server, ["refused the API key", "DOLIBARR_API_KEY"], all=True, status=401,
                  body=b'{"error":{"code":401,"message":"Unauthorized: Access denied"}}')


@case("api_server_error_500")
def _(ws, server):
    return online(ws, server, ["answered 500 to GET /invoices", "Internal Server Error"],
                  status=500, body=b'{"error":{"code":500,"message":"Internal Server Error"}}')


@case("api_html_login_page")
def _(ws, server):
    return online(ws, server, ["GET /invoices", "is not JSON", "Dolibarr root"], status=200,
                  type="text/html", body=b"<html><body><form>Login</form></body></html>")


@case("api_json_cut_off")
def _(ws, server):
    cut = INVOICE_PAGE[:70]
    return online(ws, server, ["GET /invoices", f"cut off after {len(cut)} bytes"],
                  status=200, body=cut)


@case("api_connection_dropped_mid_answer")
def _(ws, server):
    cut = INVOICE_PAGE[:70]
    return online(ws, server, ["GET /invoices", f"cut off after {len(cut)} bytes",
                               f"{len(INVOICE_PAGE) - len(cut)} more were announced"],
                  status=200, body=cut, announce=len(INVOICE_PAGE))


@case("api_error_page_echoing_the_key")
def _(ws, server):
    # A proxy's error page quoting the request headers, the key across the 200-character cut.
    page = (b"<html><body><h1>502 Bad Gateway</h1><pre>" + b"x" * 146
            + b" DOLAPIKEY: {key}</pre></body></html>")
    return online(ws, server, ["answered 500"], status=500, type="text/html", body=page,
                  echo_headers=True)


@case("api_unreachable")
def _(ws):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws.set_config(lambda c: c["dolibarr"].update(retries=0))
    return ws.fetch(["cannot reach Dolibarr", f"127.0.0.1:{port}", "connection refused"],
                    env={"DOLIBARR_URL": f"http://127.0.0.1:{port}"})


# Another currency (issue 10 item 2) --------------------------------------------------------------

@case("usd_payment_names_eur_invoice")
def _(ws):
    set_cell(ws.path(PAYMENTS), 25, "currency", "USD")  # PM00024T27KB0Y, FA2602-0001, 215.40
    in_process(ws.parse_gc([]), ws.root)
    in_process(ws.fetch([]), ws.root)

    def flagged():
        row = pl.read_parquet(ws.interim / "pass1.parquet").filter(
            pl.col("gc_payment_id") == "PM00024T27KB0Y").row(0, named=True)
        assert (row["flag"], row["invoice_ref"], row["currency"], row["amount_cents"]) == (
            "CURRENCY_MISMATCH", "FA2602-0001", "USD", 21540)
        assert "payment in USD, invoice in EUR" in row["evidence"]
    return ws.pass1([], ok=True, check=flagged)


# --- through make: CONFIG naming a folder (a traceback on main) --------------------------------

def test_make_parse_with_config_a_folder_says_so(tmp_path, datadir):
    (tmp_path / "venv.ok").touch()  # the repo's .venv is used; never pip install here
    (tmp_path / "settings").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL") and not k.startswith("DOLIBARR_")}
    env["DOLIBARR_API_KEY"] = KEY
    done = subprocess.run(
        ["make", "--no-print-directory", "parse", f"RAW_DIR={datadir}",
         f"INTERIM_DIR={tmp_path}/interim", f"OUT_DIR={tmp_path}/tmp",
         f"VENV_OK={tmp_path}/venv.ok", f"CONFIG={tmp_path}/settings"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in said and KEY not in said, said
    assert f"error: {tmp_path}/settings: a folder, not a configuration file" in done.stderr
    assert not (tmp_path / "interim" / "bank.parquet").exists()


# --- the test -------------------------------------------------------------------------------

def params():
    for name in CASES:
        yield pytest.param(name, id=name)


@pytest.fixture
def server():
    server = Misbehaving()
    yield server
    server.stop()


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", params())
def test_bad_input(name, datadir, request):
    build = CASES[name]
    ws = Workspace(datadir)
    needs_server = "server" in build.__code__.co_varnames[:build.__code__.co_argcount]
    run = build(ws, request.getfixturevalue("server")) if needs_server else build(ws)
    done = run_stage(run, datadir)
    said = done.stdout + done.stderr
    assert "Traceback" not in said, said
    assert KEY not in said and KEY[:8] not in said, "the API key was printed"
    if run.ok:
        assert done.returncode == 0, said
        assert all(out.exists() for out in run.outputs)
    else:
        assert done.returncode != 0, said
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, said  # one sentence, not a cascade
        left = [out for out in run.outputs if out.exists()]
        assert not left, f"output left after a failure: {left}"
    for text in run.says:
        assert text in done.stderr, f"{text!r} not in: {done.stderr}"
    assert len(done.stderr) < 2000, "a message must stay readable"
    if run.check:
        run.check()
