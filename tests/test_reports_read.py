"""The reports people open, checked as they open them: the demo's HTML in a real headless
Chromium, its workbook read back, and payouts whose money adds up."""
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from cdp import Browser, find_browser
from recon.flags import ACTIONS

REPO = Path(__file__).resolve().parents[1]
WINDOW = "2026-01-01_2026-02-09"
OUT = REPO / "tmp" / "demo"
RECEIVED = ("confirmed", "paid_out")
IN_BANK = ("PAYOUT_MATCHED", "PAYOUT_AMOUNT_MISMATCH")
PASS2_OPEN = ("DOLIBARR_OPEN_NO_GC", "PAID_BY_TRANSFER", "AMBIGUOUS")
OPEN_EXCLUDED = ("EXCLUDED_CREDIT_NOTE", "EXCLUDED_DRAFT", "EXCLUDED_ABANDONED",
                 "EXCLUDED_OTHER", "AMBIGUOUS", "GC_UNMATCHED")


@pytest.fixture(scope="module")
def demo() -> Path:
    """`make demo` as a person runs it; it says where the report to read is."""
    proc = subprocess.run(["make", "--no-print-directory", "demo"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = re.search(r"^Report to read: (\S+) \(workbook: (\S+)\)$", proc.stdout, re.M)
    assert said and said.groups() == (f"tmp/demo/report_{WINDOW}.html",
                                       f"tmp/demo/reconciliation_{WINDOW}.xlsx")
    return OUT


def cents(column: str) -> pl.Expr:
    """A CSV's euro text as integer cents, exactly (no float on the way)."""
    return pl.col(column).str.replace(r"\.", "").cast(pl.Int64)


def csv_totals(out: Path) -> dict[str, int]:
    """The key figures, recomputed from the two CSV files alone."""
    rec = pl.read_csv(out / f"reconciliation_{WINDOW}.csv", infer_schema=False)
    pay = pl.read_csv(out / f"payouts_fees_{WINDOW}.csv", infer_schema=False)
    payments = rec.filter(pl.col("row_kind") == "payment").unique("gc_payment_id")
    payouts = pay.filter(pl.col("payout_id").is_not_null())
    payment_rows = pl.col("row_kind") == "payment"
    open_inv = (rec.filter(pl.when(payment_rows)
                           .then(~pl.col("flag").is_in(OPEN_EXCLUDED + ("MATCHED",)))
                           .otherwise(pl.col("flag").is_in(PASS2_OPEN))
                           & (cents("invoice_remaining_eur") > 0))
                .unique("invoice_ref"))
    actions = list(ACTIONS)
    needs = pl.concat([
        rec.filter(pl.col("flag").is_in(actions)).select(
            c=pl.when(pl.col("row_kind") == "payment").then(cents("share_eur"))
            .otherwise(cents("invoice_remaining_eur"))),
        pay.filter(pl.col("flag").is_in(actions)).select(
            c=pl.coalesce(cents("net_eur"), cents("bank_amount_eur"))),
        pay.filter(pl.col("fees_flag").is_in(actions)).select(
            c=cents("gross_eur") - cents("net_eur") - cents("fees_eur")),
    ])
    return {
        "collected_cents": payments.filter(pl.col("payment_status").is_in(RECEIVED))
        .select(cents("payment_amount_eur").sum()).item(),
        "paid_out_cents": payouts.select(cents("net_eur").sum()).item(),
        "in_bank_cents": payouts.filter(pl.col("flag").is_in(IN_BANK))
        .select(cents("bank_amount_eur").sum()).item(),
        "fees_ht_cents": payouts.select(cents("fees_ht_eur").sum()).item(),
        "fees_tva_cents": payouts.select(cents("fees_tva_eur").sum()).item(),
        "fees_cents": payouts.select(cents("fees_eur").sum()).item(),
        "open_cents": open_inv.select(cents("invoice_remaining_eur").sum()).item(),
        "action_cents": needs["c"].sum(),
        "action_count": needs.height,
    }


def french(cents_value: int) -> str:
    units, hundredths = divmod(abs(cents_value), 100)
    sign = "-" if cents_value < 0 else ""
    return f"{sign}{units:,}".replace(",", "\u202f") + f",{hundredths:02d}\u00a0€"


# --- the HTML in a real browser -----------------------------------------------------------

@pytest.fixture(scope="module")
def page(demo, tmp_path_factory):
    binary = find_browser()
    if binary is None:
        pytest.skip("no chromium on this machine (.ci/run installs Debian's chromium)")
    browser = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open((demo / f"report_{WINDOW}.html").as_uri())
        yield browser
    finally:
        browser.close()


def test_the_page_fetches_nothing_and_logs_no_error(page):
    requests_sent = [e["params"]["request"]["url"] for e in page.events
                     if e.get("method") == "Network.requestWillBeSent"]
    assert requests_sent == [(OUT / f"report_{WINDOW}.html").as_uri()]
    errors = [e for e in page.events
              if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled"
                  and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert errors == []


def test_the_key_figures_are_the_csv_totals(page, demo):
    shown = page.evaluate("""Object.fromEntries(Array.from(document.querySelectorAll('[data-key]'))
        .map(e => [e.dataset.key, [Number(e.dataset.cents), e.dataset.count || null,
                                   (e.dataset.count ? e.querySelector('small') : e.firstChild)
                                   .textContent]]))""")
    expected = csv_totals(demo)
    for key, value in expected.items():
        if key == "action_count":
            assert int(shown["action_cents"][1]) == value
            continue
        assert shown[key][0] == value, key
        assert shown[key][2] == french(value), key
    # The demo's figures, as GROUND_TRUTH.md and the summary give them.
    assert (expected["paid_out_cents"], expected["in_bank_cents"], expected["fees_cents"],
            expected["fees_ht_cents"], expected["fees_tva_cents"]) == (
        819706, 798448, 6854, 5711, 1143)


def test_the_charts_are_drawn(page):
    charts = page.evaluate("""Array.from(document.querySelectorAll('figure.chart')).map(f => {
        const svg = f.querySelector('svg'), box = svg.getBoundingClientRect();
        return [f.id, svg.querySelectorAll('path, rect').length, Math.round(box.width),
                Math.round(box.height)]; })""")
    assert [c[0] for c in charts] == ["chart-weekly", "chart-payouts", "chart-ages",
                                      "chart-actions"]
    for name, marks, width, height in charts:
        assert marks > 5 and width > 200 and height > 100, name


def test_needs_action_lists_po_d_nowhere_and_links_ids(page):
    payout_rows = page.evaluate("""Array.from(document.querySelectorAll(
        '#needs-action tr[data-kind="payout"], #needs-action tr[data-kind="payout fees"]'))
        .map(r => r.textContent)""")
    assert "PO000D7Z66HQGG" in page.evaluate("document.getElementById('payouts').textContent")
    # Its 880.00 is explained by the breakdown: FEES_EXPLAINED, calm, not a line to act on.
    assert not [row for row in payout_rows if "PO000D7Z66HQGG" in row]
    assert page.evaluate("document.getElementById('flag-FEES_MISMATCH')") is None
    links = page.evaluate("""Array.from(document.querySelectorAll('#needs-action a'))
        .map(a => a.getAttribute('href'))""")
    assert "https://manage.gocardless.com/payments/PM000044QD929V" in links
    assert any(re.fullmatch(r"http://127\.0\.0\.1:\d+/compta/facture/card\.php\?id=\d+", link)
               for link in links)


def test_an_ambiguous_payment_shows_its_candidates_as_the_entry_to_copy(page):
    """The demo's PM000132YX8FW3 fits FA2601-0011 and FA2601-0012: the row shows, once
    opened, the decisions.yaml entry `make review` proposes, each candidate a line."""
    row = """Array.from(document.querySelectorAll('#table-AMBIGUOUS tr'))
        .find(r => r.textContent.includes('PM000132YX8FW3'))"""
    pre = f"({row}).querySelector('td.hint details pre')"
    shown = f"[{pre}.parentNode.open, {pre}.checkVisibility()]"
    assert page.evaluate(shown) == [False, False]  # closed: the table stays readable
    page.evaluate(f"({row}).querySelector('td.hint summary').click()")
    assert page.evaluate(shown) == [True, True]
    assert page.evaluate(f"{pre}.textContent") == (
        "- payment: PM000132YX8FW3\n"
        "  invoice: FA2601-0011    # candidate: keep one\n"
        "  invoice: FA2601-0012    # candidate: keep one\n"
        "  note:\n# or:\n- payment: PM000132YX8FW3\n  ignore:")
    # Every line needing action has its entry, or says why there is none.
    hints = page.evaluate("""Array.from(document.querySelectorAll('#needs-action tbody tr'))
        .map(r => r.querySelector('td.hint').textContent.trim())""")
    assert hints and all(hints)
    assert page.evaluate("document.getElementById('how-to-decide').textContent").startswith(
        "Pour régler une ligne que l’outil ne peut pas trancher : ouvrez son entrée "
        "« decisions.yaml », copiez-la dans le fichier decisions.yaml")


def test_the_script_sorts_a_table_and_a_screenshot_is_kept(page):
    order = """Array.from(document.querySelectorAll('#table-payouts tbody tr'))
        .map(r => r.cells[0].textContent.slice(0, 14))"""
    before = page.evaluate(order)
    page.evaluate("document.querySelectorAll('#table-payouts th')[9].click()")  # net, ascending
    nets = page.evaluate("""Array.from(document.querySelectorAll('#table-payouts tbody tr'))
        .map(r => Number(r.cells[9].dataset.sort))""")
    assert nets == sorted(nets) and sorted(page.evaluate(order)) == sorted(before)
    page.evaluate("document.querySelectorAll('#table-payouts th')[9].click()")
    page.send("Emulation.setDeviceMetricsOverride", width=1200, height=900, deviceScaleFactor=1,
              mobile=False)
    shot = REPO / "tmp" / "report_screenshot.png"
    page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_it_prints_as_a4_pages(page):
    import base64
    pdf = base64.b64decode(page.send("Page.printToPDF", preferCSSPageSize=True)["data"])
    assert pdf.startswith(b"%PDF")
    # A4 is 595 x 842 points; the print CSS asks for it (@page size: A4).
    boxes = {tuple(round(float(v)) for v in box.split())
             for box in re.findall(rb"/MediaBox \[([^\]]*)\]", pdf)}
    assert boxes == {(0, 0, 595, 842)}
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3


# --- the workbook --------------------------------------------------------------------------

def test_the_workbook_reads_back_with_numbers_dates_and_accents(demo):
    book = openpyxl.load_workbook(demo / f"reconciliation_{WINDOW}.xlsx")
    assert book.sheetnames == ["Synthèse", "À traiter", "Rapprochement", "Versements et frais"]
    rec = pl.read_csv(demo / f"reconciliation_{WINDOW}.csv", infer_schema=False)
    pay = pl.read_csv(demo / f"payouts_fees_{WINDOW}.csv", infer_schema=False)

    def column(sheet, header):
        rows = list(book[sheet].iter_rows(values_only=True))
        index = rows[0].index(header)
        return [row[index] for row in rows[1:]], book[sheet].cell(2, index + 1)

    def total(values):
        return sum(Decimal(str(v)) for v in values if v is not None)

    shares, cell = column("Rapprochement", "Part pour la facture")
    assert cell.data_type == "n" and "€" in cell.number_format
    assert total(shares) * 100 == rec.select(cents("share_eur").sum()).item()
    remaining, _ = column("Rapprochement", "Reste à payer")
    assert total(remaining) * 100 == rec.select(cents("invoice_remaining_eur").sum()).item()
    for header, csv_column in (("Net", "net_eur"), ("Frais TTC", "fees_eur"),
                               ("Frais HT", "fees_ht_eur"), ("TVA sur frais", "fees_tva_eur"),
                               ("Impayés", "chargebacks_eur"), ("Brut", "gross_eur")):
        values, cell = column("Versements et frais", header)
        assert cell.data_type == "n", header
        assert total(values) * 100 == pay.select(cents(csv_column).sum()).item(), header
    dates, cell = column("Rapprochement", "Date de prélèvement")
    assert cell.is_date and cell.number_format == "dd/mm/yyyy"
    assert str(dates[0].date()) == rec["charge_date"][0]
    names = set(column("Rapprochement", "Client (GoCardless)")[0])
    assert {"Jérôme Nguyen", "SCI Garnier Œuvres", "Élodie Marchand"} <= names
    sheet = book["Rapprochement"]
    assert sheet.freeze_panes == "A2"
    assert [table.autoFilter.ref for table in sheet.tables.values()] == [sheet.dimensions]
    widths = {sheet.cell(1, i + 1).value: sheet.column_dimensions[letter].width
              for i, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVW")}
    assert widths["Constat"] > 50 and 10 < widths["Facture"] < 30
    todo = list(book["À traiter"].iter_rows(values_only=True))
    assert todo[0][0] == "Code" and len(todo) - 1 == csv_totals(demo)["action_count"]


# --- payouts that add up -------------------------------------------------------------------

def adds_up(frame: pl.DataFrame) -> pl.DataFrame:
    """The payout rows where gross - fees - deductions != net (none, when all is right)."""
    return frame.filter(pl.col("payout_id").is_not_null()).filter(
        cents("gross_eur") - cents("fees_eur") - cents("chargebacks_eur") - cents("refunds_eur")
        - cents("fees_refunded_eur") != cents("net_eur"))


def test_every_demo_payout_adds_up_and_po_d_is_explained(demo):
    pay = pl.read_csv(demo / f"payouts_fees_{WINDOW}.csv", infer_schema=False)
    assert adds_up(pay).height == 0
    assert pay.filter(pl.col("payout_id").is_not_null()).filter(
        cents("fees_ht_eur") + cents("fees_tva_eur") != cents("fees_eur")).height == 0
    po_d = pay.filter(pl.col("payout_id") == "PO000D7Z66HQGG").row(0, named=True)
    assert (po_d["flag"], po_d["fees_flag"], po_d["gross_eur"], po_d["fees_eur"],
            po_d["chargebacks_eur"], po_d["refunds_eur"], po_d["fees_refunded_eur"],
            po_d["net_eur"]) == ("PAYOUT_MATCHED", "FEES_EXPLAINED", "2174.00", "16.97",
                                 "780.00", "100.00", "-4.80", "1281.83")
    summary = (demo / f"summary_{WINDOW}.txt").read_text(encoding="utf-8")
    assert "PO000D7Z66HQGG" not in summary.split("Needs action:")[1]


def test_every_payout_of_a_generated_month_adds_up(tmp_path):
    """bench/generate.py's month (chargebacks and refunds netted three payouts later)."""
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    import generate
    import parse_gc
    import parse_payouts
    import parse_shine
    import pass3
    from recon.io import read_parquet
    from recon.schemas import PASS3

    folder = tmp_path / "month"
    generate.build(2000, generate.SEED, folder)
    raw, out = folder / "raw", {n: str(tmp_path / f"{n}.parquet") for n in
                                ("payments", "payouts", "items", "bank", "pass3")}
    config = str(REPO / "config.yaml")
    parse_gc.main(["--input-dir", str(raw / "gocardless"), "--out", out["payments"]])
    parse_payouts.main(["--input-dir", str(raw / "gocardless"), "--out", out["payouts"],
                        "--items-out", out["items"]])
    parse_shine.main(["--input-dir", str(raw / "shine"), "--config", config, "--out", out["bank"]])
    pass3.main(["--payouts", out["payouts"], "--payout-items", out["items"], "--payments",
                out["payments"], "--bank", out["bank"], "--from", "2026-01-01", "--to",
                "2026-01-31", "--config", config, "--out", out["pass3"]])
    payouts = read_parquet(out["pass3"], PASS3).filter(pl.col("payout_id").is_not_null())
    assert payouts.height > 100
    wrong = payouts.filter(
        pl.col("gross_cents") - pl.col("fees_cents") - pl.col("chargebacks_cents")
        - pl.col("refunds_cents") - pl.col("fees_refunded_cents") != pl.col("net_cents"))
    assert wrong.select("payout_id", "fees_flag", "explanation").rows() == []
    assert payouts["fees_ht_cents"].null_count() == 0
    assert payouts.filter(pl.col("fees_ht_cents") + pl.col("fees_tva_cents")
                          != pl.col("fees_cents")).height == 0
    # Deductions happened, and each such payout is explained, not a mismatch.
    explained = payouts.filter(pl.col("chargebacks_cents") + pl.col("refunds_cents") > 0)
    assert explained.height > 0 and set(explained["fees_flag"]) == {"FEES_EXPLAINED"}
