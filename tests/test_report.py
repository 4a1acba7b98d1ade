"""Report: the CSV contracts, the money chain and the terminal summary."""
import csv
from datetime import date

import polars as pl

import report
from recon import figures
from matching_frames import FROM, SETTINGS, TO, bank, invoices, paid, payments, payouts, payout_items
from recon.match_invoices import audit_invoices
from recon.match_payments import match_payments
from recon.figures import action_rows, compute, money
from recon.match_payouts import match_payouts
from recon.summary import summary_text
from recon.tables import PAYOUTS_COLUMNS, RECONCILIATION_COLUMNS


def passes():
    """A small month: one payment matched and in the bank, one fix candidate whose payout
    is pending, one failed collection, one open invoice without payment, a draft, and a
    GoCardless credit that no payout explains."""
    invs = invoices(paid(invoice_ref="FA2601-0001"),
                    {"invoice_ref": "FA2601-0002", "total_cents": 5000, "remaining_cents": 5000},
                    {"invoice_ref": "FA2601-0003"},
                    {"invoice_ref": "FA2601-0004", "due_date": date(2026, 1, 30)},
                    {"invoice_ref": "(PROV5)", "status": 0})
    pays = payments(
        {"gc_payment_id": "PM_A", "description": "FA2601-0001", "payout_id": "PO0001"},
        {"gc_payment_id": "PM_B", "description": "FA2601-0002", "amount_cents": 5000,
         "payout_id": "PO0002"},
        {"gc_payment_id": "PM_C", "description": "FA2601-0003", "status": "failed"},
    )
    pos = payouts({}, {"amount_cents": 4900, "transaction_fee_debit_cents": 100,
                       "status": "pending", "arrival_date": None})
    lines = bank({"label": "GOCARDLESS SHOP-REF001"},
                 {"label": "GOCARDLESS SHOP-OLD", "amount_cents": 3715,
                  "operation_date": date(2026, 1, 3)})
    p1 = match_payments(pays, invs, SETTINGS, FROM, TO)
    p2 = audit_invoices(invs, p1, FROM, TO)
    p3 = match_payouts(pos, payout_items().clear(), pays, lines, SETTINGS, FROM, TO)
    return p1, p2, p3


def test_reconciliation_rows_amounts_and_the_money_chain():
    table = report.reconciliation_table(*passes())
    assert table.columns == RECONCILIATION_COLUMNS
    assert table.select("flag", "invoice_ref", "gc_payment_id", "row_kind", "payment_amount_eur",
                        "invoice_remaining_eur", "days_past_due", "payout_id",
                        "bank_transaction_id", "money_in_bank").rows() == [
        ("MATCHED", "FA2601-0001", "PM_A", "payment", "100.00", "0.00", None, "PO0001",
         "bank-1", "yes"),
        ("GC_PAID_DOLIBARR_OPEN", "FA2601-0002", "PM_B", "payment", "50.00", "50.00", None,
         "PO0002", None, "pending"),
        ("GC_FAILED", "FA2601-0003", "PM_C", "payment", "100.00", "100.00", None, None, None,
         "no"),
        ("DOLIBARR_OPEN_NO_GC", "FA2601-0004", None, "invoice", None, "100.00", 10, None, None,
         "no"),
        ("EXCLUDED_DRAFT", "(PROV5)", None, "invoice", None, "100.00", None, None, None, None),
    ]


def test_payouts_table_keeps_one_flag_and_the_fee_verdict_in_its_own_column():
    table = report.payouts_table(passes()[2])
    assert table.columns == PAYOUTS_COLUMNS == [
        "payout_id", "reference", "gross_eur", "fees_eur", "net_eur", "arrival_date",
        "bank_transaction_id", "bank_date", "bank_label", "bank_amount_eur", "match_type",
        "flag", "explanation", "fees_flag", "fees_ht_eur", "fees_tva_eur", "chargebacks_eur",
        "refunds_eur", "fees_refunded_eur"]
    assert table.select("payout_id", "gross_eur", "fees_eur", "net_eur", "bank_amount_eur",
                        "match_type", "flag", "fees_flag", "chargebacks_eur").rows() == [
        ("PO0001", "100.00", "2.00", "98.00", "98.00", "reference_in_label", "PAYOUT_MATCHED",
         None, "0.00"),
        ("PO0002", "50.00", "1.00", "49.00", None, "none", "PAYOUT_PENDING", None, "0.00"),
        (None, None, None, None, "37.15", "none", "BANK_CREDIT_UNMATCHED", None, None),
    ]
    assert table["explanation"][0].endswith(
        "; fees: gross 100.00 (1 payment) - fees 2.00 = net 98.00: it adds up")
    # No dangling "fees: " on a bank credit no payout explains.
    assert table["explanation"][2].startswith("a GoCardless-looking credit of 37.15")
    assert "fees" not in table["explanation"][2]
    p3 = passes()[2].with_columns(fees_flag=pl.lit("FEES_MISMATCH"))
    assert report.payouts_table(p3).row(0, named=True)["flag"] == "PAYOUT_MATCHED"
    assert report.payouts_table(p3).row(0, named=True)["fees_flag"] == "FEES_MISMATCH"


def test_summary_counts_totals_and_action_lines():
    p1, p2, p3 = passes()
    text = summary_text(compute(p1, p2, p3, FROM, TO), action_rows(p1, p2, p3))
    lines = text.splitlines()
    assert lines[0] == "Reconciliation 2026-01-01 .. 2026-02-09"
    table = lines[lines.index(f"{'flag':<26}{'count':>8}{'total EUR':>16}") + 1:]
    assert table[:9] == [
        f"{'MATCHED':<26}{1:>8}{'100.00':>16}",
        f"{'GC_PAID_DOLIBARR_OPEN':<26}{1:>8}{'50.00':>16}",
        f"{'GC_FAILED':<26}{1:>8}{'100.00':>16}",
        f"{'DOLIBARR_OPEN_NO_GC':<26}{1:>8}{'100.00':>16}",
        f"{'EXCLUDED_DRAFT':<26}{1:>8}{'100.00':>16}",
        f"{'PAYOUT_MATCHED':<26}{1:>8}{'98.00':>16}",
        f"{'PAYOUT_PENDING':<26}{1:>8}{'49.00':>16}",
        f"{'BANK_CREDIT_UNMATCHED':<26}{1:>8}{'37.15':>16}",
        "",
    ]
    assert ("Payments whose money reached the bank: yes 1 (100.00 EUR), pending 1 (50.00 EUR), "
            "no 1 (100.00 EUR)") in lines
    assert "  FA2601-0002 <- PM_B 50.00 EUR paid_out (Client Durand) [ref_exact]" in lines
    assert "  FA2601-0004 100.00 EUR (DURAND Client), 10 days past due" in lines
    actions = text.split("Needs action:")[1]
    assert [line.split(" (")[0] for line in actions.splitlines() if line and line[0] != " "] == [
        "GC_PAID_DOLIBARR_OPEN", "GC_FAILED", "DOLIBARR_OPEN_NO_GC", "BANK_CREDIT_UNMATCHED",
        "Next: make fix FROM=2026-01-01 TO=2026-02-09 shows which of the 1 GC_PAID_DOLIBARR_OPEN "
        "payment it would record in Dolibarr, and asks before writing."]
    assert "GoCardless fees of the payouts: HT 0.00 EUR + TVA 0.00 EUR = TTC 3.00 EUR " \
        "(no HT/TVA split for 2 payouts)" in lines


def test_money_text_is_made_from_integer_cents():
    assert [money(c) for c in (0, 5, -50, 123456789)] == [
        "0.00", "0.05", "-0.50", "1 234 567.89"]
    assert money(-123456, "fr", unit=True) == "-1\u202f234,56\u00a0€"
    frame = pl.DataFrame({"c": [0, 5, -50, 99999, 100000, -123456789]})
    assert frame.select(figures.money_expr(pl.col("c")).alias("c"))["c"].to_list() == [
        "0.00", "0.05", "-0.50", "999.99", "1 000.00", "-1 234 567.89"]


def written_passes(tmp_path):
    """passes() written as pass1/2/3.parquet in tmp_path: their paths."""
    paths = [tmp_path / f"pass{n}.parquet" for n in (1, 2, 3)]
    for path, frame in zip(paths, passes()):
        frame.write_parquet(path)
    return paths


def test_script_writes_the_window_named_files_and_prints_the_summary(tmp_path, capsys):
    paths = written_passes(tmp_path)
    out = tmp_path / "out"
    report.main(["--pass1", str(paths[0]), "--pass2", str(paths[1]), "--pass3", str(paths[2]),
                 "--from", "2026-01-01", "--to", "2026-02-09", "--out-dir", str(out)])
    assert sorted(p.name for p in out.iterdir()) == [
        "payouts_fees_2026-01-01_2026-02-09.csv", "provenance_2026-01-01_2026-02-09.json",
        "reconciliation_2026-01-01_2026-02-09.csv", "summary_2026-01-01_2026-02-09.txt"]
    summary = (out / "summary_2026-01-01_2026-02-09.txt").read_text(encoding="utf-8")
    assert capsys.readouterr().out == summary
    with open(out / "reconciliation_2026-01-01_2026-02-09.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == RECONCILIATION_COLUMNS and len(rows) == 6


def test_documents_in_english_without_dolibarr_url_and_a_bad_language_refused(tmp_path,
                                                                               monkeypatch):
    import documents
    from recon.errors import InputError
    paths = written_passes(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("report:\n  language: en\n", encoding="utf-8")
    monkeypatch.delenv("DOLIBARR_URL", raising=False)
    argv = ["--pass1", str(paths[0]), "--pass2", str(paths[1]), "--pass3", str(paths[2]),
            "--from", "2026-01-01", "--to", "2026-02-09", "--config", str(config),
            "--out-dir", str(tmp_path / "out")]
    documents.main(argv)
    html = (tmp_path / "out" / "report_2026-01-01_2026-02-09.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Key figures" in html
    assert 'data-key="paid_out_cents" data-cents="14700">147.00 EUR' in html
    assert "card.php" not in html and "DOLIBARR_URL unknown: invoice refs are not links." in html
    assert html.count("<svg") == 4
    config.write_text("report:\n  language: de\n", encoding="utf-8")
    try:
        documents.main(argv)
    except InputError as error:
        assert str(error).startswith(f"{config}, column 'report.language': unknown report language")
    else:
        raise AssertionError("language de accepted")


def test_a_month_too_big_for_the_workbook_keeps_totals_and_points_to_the_csv(tmp_path,
                                                                            monkeypatch):
    import openpyxl
    from recon import workbook
    from recon.html_report import ReportSettings
    from recon.tables import reconciliation_frame
    p1, p2, p3 = passes()
    many = pl.concat([p1, p1.filter(pl.col("flag") == "GC_FAILED")])  # two GC_FAILED rows
    figs = figures.compute(many, p2, p3, FROM, TO)
    figs.actions = figures.action_rows(many, p2, p3, per_flag=1)  # as ROWS_PER_FLAG would cut
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)
    path = tmp_path / "book.xlsx"
    workbook.write_workbook(figs, reconciliation_frame(many.lazy(), p2.lazy(), p3.lazy()),
                            ReportSettings(), path, "W")
    book = openpyxl.load_workbook(path)
    rows = list(book["Rapprochement"].iter_rows(values_only=True))
    assert rows[0] == ("Code", "Nombre", "Total", "Note")
    assert ("GC_FAILED", 2, 200, "6 rows: see reconciliation_W.csv") in rows
    todo = list(book["À traiter"].iter_rows(values_only=True))
    failed = [row for row in todo if row[0] == "GC_FAILED"]
    assert len(failed) == 2 and failed[1][-1] == (
        "… 1 more rows: reconciliation_W.csv / payouts_fees_W.csv")


def test_the_page_escapes_what_the_exports_say_and_shows_the_provenance():
    from recon.html_report import ReportSettings, render
    p1, p2, p3 = passes()
    p1 = p1.with_columns(customer_name=pl.lit("<script>alert(1)</script> & Fils"))
    page = render(figures.compute(p1, p2, p3, FROM, TO),
                  ReportSettings(dolibarr_url="https://erp.example/dolibarr"), "W",
                  {"version": "v1", "dolibarr": [{"snapshot": "snapshot <raw/dolibarr>"}],
                   "exports": [{"file": "a.csv", "kind": "GoCardless payments export",
                                "rows": 28, "dates": ["2026-01-08", "2026-02-18"],
                                "sha256": "a5d2a405dc20"}],
                   "not_checked": [{"kind": "bank", "reason": "no bank export"}],
                   "config": {"matching": {"date_tolerance_days": 7,
                                           "payout_date_tolerance_days": 2}}})
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Fils" in page
    assert "snapshot &lt;raw/dolibarr&gt;" in page
    assert ("<td>a.csv</td><td>GoCardless payments export</td><td class=\"num\">28</td>\n"
            "          <td>08/01/2026 – 18/02/2026</td>") in page
    assert "NON VÉRIFIÉ : bank — no bank export" in page and "± 7 jours" in page
    assert 'href="https://erp.example/dolibarr/compta/facture/card.php?id=2">FA2601-0002</a>' in page
    assert 'href="https://manage.gocardless.com/payouts/PO0002">PO0002</a>' in page
    assert page.count("<script>") == 1  # the page's own sort/filter script, nothing else


def test_the_page_shows_the_reviews_entry_for_each_line_escaped_and_none_when_decided():
    from recon.html_report import ReportSettings, render
    from recon.review import review_text
    p1, p2, p3 = passes()
    p2 = p2.with_columns(invoice_ref=pl.when(pl.col("invoice_ref") == "FA2601-0004")
                         .then(pl.lit("FA2601-0004<b>&")).otherwise("invoice_ref"))
    decided = pl.col("flag") == "GC_FAILED"
    p1 = p1.with_columns(match_type=pl.when(decided).then(pl.lit("decision"))
                         .otherwise("match_type"),
                         evidence=pl.when(decided).then(pl.lit("decision: a deposit (claire)"))
                         .otherwise("evidence"))
    figs = figures.compute(p1, p2, p3, FROM, TO)
    assert figs.actions.select("flag", "hint", "hint_note").rows() == [
        ("GC_PAID_DOLIBARR_OPEN", None, "`make fix` records it: nothing to decide"),
        ("GC_FAILED", None, None),
        ("DOLIBARR_OPEN_NO_GC", "- invoice: FA2601-0004<b>&\n  settled:", None),
        ("BANK_CREDIT_UNMATCHED", "- bank: bank-2\n  payout: <the payout id>\n  note:\n"
         "# or:\n- bank: bank-2\n  ignore:", None),
    ]
    # The same entries as `make review`, there commented out.
    review = review_text(p1, p2, p3, FROM, TO)
    for hint in figs.actions["hint"].drop_nulls():
        assert "\n".join(line if line == "# or:" else f"# {line}"
                         for line in hint.splitlines()) in review
    assert "# - payment: PM_C" not in review
    page = render(figs, ReportSettings(language="en"), "W")
    assert "<pre>- invoice: FA2601-0004&lt;b&gt;&amp;\n  settled:</pre>" in page
    assert "payout: &lt;the payout id&gt;" in page and "<b>&" not in page
    assert "<the payout id>" not in page
    assert '<span class="muted">`make fix` records it: nothing to decide</span>' in page
    failed = page[page.index('id="table-GC_FAILED"'):].split("</tr>")[1]
    assert "decision: a deposit (claire)" in failed
    assert '<td class="hint"><span class="muted">decided</span></td>' in failed
    assert ("To settle a line the tool cannot decide: open its “decisions.yaml” entry, copy it "
            "into the decisions.yaml file") in page


def test_the_decisions_used_are_one_figure_the_summary_and_the_page_both_show(tmp_path,
                                                                               monkeypatch):
    import documents
    from recon import decisions as decisions_file
    p1, p2, p3 = passes()
    p1 = p1.with_columns(match_type=pl.when(pl.col("gc_payment_id") == "PM_C")
                         .then(pl.lit("decision")).otherwise("match_type"))
    path = tmp_path / "decisions.yaml"
    path.write_text("- payment: PM_C\n  ignore: a deposit\n"
                    "- payment: PM404\n  ignore: another month's\n", encoding="utf-8")
    figs = compute(p1, p2, p3, FROM, TO, decisions_file.load(path))
    assert figs.decisions == (str(path), 1, 1)
    assert (f"Decisions ({path}): 1 used in this window, 1 about lines not in it "
            "(left alone)") in summary_text(figs, action_rows(p1, p2, p3)).splitlines()
    assert compute(p1, p2, p3, FROM, TO, decisions_file.load(None)).decisions is None
    paths = []
    for name, frame in (("pass1", p1), ("pass2", p2), ("pass3", p3)):
        paths.append(tmp_path / f"{name}.parquet")
        frame.write_parquet(paths[-1])
    monkeypatch.delenv("DOLIBARR_URL", raising=False)
    documents.main(["--pass1", str(paths[0]), "--pass2", str(paths[1]), "--pass3", str(paths[2]),
                    "--from", "2026-01-01", "--to", "2026-02-09", "--decisions", str(path),
                    "--out-dir", str(tmp_path / "out")])
    html = (tmp_path / "out" / "report_2026-01-01_2026-02-09.html").read_text(encoding="utf-8")
    assert (f'<p id="decisions-used">Décisions ({path}) : 1 utilisées sur cette période, 1 sur '
            "des lignes hors période (laissées de côté).</p>") in html


def test_a_hint_lists_at_most_hint_candidates_and_says_how_many_more():
    from recon import review
    lost = [{"flag": "PAYOUT_NOT_IN_BANK", "payout_id": f"PO{i:02d}", "reference": f"R{i}",
             "net_cents": 1000 + i, "bank_transaction_id": None} for i in range(25)]
    credit = {"flag": "BANK_CREDIT_UNMATCHED", "payout_id": None, "reference": None,
              "net_cents": None, "bank_transaction_id": "b1"}
    pass3 = pl.DataFrame([*lost, credit]).with_columns(
        match_type=pl.lit("none"), bank_amount_cents=pl.lit(3715),
        bank_date=pl.lit(date(2026, 1, 3)), bank_label=pl.lit("GOCARDLESS"))
    actions = pl.DataFrame([{**credit, "kind": "bank credit", "match_type": "none"}])
    hint = review.with_hints(actions, pass3)["hint"][0].splitlines()
    assert hint[:2] == ["- bank: b1", "  payout: PO00    # R0, net 10.00 EUR, candidate: keep one"]
    assert hint[review.HINT_CANDIDATES:review.HINT_CANDIDATES + 3] == [
        "  payout: PO19    # R19, net 10.19 EUR, candidate: keep one",
        "  # ... and 5 more candidates: `make review` lists them all", "  note:"]
    # The review lists every one.
    full = review.payout_hint(credit, review.Candidates.of(pass3)).lines()
    assert sum("candidate: keep one" in line for line in full) == 25
    assert not any("more candidates" in line for line in full)
