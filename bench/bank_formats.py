"""Write bank lines (the bank table's columns) as another bank would export them.

Used by the tests (one month's payouts must match alike whatever format carries the same
bank lines) and by bench/parse_banks.py (reader timings). Formats follow docs/formats.md:
Qonto's French export, Wise's statement, OFX 1.x (SGML, Windows-1252) and 2.x (XML),
camt.053.001.02 and .08. A plain loop over the lines: a test and bench helper only.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

QONTO_FR_HEADER = [
    "Statut", "Date de la valeur (UTC)", "Date de la valeur (local)", "Date de l'opération (UTC)",
    "Date de l'opération (local)", "Montant total (TTC)", "Débit", "Crédit", "Solde", "Devise",
    "Montant total (TTC) (local)", "Devise (local)", "Nom du compte", "IBAN du compte",
    "Nom de la contrepartie", "Référence", "Catégorie de trésorerie",
    "Sous-catégorie de trésorerie"]
WISE_HEADER = [
    "TransferWise ID", "Date", "Amount", "Currency", "Description", "Payment Reference",
    "Running Balance", "Exchange From", "Exchange To", "Exchange Rate", "Payer Name",
    "Payee Name", "Payee Account Number", "Merchant", "Card Last Four Digits",
    "Card Holder Full Name", "Attachment", "Note", "Total fees"]


def _euros(cents: int | None, mark: str = ".") -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}{mark}{abs(cents) % 100:02d}"


def _rows(lines: pl.DataFrame) -> list[dict]:
    return lines.to_dicts()


def qonto_fr(lines: pl.DataFrame, path: Path) -> None:
    """Qonto's French export: `;`, decimal comma, UTF-8, DD-MM-YYYY HH:MM:SS (UTC, local)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(QONTO_FR_HEADER)
    for r in _rows(lines):
        amount = r["amount_cents"]
        op, val = r["operation_date"], r["value_date"] or r["operation_date"]
        writer.writerow([
            "Exécuté", val.strftime("%d-%m-%Y 09:00:00"), val.strftime("%d-%m-%Y 10:00:00"),
            op.strftime("%d-%m-%Y 09:00:00"), op.strftime("%d-%m-%Y 10:00:00"),
            _euros(amount, ","), _euros(-amount, ",") if amount < 0 else "",
            _euros(amount, ",") if amount > 0 else "", _euros(r["balance_cents"], ","), "EUR",
            _euros(amount, ","), "EUR", "Compte principal", r["iban"] or "",
            r["counterparty"] or "", r["label"] or "", "", ""])
    path.write_text(out.getvalue(), encoding="utf-8")


def wise(lines: pl.DataFrame, path: Path) -> None:
    """Wise's statement: `,`, decimal point, DD-MM-YYYY, one id per movement."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WISE_HEADER)
    for i, r in enumerate(_rows(lines)):
        amount = r["amount_cents"]
        credit = amount > 0
        writer.writerow([
            f"TRANSFER-{100000000 + i}", r["operation_date"].strftime("%d-%m-%Y"),
            _euros(amount), "EUR", r["label"] or "", "", _euros(r["balance_cents"]), "", "", "",
            r["counterparty"] if credit else "", "" if credit else r["counterparty"] or "",
            "", "", "", "", "", "", "0.00"])
    path.write_text(out.getvalue(), encoding="utf-8")


def _ofx_transactions(rows: list[dict], sgml: bool) -> str:
    end = "" if sgml else "</{}>"
    parts = []
    for r in rows:
        amount = r["amount_cents"]
        fields = [("TRNTYPE", "CREDIT" if amount > 0 else "DEBIT"),
                  ("DTPOSTED", r["operation_date"].strftime("%Y%m%d")),
                  ("DTAVAIL", (r["value_date"] or r["operation_date"]).strftime("%Y%m%d")),
                  ("TRNAMT", _euros(amount, "," if sgml else ".")),
                  ("FITID", r["bank_transaction_id"].replace("-", "")),
                  ("NAME", (r["counterparty"] or r["label"] or "")[:32]),
                  ("MEMO", r["label"] or "")]
        body = "".join(f"<{tag}>{escape(value)}{end.format(tag)}" for tag, value in fields
                       if value)
        parts.append(f"<STMTTRN>{body}</STMTTRN>\n")
    return "".join(parts)


def _ofx_statement(iban: str, rows: list[dict], sgml: bool) -> str:
    end = "" if sgml else "</{}>"
    bank, branch, account, key = iban[4:9], iban[9:14], iban[14:25], iban[25:27]
    start = min(r["operation_date"] for r in rows).strftime("%Y%m%d")
    stop = max(r["operation_date"] for r in rows).strftime("%Y%m%d")

    def el(tag, value):
        return f"<{tag}>{value}{end.format(tag)}"
    return (
        "<STMTTRNRS>" + el("TRNUID", "1") + "<STATUS>" + el("CODE", "0") + el("SEVERITY", "INFO")
        + "</STATUS>\n<STMTRS>" + el("CURDEF", "EUR") + "<BANKACCTFROM>" + el("BANKID", bank)
        + el("BRANCHID", branch) + el("ACCTID", account) + el("ACCTTYPE", "CHECKING")
        + el("ACCTKEY", key) + "</BANKACCTFROM>\n<BANKTRANLIST>" + el("DTSTART", start)
        + el("DTEND", stop) + "\n" + _ofx_transactions(rows, sgml) + "</BANKTRANLIST>"
        + "<LEDGERBAL>" + el("BALAMT", "0.00") + el("DTASOF", stop) + "</LEDGERBAL>"
        + "</STMTRS></STMTTRNRS>\n")


def ofx(lines: pl.DataFrame, path: Path, version: int = 1) -> None:
    """OFX 1.02 (SGML, CHARSET 1252, decimal comma) or 2.11 (XML, UTF-8), one statement
    per account."""
    sgml = version == 1
    by_account: dict[str, list[dict]] = {}
    for r in _rows(lines):
        by_account.setdefault(r["iban"], []).append(r)
    statements = "".join(_ofx_statement(iban, rows, sgml) for iban, rows in by_account.items())
    if sgml:
        header = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
                  "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")
        signon = ("<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
                  "<DTSERVER>20260207120000<LANGUAGE>FRA</SONRS></SIGNONMSGSRSV1>\n")
        encoding = "cp1252"
    else:
        header = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                  '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" '
                  'NEWFILEUID="NONE"?>\n')
        signon = ("<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY>"
                  "</STATUS><DTSERVER>20260207120000</DTSERVER><LANGUAGE>FRA</LANGUAGE>"
                  "</SONRS></SIGNONMSGSRSV1>\n")
        encoding = "utf-8"
    text = (header + "<OFX>\n" + signon + "<BANKMSGSRSV1>\n" + statements
            + "</BANKMSGSRSV1>\n</OFX>\n")
    path.write_bytes(text.encode(encoding, errors="replace"))


def _camt_entry(r: dict, version: int) -> str:
    amount = r["amount_cents"]
    credit = amount > 0
    status = "<Sts>BOOK</Sts>" if version < 8 else "<Sts><Cd>BOOK</Cd></Sts>"
    party = escape(r["counterparty"] or "")
    role = "Dbtr" if credit else "Cdtr"
    name = f"<Nm>{party}</Nm>" if version < 8 else f"<Pty><Nm>{party}</Nm></Pty>"
    label = escape((r["label"] or "")[:140])
    return (
        f"<Ntry><Amt Ccy=\"EUR\">{_euros(abs(amount))}</Amt>"
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>{status}"
        f"<BookgDt><Dt>{r['operation_date']:%Y-%m-%d}</Dt></BookgDt>"
        f"<ValDt><Dt>{(r['value_date'] or r['operation_date']):%Y-%m-%d}</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(r['bank_transaction_id'])}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{'RCDT' if credit else 'ICDT'}</Cd>"
        f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls><TxDtls><RltdPties><{role}>{name if party else ''}</{role}></RltdPties>"
        f"<RmtInf><Ustrd>{label}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n")


def camt053(lines: pl.DataFrame, path: Path, version: int = 2) -> None:
    """camt.053.001.<version>, one Stmt per account, every entry booked."""
    by_account: dict[str, list[dict]] = {}
    for r in _rows(lines):
        by_account.setdefault(r["iban"], []).append(r)
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
    statements = "".join(
        f"<Stmt><Id>STMT-{i}</Id><CreDtTm>2026-02-07T08:00:00+01:00</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        + "".join(_camt_entry(r, version) for r in rows) + "</Stmt>\n"
        for i, (iban, rows) in enumerate(by_account.items(), 1))
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-02-07T08:00:00+01:00</CreDtTm></GrpHdr>\n"
        + statements + "</BkToCstmrStmt></Document>\n", encoding="utf-8")


WRITERS = {"qonto": qonto_fr, "wise": wise, "ofx1": lambda l, p: ofx(l, p, 1),
           "ofx2": lambda l, p: ofx(l, p, 2), "camt053": camt053,
           "camt053_08": lambda l, p: camt053(l, p, 8)}
SUFFIX = {"qonto": ".csv", "wise": ".csv", "ofx1": ".ofx", "ofx2": ".ofx", "camt053": ".xml",
          "camt053_08": ".xml"}
