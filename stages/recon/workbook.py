"""The workbook of a window (reconciliation_<FROM>_<TO>.xlsx), written with polars'
Excel writer (xlsxwriter): Synthèse, À traiter, Rapprochement, Versements et frais.

Amounts are numbers in euros with a euro format (cents / 100 as exact decimals), dates
are dates, headers frozen, autofilter on, columns sized to their content. A month too big
for a sheet people can open (MAX_ROWS verdicts) keeps its counts and totals per flag on
Rapprochement and points to the CSV.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl
import xlsxwriter

from recon.figures import ROWS_PER_FLAG, Figures
from recon.flags import ACTIONS, action, meaning
from recon.io import atomic_path
from recon.match_common import fmt

SHEETS = ("Synthèse", "À traiter", "Rapprochement", "Versements et frais")
MAX_ROWS = 5_000  # xlsxwriter writes about 50,000 cells a second: 5,000 verdicts ~ 2 s
EURO = '#,##0.00 "€";-#,##0.00 "€"'
DATE = "dd/mm/yyyy"
WIDTH_CAP = 60  # characters: an evidence sentence wraps instead of making a 400-wide column

# Column labels people read (the CSVs keep the machine names).
LABELS = {
    "fr": {
        "figure": "Chiffre", "value": "Valeur", "flag": "Code", "meaning": "Signification",
        "todo": "À faire", "count": "Nombre", "total": "Total", "kind": "Nature",
        "invoice_ref": "Facture", "gc_payment_id": "Paiement GoCardless",
        "payout_id": "Versement", "bank_transaction_id": "Ligne bancaire",
        "customer": "Client / libellé", "day": "Date", "amount": "Montant",
        "evidence": "Constat", "match_type": "Règle", "row_kind": "Ligne",
        "payment_status": "État du paiement", "payment_amount": "Montant du paiement",
        "share": "Part pour la facture", "refunded": "Remboursé", "invoice_total": "Total facture",
        "invoice_remaining": "Reste à payer", "charge_date": "Date de prélèvement",
        "invoice_date": "Date de facture", "due_date": "Échéance",
        "days_past_due": "Jours de retard",
        "customer_name": "Client (GoCardless)", "invoice_customer_name": "Client (Dolibarr)",
        "bank_date": "Date banque", "money_in_bank": "Arrivé en banque",
        "related_payment_ids": "Paiements liés", "reference": "Référence",
        "payout_status": "État du versement", "arrival_date": "Arrivée prévue",
        "gross": "Brut", "fees_ht": "Frais HT", "fees_tva": "TVA sur frais",
        "fees": "Frais TTC", "chargebacks": "Impayés", "refunds": "Remboursements",
        "fees_refunded": "Frais remboursés", "net": "Net", "bank_amount": "Montant banque",
        "fee_rate": "Taux de frais", "fees_flag": "Code frais", "explanation": "Calcul",
        "note": "Note",
    },
}
KEY_LABELS = {
    "fr": {
        "collected_cents": "Encaissé par GoCardless",
        "paid_out_cents": "Versé par GoCardless (net)",
        "in_bank_cents": "Arrivé à la banque", "fees_ht_cents": "Frais HT",
        "fees_tva_cents": "TVA sur frais", "fees_cents": "Frais TTC",
        "open_cents": "Encore ouvert dans Dolibarr", "action_cents": "À traiter (montant)",
    },
    "en": {
        "collected_cents": "Collected by GoCardless", "paid_out_cents": "Paid out (net)",
        "in_bank_cents": "Arrived in the bank", "fees_ht_cents": "Fees HT",
        "fees_tva_cents": "VAT on fees", "fees_cents": "Fees incl. VAT",
        "open_cents": "Still open in Dolibarr", "action_cents": "Needs action (amount)",
    },
}
COUNT_LABELS = {
    "fr": {"collected_count": "Paiements encaissés", "paid_out_count": "Versements",
           "in_bank_count": "Versements arrivés", "open_count": "Factures ouvertes",
           "action_count": "Lignes à traiter"},
    "en": {"collected_count": "Payments collected", "paid_out_count": "Payouts",
           "in_bank_count": "Payouts in the bank", "open_count": "Open invoices",
           "action_count": "Lines needing action"},
}


def euros(name: str) -> pl.Expr:
    """Cents as exact euros (a decimal of scale 2), written as a number."""
    return (pl.col(name).cast(pl.Decimal(38, 2)) / 100).cast(pl.Decimal(38, 2))


def _label(name: str, language: str) -> str:
    return LABELS.get(language, {}).get(name, name)


def _relabel(frame: pl.DataFrame, language: str) -> pl.DataFrame:
    return frame.rename({c: _label(c, language) for c in frame.columns})


def _money_columns(frame: pl.DataFrame) -> dict[str, str]:
    return {c: EURO for c, dtype in frame.schema.items() if dtype == pl.Decimal(38, 2)}


def _write(frame: pl.DataFrame, workbook: xlsxwriter.Workbook, sheet: str,
           position: tuple[int, int] = (0, 0), freeze: bool = True) -> None:
    # polars takes widths in pixels: about 7 per character of the default font.
    widths = {c: 7 * min(WIDTH_CAP, max(len(c), *(len(str(v)) for v in frame[c].head(200)), 8) + 2)
              if frame.height else 7 * (len(c) + 2) for c in frame.columns}
    frame.write_excel(
        workbook=workbook, worksheet=sheet, position=position,
        column_formats=_money_columns(frame), dtype_formats={pl.Date: DATE},
        column_widths=widths, autofilter=True,
        freeze_panes=(position[0] + 1, 0) if freeze else None,
        include_header=True, table_style=None, header_format={"bold": True, "bg_color": "#F2F2F2"},
    )


def summary_sheet(figures: Figures, language: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    key = figures.key
    money = pl.DataFrame({
        "figure": list(KEY_LABELS[language].values()),
        "value": [key[k] for k in KEY_LABELS[language]],
    }, schema={"figure": pl.String, "value": pl.Int64}).with_columns(value=euros("value"))
    counts = pl.DataFrame({"figure": list(COUNT_LABELS[language].values()),
                           "count": [key[k] for k in COUNT_LABELS[language]]},
                          schema={"figure": pl.String, "count": pl.Int64})
    flags = figures.flag_totals.select(
        "flag", pl.col("flag").map_elements(lambda c: meaning(c, language),
                                            return_dtype=pl.String).alias("meaning"),
        "count", total=euros("cents"))
    return pl.concat([money, counts], how="diagonal_relaxed"), flags


def actions_sheet(figures: Figures, language: str, window: str) -> pl.DataFrame:
    rows = figures.actions.select(
        "flag", pl.col("flag").map_elements(lambda c: action(c, language) or "",
                                            return_dtype=pl.String).alias("todo"),
        "kind", "invoice_ref", "gc_payment_id", "payout_id", "bank_transaction_id", "customer",
        "day", amount=euros("cents"), evidence="evidence")
    shown = rows.group_by("flag").len()
    total = figures.flag_totals.join(shown, on="flag")
    missing = total.filter(pl.col("count") > pl.col("len"))
    if missing.height:  # some flags were cut: say where the rest is
        notes = missing.select("flag", evidence=fmt(
            "… {} more rows: reconciliation_{}.csv / payouts_fees_{}.csv",
            pl.col("count") - pl.col("len"), pl.lit(window), pl.lit(window)))
        rows = pl.concat([rows, notes], how="diagonal_relaxed")
    return rows


def verdicts_sheet(verdicts: pl.LazyFrame, figures: Figures, language: str,
                   window: str) -> pl.DataFrame:
    count = verdicts.select(pl.len()).collect().item()
    if count > MAX_ROWS:
        return figures.flag_totals.select(
            "flag", "count", total=euros("cents"),
            note=pl.lit(f"{count} rows: see reconciliation_{window}.csv"))
    cents = [c for c in verdicts.collect_schema().names() if c.endswith("_cents")]
    return verdicts.with_columns(euros(c).alias(c.removesuffix("_cents")) for c in cents) \
        .drop(cents).collect()


def payouts_sheet(figures: Figures, window: str) -> pl.DataFrame:
    """Every payout; past MAX_ROWS, ROWS_PER_FLAG of each flag needing action, then a
    pointer."""
    money = ("gross", "fees_ht", "fees_tva", "fees", "chargebacks", "refunds",
             "fees_refunded", "net", "bank_amount")
    payouts = figures.payouts
    if payouts.height > MAX_ROWS:
        needing = (pl.when(pl.col("flag").is_in(list(ACTIONS))).then("flag")
                   .when(pl.col("fees_flag").is_in(list(ACTIONS))).then("fees_flag"))
        payouts = (payouts.filter(needing.is_not_null())
                   .filter(pl.int_range(pl.len()).over(needing) < ROWS_PER_FLAG))
        note = pl.DataFrame({"explanation": [
            f"{figures.payouts.height - payouts.height} more payouts: "
            f"payouts_fees_{window}.csv"]})
        payouts = pl.concat([payouts, note], how="diagonal_relaxed")
    return payouts.select(
        "payout_id", "reference", "payout_status", "arrival_date", "bank_date", "flag",
        "fees_flag", *(euros(f"{m}_cents").alias(m) for m in money),
        pl.col("fee_rate").round(4), "explanation")


def write_workbook(figures: Figures, verdicts: pl.LazyFrame, settings, path: Path,
                   window: str) -> None:
    language = settings.language
    key_table, flag_table = summary_sheet(figures, language)
    with atomic_path(path) as tmp:
        # Texts are written as texts: no URL or formula guessing (quicker, and a label
        # starting with "=" stays a label).
        options = {"strings_to_urls": False, "strings_to_formulas": False}
        with xlsxwriter.Workbook(tmp, options) as workbook:
            _write(_relabel(key_table, language), workbook, SHEETS[0])
            _write(_relabel(flag_table, language), workbook, SHEETS[0],
                   position=(key_table.height + 3, 0), freeze=False)
            _write(_relabel(actions_sheet(figures, language, window), language), workbook,
                   SHEETS[1])
            _write(_relabel(verdicts_sheet(verdicts, figures, language, window), language),
                   workbook, SHEETS[2])
            sheet = _relabel(payouts_sheet(figures, window), language)
            _write(sheet, workbook, SHEETS[3])
            workbook.get_worksheet_by_name(SHEETS[3]).set_column(
                sheet.columns.index(_label("fee_rate", language)),
                sheet.columns.index(_label("fee_rate", language)), 12,
                workbook.add_format({"num_format": "0.00%"}))
