"""The bank readers beyond Shine (recon/banks/): Qonto (French, English), Wise, OFX 1.x and
2.x, camt.053 .001.02 and .08, on the samples of tests/data/banks/ (docs/formats.md §5,
§8-§10), side by side, filtered by account, and on bad input."""
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import parse_shine
from recon.banks.ofx import french_iban
from recon.errors import InputError
from recon.schemas import BANK

REPO = Path(__file__).resolve().parents[1]
QONTO_MAIN = "FR7616958000011324567890153"
SHINE_IBAN = "FR7617418000010001234567828"
SAVINGS = "FR1420041010050500013M02606"
D = dt.date


@pytest.fixture
def banks(lazy_shared_datadir):
    return lazy_shared_datadir / "banks"


def read(tmp_path, *sources, iban="", names=None):
    folder = tmp_path / "bank"
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources):
        shutil.copy(source, folder / (names[i] if names else Path(source).name))
    return parse_shine.parse_bank(folder, iban)


def rows(bank, *columns):
    return [tuple(r) for r in bank.select(columns).iter_rows()]


def test_qonto_french_keeps_executed_lines_of_the_configured_account(banks, tmp_path, capsys):
    bank = read(tmp_path, banks / "qonto_fr.csv", iban="FR76 1695 8000 0113 2456 7890 153")
    assert bank.schema == pl.Schema(BANK)
    assert rows(bank, "operation_date", "amount_cents", "balance_cents", "label", "counterparty") == [
        (D(2026, 1, 2), -948, 840289, "Abonnement Qonto janvier", "Qonto"),
        (D(2026, 1, 14), 229147, 1069436, "ATELIERLUMI-3KR3UC", "GOCARDLESS SAS"),
        # 31-01 23:10 UTC is 01-02 in Paris: the local column is the bank's day
        (D(2026, 2, 1), 125000, 1194436, "FA2601-0024", "Colin & Fils; SARL")]
    assert set(bank["iban"]) == {QONTO_MAIN} and set(bank["currency"]) == {"EUR"}
    assert set(bank["source_format"]) == {"qonto"} and bank["source_line"].to_list() == [2, 3, 5]
    assert all(i.startswith("qonto-") and len(i) == 22 for i in bank["bank_transaction_id"])
    err = capsys.readouterr().err
    assert "left out 2 line(s) not booked (1 'En cours', 1 'Refusé')" in err
    assert f"kept 3 of 4 bank lines (account {QONTO_MAIN})" in err


def test_qonto_ids_are_stable_and_the_encoding_does_not_matter(banks, tmp_path):
    utf8 = read(tmp_path / "a", banks / "qonto_fr.csv")
    text = (banks / "qonto_fr.csv").read_bytes().decode("utf-8-sig")
    (tmp_path / "cp1252.csv").write_bytes(text.encode("cp1252"))
    cp1252 = read(tmp_path / "b", tmp_path / "cp1252.csv", names=["qonto_fr.csv"])
    assert cp1252.equals(utf8)
    assert utf8.height == 4 and utf8["amount_cents"].sum() == 229147 + 125000 - 948 - 50000


def test_qonto_english_reads_utc_days_in_paris_and_its_own_ids(banks, tmp_path):
    bank = read(tmp_path, banks / "qonto_en.csv", iban=SHINE_IBAN)  # names no account: kept
    assert rows(bank, "bank_transaction_id", "operation_date", "value_date", "amount_cents",
                "label", "comment", "transaction_type") == [
        ("0192a3f4-0001-7000-8000-00000000a001", D(2026, 1, 14), D(2026, 1, 14), 229147,
         "ATELIERLUMI-3KR3UC", None, "transfer"),
        ("0192a3f4-0001-7000-8000-00000000a002", D(2026, 2, 1), D(2026, 2, 1), -120000,
         "Loyer février 2026", "Bail commercial, lot 3", "direct_debit"),
        ("0192a3f4-0001-7000-8000-00000000a005", D(2026, 2, 6), D(2026, 2, 6), 78000,
         "FA2601-0007", None, "transfer")]
    assert bank["iban"].null_count() == 3


def test_wise_statement(banks, tmp_path):
    bank = read(tmp_path, banks / "wise.csv", iban=SHINE_IBAN)
    assert rows(bank, "bank_transaction_id", "operation_date", "amount_cents", "balance_cents",
                "counterparty", "transaction_type") == [
        ("TRANSFER-1843302188", D(2026, 1, 14), 229147, 556239, "GOCARDLESS SAS", "TRANSFER"),
        ("TRANSFER-1843302199", D(2026, 1, 29), -120000, 436239, "SCI Les Tilleuls", "TRANSFER"),
        ("BALANCE-918273645", D(2026, 2, 3), -100000, 336239, None, "BALANCE"),
        ("CARD-2290114512", D(2026, 2, 5), -3999, 332240, "Free Pro PARIS", "CARD"),
        ("TRANSFER-1843302211", D(2026, 2, 6), 78000, 410240, "GARAGE PERRIN FRERES", "TRANSFER")]
    assert bank["label"][0] == ("Received money from GOCARDLESS SAS with reference "
                                "ATELIERLUMI-3KR3UC")
    assert bank["label"][1] == "Sent money to SCI Les Tilleuls - Loyer fevrier 2026"
    assert set(bank["source_format"]) == {"wise"} and set(bank["currency"]) == {"EUR"}


def test_french_rib_to_iban():
    assert french_iban("20041", "01005", "0500013M026", None) == SAVINGS  # key computed
    assert french_iban("17418", "00001", "00012345678", "28") == SHINE_IBAN


def test_ofx_1_sgml_in_windows_1252_two_accounts_and_a_card_statement(banks, tmp_path, capsys):
    every = read(tmp_path / "a", banks / "statement_v1.ofx")
    assert rows(every, "iban", "bank_transaction_id", "amount_cents") == [
        (SHINE_IBAN, "0Q2A7B1C00001", -948), (SHINE_IBAN, "0Q2A7B1C00002", 229147),
        (SHINE_IBAN, "0Q2A7B1C00003", 125000),
        (SAVINGS, "0Q2A7B1C00002", 200000)]  # one FITID in two accounts: two lines
    assert "card statements (CCSTMTRS) left out" in capsys.readouterr().err
    bank = read(tmp_path / "b", banks / "statement_v1.ofx", iban=SHINE_IBAN)
    assert rows(bank, "operation_date", "value_date", "transaction_type", "label", "counterparty") == [
        (D(2026, 1, 2), None, "DEBIT", "PRLV SEPA SHINE - Abonnement Shine - 2 janvier",
         "PRLV SEPA SHINE"),
        # 20260114000000[+1:CET] is the 14th at the bank, whatever UTC says
        (D(2026, 1, 14), D(2026, 1, 15), "CREDIT", "VIR SEPA GOCARDLESS SAS - ATELIERLUMI-3KR3UC",
         "VIR SEPA GOCARDLESS SAS"),
        (D(2026, 1, 30), None, "CREDIT",
         "VIR SEPA COLIN ET FILS - Réglement FA2601-0024 – Colin & Fils", "VIR SEPA COLIN ET FILS")]
    assert set(bank["source_format"]) == {"ofx"} and bank["source_line"].to_list() == [1, 2, 3]


def test_ofx_2_xml_skips_pending_transactions(banks, tmp_path):
    bank = read(tmp_path, banks / "statement_v2.ofx")
    assert rows(bank, "bank_transaction_id", "operation_date", "value_date", "amount_cents",
                "label", "counterparty", "iban") == [
        ("2026010500017", D(2026, 1, 5), None, -120000,
         "PRLV SEPA Loyer janvier 2026 & charges", "SCI LES TILLEULS",
         "FR7630004000031234567890143"),
        ("2026020400042", D(2026, 2, 4), D(2026, 2, 5), 128183,
         "VIR SEPA GOCARDLESS SAS - ATELIERLUMI-SLCVMP", "VIR SEPA GOCARDLESS SAS",
         "FR7630004000031234567890143")]


def test_camt053_v02_booked_entries_signs_ids_and_accounts(banks, tmp_path, capsys):
    bank = read(tmp_path, banks / "camt053_v02.xml", iban=SHINE_IBAN)
    assert rows(bank, "bank_transaction_id", "operation_date", "value_date", "amount_cents",
                "label", "counterparty", "transaction_type") == [
        ("2026010500017", D(2026, 1, 5), D(2026, 1, 5), -120000,
         "Loyer janvier 2026 lot 3 & parking", "SCI Les Tilleuls", "PMNT/IDDT/ESDD"),
        ("2026011400042", D(2026, 1, 14), D(2026, 1, 15), 229147, "ATELIERLUMI-3KR3UC",
         "GOCARDLESS SAS", "PMNT/RCDT/ESCT"),
        # two identical card payments of one day, no reference: two lines, two ids
        (bank["bank_transaction_id"][2], D(2026, 1, 16), D(2026, 1, 15), -780,
         "CB BOULANGERIE DU COIN 15/01", None, None),
        (bank["bank_transaction_id"][3], D(2026, 1, 16), D(2026, 1, 15), -780,
         "CB BOULANGERIE DU COIN 15/01", None, None),
        ("000003", D(2026, 1, 30), D(2026, 1, 30), 125000, "FA2601-0024", "Colin et Fils",
         "VIRRECU")]  # NtryRef when there is no AcctSvcrRef; structured reference as label
    derived = bank["bank_transaction_id"][2:4].to_list()
    assert derived[0] != derived[1] and all(i.startswith("camt-") for i in derived)
    assert bank["comment"][1] == "VIR SEPA RECU /DE GOCARDLESS SAS /MOTIF ATELIERLUMI-3KR3UC"
    assert bank["source_line"].to_list() == [2, 1, 5, 6, 3]  # entry positions in the file
    err = capsys.readouterr().err
    assert "left out 1 line(s) not booked (1 'PDNG')" in err and SAVINGS in err
    again = read(tmp_path / "again", banks / "camt053_v02.xml", iban=SHINE_IBAN)
    assert again["bank_transaction_id"].to_list() == bank["bank_transaction_id"].to_list()


def test_camt053_v08_status_code_party_and_date_time(banks, tmp_path):
    bank = read(tmp_path, banks / "camt053_v08.xml")
    assert rows(bank, "bank_transaction_id", "operation_date", "amount_cents", "counterparty",
                "source_format") == [
        ("B4C2-0007", D(2026, 2, 4), 128183, "GOCARDLESS SAS", "camt053")]  # INFO left out


def test_formats_side_by_side_in_one_folder(banks, tmp_path, lazy_shared_datadir):
    shine = lazy_shared_datadir / "formats" / "shine.csv"
    bank = read(tmp_path, shine, banks / "qonto_fr.csv", banks / "statement_v2.ofx",
                banks / "camt053_v08.xml", banks / "wise.csv")
    counts = dict(bank.group_by("source_format").len().iter_rows())
    assert counts == {"shine": 19, "qonto": 4, "ofx": 2, "camt053": 1, "wise": 5}
    assert bank["operation_date"].is_sorted()
    assert set(bank.filter(pl.col("source_format") == "shine")["currency"]) == {"EUR"}


def test_detected_by_content_not_by_name(banks, tmp_path):
    bank = read(tmp_path, banks / "camt053_v08.xml", banks / "statement_v2.ofx",
                names=["statement.csv", "releve.xml"])
    assert sorted(bank["source_format"]) == ["camt053", "ofx", "ofx"]


# --- bad input ----------------------------------------------------------------------------

def bad(tmp_path, name, text, encoding="utf-8"):
    folder = tmp_path / "bad"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(text.encode(encoding))
    with pytest.raises(InputError) as caught:
        parse_shine.parse_bank(folder, "")
    return str(caught.value)


def test_qonto_bad_amount_names_line_and_column(banks, tmp_path):
    text = (banks / "qonto_fr.csv").read_text("utf-8-sig").replace("2 291,47;;", "2 291,4x;;", 1)
    message = bad(tmp_path, "q.csv", text)
    assert "q.csv, line 3, column 'Montant total (TTC)': unreadable" in message
    assert "'2 291,4x'" in message and "expected an amount" in message


def test_qonto_bad_date(banks, tmp_path):
    text = (banks / "qonto_en.csv").read_text().replace("2026-01-14 06:02:11,2291", "14/01/2026,2291")
    message = bad(tmp_path, "q.csv", text)
    assert "line 2, column 'Operation date (UTC)'" in message and "'14/01/2026'" in message


def test_wise_missing_id(banks, tmp_path):
    text = (banks / "wise.csv").read_text().replace("CARD-2290114512", "")
    message = bad(tmp_path, "w.csv", text)
    assert "line 3, column 'TransferWise ID': empty value where one is required" in message


def test_ofx_bad_amount_names_the_transaction(banks, tmp_path):
    text = (banks / "statement_v2.ofx").read_text().replace("<TRNAMT>1281.83", "<TRNAMT>12 81.83")
    message = bad(tmp_path, "s.ofx", text)
    assert "s.ofx: transaction 2: unreadable TRNAMT; found '12 81.83'; expected a signed amount" \
        in message


def test_ofx_unreadable(tmp_path):
    message = bad(tmp_path, "s.ofx", "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BROKEN")
    assert "s.ofx: not a readable OFX statement" in message


def test_camt_bad_indicator_and_malformed_xml(banks, tmp_path):
    text = (banks / "camt053_v08.xml").read_text()
    message = bad(tmp_path / "a", "c.xml", text.replace("<CdtDbtInd>CRDT", "<CdtDbtInd>CREDIT"))
    assert "c.xml: entry 1: unreadable CdtDbtInd; found 'CREDIT'; expected CRDT or DBIT" in message
    message = bad(tmp_path / "b", "c.xml", text.replace("</Amt>", "</Amount>", 1))
    assert "c.xml, line 11: malformed XML" in message


def test_unknown_xml_is_refused(tmp_path):
    message = bad(tmp_path, "pain.xml", '<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:'
                  'iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>')
    assert "pain.xml, line 1: an XML file but neither an OFX nor a camt.053" in message


def test_the_stage_exits_2_without_traceback(tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "c.xml").write_text('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:'
                                  '20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>')
    out = tmp_path / "bank.parquet"
    done = subprocess.run([sys.executable, str(REPO / "stages" / "parse_shine.py"),
                           "--input-dir", str(folder), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "malformed XML" in done.stderr
    assert not out.exists()


def test_make_rereads_the_bank_folder_when_an_ofx_or_xml_export_changes(tmp_path, banks,
                                                                           lazy_shared_datadir):
    import os
    import time
    (tmp_path / "raw" / "shine").mkdir(parents=True)
    (tmp_path / "raw" / "gocardless").mkdir()
    shutil.copy(lazy_shared_datadir / "formats" / "shine.csv", tmp_path / "raw" / "shine" / "BQ.csv")
    for name in ("statement_v2.ofx", "camt053_v08.xml"):
        shutil.copy(banks / name, tmp_path / "raw" / "shine" / name)
    (tmp_path / "venv.ok").touch()  # the repo's .venv is used; no pip install
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    bank = tmp_path / "interim" / "bank.parquet"
    cmd = ["make", "--no-print-directory", f"RAW_DIR={tmp_path}/raw",
           f"INTERIM_DIR={tmp_path}/interim", f"VENV_OK={tmp_path}/venv.ok", str(bank)]
    built = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert dict(pl.read_parquet(bank).group_by("source_format").len().iter_rows()) == {
        "shine": 19, "ofx": 2, "camt053": 1}
    assert subprocess.run([*cmd[:2], "-q", *cmd[2:]], cwd=REPO, env=env).returncode == 0
    later = time.time() + 3600  # a newer download of the camt.053 file, without waiting
    os.utime(tmp_path / "raw" / "shine" / "camt053_v08.xml", (later, later))
    assert subprocess.run([*cmd[:2], "-q", *cmd[2:]], cwd=REPO, env=env).returncode == 1
