"""parse_shine on the shared samples: current layout (UTF-8 with BOM, Windows-1252), 2023
layout, a spreadsheet-resaved copy, several accounts, and bad input."""
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import parse_shine
from recon.errors import InputError
from recon.schemas import BANK

REPO = Path(__file__).resolve().parents[1]
IBAN = "FR7617418000010001234567828"
# GROUND_TRUTH.md "Shine lines": amount (Solde mouvement) of rows 1-19, in cents.
AMOUNTS = [-948, 3715, -120000, -2399, 60000, -84500, 229147, -780, -4820, -50, 332080, -7199,
           109038, -200000, -948, 128183, 78000, -3999, -18900]
OPENING, CLOSING = 841237, 1336857  # 8 412,37 € and 13 368,57 €
BOTH_LAYOUTS = ["operation_date", "amount_cents", "balance_cents", "label", "transaction_type",
                "comment"]


def folder(tmp_path, *sources):
    shine = tmp_path / "shine"
    shine.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources):
        shutil.copy(source, shine / f"BQ_2026-01-01_2026-02-0{i + 1}.csv")
    return shine


@pytest.fixture
def formats(lazy_shared_datadir):
    return lazy_shared_datadir / "formats"


def parse(tmp_path, *sources, iban=""):
    return parse_shine.parse_bank(folder(tmp_path, *sources), iban)


def test_every_line_to_the_cent(formats, tmp_path):
    bank = parse(tmp_path, formats / "shine.csv", iban=IBAN)
    assert bank.schema == pl.Schema(BANK)
    assert bank["amount_cents"].to_list() == AMOUNTS
    assert OPENING + sum(AMOUNTS) == CLOSING == bank["balance_cents"][-1]
    credits = bank.filter(pl.col("label").str.to_lowercase().str.contains("gocardless"))
    assert credits["amount_cents"].sum() == 802163  # 8 021.63 € (GROUND_TRUTH totals)
    assert bank["source_line"].to_list() == list(range(2, 21))
    first = bank.row(0, named=True)
    assert first == {
        "bank_transaction_id": "51822d25-9d93-4632-8347-44e65c4c6f8d",
        "operation_date": dt.date(2026, 1, 2), "value_date": dt.date(2026, 1, 2), "iban": IBAN,
        "transaction_type": "Virement", "personal": False, "amount_cents": -948,
        "currency": "EUR", "balance_cents": 840289, "label": "Abonnement Shine - 2 janvier", "counterparty": "Shine",
        "comment": None, "source_format": "shine", "source_file": "BQ_2026-01-01_2026-02-01.csv",
        "source_line": 2}
    ovh = bank.row(3, named=True)
    assert (ovh["operation_date"], ovh["value_date"]) == (dt.date(2026, 1, 7), dt.date(2026, 1, 8))
    assert bank["personal"].to_list() == [i == 7 for i in range(19)]
    assert bank["label"][8] == ("Virement instantané vers Martin Dupuis - Remboursement note "
                                "de frais; repas client")


def test_the_three_samples_give_the_same_lines(formats, tmp_path):
    current = parse(tmp_path / "a", formats / "shine.csv")
    cp1252 = parse(tmp_path / "b", formats / "shine_cp1252.csv")
    legacy = parse(tmp_path / "c", formats / "shine_legacy_2023.csv")
    assert cp1252.drop("source_file").equals(current.drop("source_file"))
    assert legacy.select(BOTH_LAYOUTS).equals(current.select(BOTH_LAYOUTS))
    assert "Hébergement site – nœud VPS" in cp1252["comment"].to_list()
    assert "Perso - à rembourser (7,80 €)" in cp1252["comment"].to_list()


def test_the_2023_layout_gets_stable_derived_ids(formats, tmp_path):
    legacy = parse(tmp_path, formats / "shine_legacy_2023.csv", iban=IBAN)  # no IBAN: kept
    assert legacy.height == 19
    key = "2026-01-02|-948|Abonnement Shine - 2 janvier|840289"
    assert legacy["bank_transaction_id"][0] == (
        "legacy-" + hashlib.sha256(key.encode()).hexdigest()[:16])
    assert legacy["bank_transaction_id"].str.contains(r"^legacy-[0-9a-f]{16}$").all()
    assert legacy["bank_transaction_id"].n_unique() == 19
    for column in ("value_date", "iban", "personal", "counterparty"):
        assert legacy[column].null_count() == 19


def test_spreadsheet_resaved_copy_gives_the_same_lines(formats, lazy_shared_datadir, tmp_path):
    """NBSP and narrow NBSP thousands, `+` on credits, no quotes, LF, a blank last line."""
    current = parse(tmp_path / "a", formats / "shine.csv")
    resaved = parse(tmp_path / "b", lazy_shared_datadir / "parse/shine_spreadsheet.csv")
    assert resaved.drop("source_file").equals(current.drop("source_file"))


def test_overlapping_exports_of_both_layouts_count_each_line_once(formats, tmp_path, capsys):
    bank = parse(tmp_path, formats / "shine_legacy_2023.csv", formats / "shine.csv",
                 formats / "shine_cp1252.csv")
    assert bank["amount_cents"].to_list() == AMOUNTS
    assert not bank["bank_transaction_id"].str.starts_with("legacy-").any()
    assert "19 line(s) of 2023-layout exports also appear in current exports" in (
        capsys.readouterr().err)


def test_only_the_configured_account_is_kept(lazy_shared_datadir, tmp_path, capsys):
    source = lazy_shared_datadir / "parse/shine_two_accounts.csv"
    assert parse(tmp_path / "a", source).height == 20
    bank = parse(tmp_path / "b", source, iban="FR76 1741 8000 0100 0123 4567 828")
    assert bank.height == 19 and bank["iban"].unique().to_list() == [IBAN]
    assert ("kept 19 of 20 bank lines (account FR7617418000010001234567828); left out the "
            "lines of FR7630004000031234567890143") in capsys.readouterr().err


def test_ibans_written_with_spaces_or_in_lower_case_are_normalised(formats, tmp_path):
    data = (formats / "shine.csv").read_bytes()
    spaced = b"fr76 1741 8000 0100 0123 4567 828"
    source = tmp_path / "spaced.csv"
    source.write_bytes(data.replace(IBAN.encode(), spaced, 2))  # the first two lines only
    bank = parse(tmp_path, source, iban=IBAN)
    assert bank.height == 19 and bank["iban"].unique().to_list() == [IBAN]


def test_main_reads_the_iban_from_the_config(lazy_shared_datadir, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f'bank:\n  iban: "{IBAN}"\n')
    shine = folder(tmp_path, lazy_shared_datadir / "parse/shine_two_accounts.csv")
    out = tmp_path / "interim" / "bank.parquet"
    parse_shine.main(["--input-dir", str(shine), "--config", str(config), "--out", str(out)])
    assert pl.read_parquet(out).height == 19


def test_no_export_gives_an_empty_table(tmp_path, capsys):
    shine = tmp_path / "shine"
    shine.mkdir()
    out = tmp_path / "bank.parquet"
    parse_shine.main(["--input-dir", str(shine), "--out", str(out)])
    assert pl.read_parquet(out).schema == pl.Schema(BANK) and pl.read_parquet(out).height == 0
    assert "no bank export found" in capsys.readouterr().err


def test_a_gocardless_export_in_the_shine_folder_is_refused(formats, tmp_path):
    with pytest.raises(InputError, match="this is a GoCardless payments export, which does not"):
        parse(tmp_path, formats / "gocardless_payments.csv")


BAD = [
    ("shine_truncated.csv", 20, None, "malformed CSV record (unexpected end of data"),
    ("shine_movement_mismatch.csv", 5, "Solde mouvement",
     "the movement disagrees with the Débit and Crédit columns; found '23,99'; "
     "expected Crédit - Débit = -23,99."),
    ("empty.csv", None, None, "empty file: no header row"),
    ("binary.csv", None, None, "binary content"),
]


@pytest.mark.parametrize("name, line, column, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_named_and_nothing_is_written(lazy_shared_datadir, tmp_path, name, line,
                                                    column, message):
    shine = tmp_path / "shine"
    shine.mkdir()
    shutil.copy(lazy_shared_datadir / f"parse/{name}", shine / name)
    out = tmp_path / "interim" / "bank.parquet"
    with pytest.raises(InputError) as err:
        parse_shine.main(["--input-dir", str(shine), "--out", str(out)])
    e = err.value
    assert (e.file, e.line, e.column) == (shine / name, line, column)
    assert message in str(e)
    assert not out.exists() and not out.parent.exists()


def test_an_impossible_date(formats, tmp_path):
    text = (formats / "shine.csv").read_text(encoding="utf-8-sig")
    shine = tmp_path / "shine"
    shine.mkdir()
    (shine / "BQ.csv").write_text(text.replace('"12/01/2026"', '"31/02/2026"', 1),
                                  encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_shine.parse_bank(shine)
    e = err.value
    assert (e.line, e.column, e.value) == (7, "Date de la valeur", "31/02/2026")


def test_script_exit_code_without_traceback(lazy_shared_datadir, tmp_path):
    shine = folder(tmp_path, lazy_shared_datadir / "parse/shine_movement_mismatch.csv")
    out = tmp_path / "bank.parquet"
    proc = subprocess.run([sys.executable, str(REPO / "stages" / "parse_shine.py"),
                           "--input-dir", str(shine), "--config", str(REPO / "config.yaml"),
                           "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "line 5, column 'Solde mouvement'" in proc.stderr
