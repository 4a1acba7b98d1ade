"""ISO 20022 camt.053 bank-to-customer statements, .001.02 and later (docs/formats.md §10).

One row per booked entry (Ntry, status BOOK; pending PDNG and information-only INFO
entries are not money on the account): the bank's own reference AcctSvcrRef is the line
id, else NtryRef, else an id derived from the entry's content; Amt (always positive) is
signed by CdtDbtInd (CRDT +, DBIT -); BookgDt and ValDt (Dt or DtTm) are the booking and
value days; the unstructured remittance information (RmtInf/Ustrd, several joined), else
the structured creditor reference, else AddtlNtryInf is the label; the debtor of a credit
(the creditor of a debit) is the counterparty. Statement-level: Acct/Id/IBAN.

Read with the standard library's streaming XML parser (ElementTree.iterparse): no new
dependency, memory bounded by one entry at a time. It is safe on a file from anywhere:
ElementTree never fetches external entities or DTDs, and the expat it runs on (2.4.1 or
later, as in every supported Python) refuses entity-expansion bombs; defusedxml would
add nothing here. The element namespaces differ by version (camt.053.001.02 … .13);
elements are found by local name, and the two shapes of Sts (text, or Cd from .08 on)
and of parties (Nm, or Pty/Nm from .08 on) are both read.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl

from recon.banks.common import (blank_to_null, derived_ids, in_bank_schema, keep_booked,
                                required, typed)
from recon.csvread import Export, amount_cents
from recon.errors import InputError

WHERE = "entry"  # errors say "entry 3" (the third Ntry of the file)
COLUMNS = ("source_line", "iban", "account_currency", "acct_svcr_ref", "ntry_ref", "status",
           "amount", "currency", "indicator", "booking", "value", "ustrd", "strd_ref",
           "additional", "debtor", "creditor", "bank_code")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element, path: str) -> str | None:
    """Text at a path of local names (`BookgDt/Dt`), whatever the namespace."""
    return element.findtext("/".join(f"{{*}}{step}" for step in path.split("/")))


def _flatten(element: ET.Element, prefix: str, out: dict[str, str], ustrd: list[str]) -> None:
    """Texts under an entry by path of local names (`BookgDt/Dt`), first one of each path;
    every Ustrd in order. One walk: ElementTree's `{*}` paths are ~10x slower."""
    for child in element:
        tag = child.tag
        path = prefix + tag[tag.rfind("}") + 1:]
        text = (child.text or "").strip()
        if path.endswith("RmtInf/Ustrd"):
            if text:
                ustrd.append(text)
        elif text and path not in out:
            out[path] = text
            if path == "Amt":
                out["Amt@Ccy"] = child.get("Ccy", "")
        if len(child):
            _flatten(child, path + "/", out, ustrd)


PARTY = "NtryDtls/TxDtls/RltdPties/{}/Nm"  # .02-.07; from .08 on: .../{}/Pty/Nm


def entry_row(entry: ET.Element, position: int, iban: str | None, currency: str | None) -> tuple:
    got: dict[str, str] = {}
    ustrd: list[str] = []
    _flatten(entry, "", got, ustrd)
    day = lambda name: got.get(f"{name}/Dt") or got.get(f"{name}/DtTm", "")[:10] or None  # noqa: E731
    party = lambda role: (got.get(PARTY.format(role))  # noqa: E731
                          or got.get(PARTY.format(role).replace("/Nm", "/Pty/Nm")))
    domain = [got.get(p) for p in ("BkTxCd/Domn/Cd", "BkTxCd/Domn/Fmly/Cd",
                                   "BkTxCd/Domn/Fmly/SubFmlyCd")]
    return (position, iban, currency, got.get("AcctSvcrRef"), got.get("NtryRef"),
            got.get("Sts/Cd") or got.get("Sts"), got.get("Amt"), got.get("Amt@Ccy"),
            got.get("CdtDbtInd"), day("BookgDt"), day("ValDt"), " ".join(ustrd) or None,
            got.get("NtryDtls/TxDtls/RmtInf/Strd/CdtrRefInf/Ref"), got.get("AddtlNtryInf"),
            party("Dbtr"), party("Cdtr"),
            "/".join(domain) if all(domain) else got.get("BkTxCd/Prtry/Cd"))


def entries(export: Export) -> list[tuple]:
    """Every Ntry of every Stmt, streamed; each is dropped from memory once read."""
    rows, iban, currency, position = [], None, None, 0
    try:
        for _, element in ET.iterparse(export.path, events=("end",)):
            name = _local(element.tag)
            if name == "Acct":
                iban = _text(element, "Id/IBAN") or _text(element, "Id/Othr/Id")
                currency = _text(element, "Ccy")
            elif name == "Ntry":
                position += 1
                rows.append(entry_row(element, position, iban, currency))
                element.clear()
            elif name == "Stmt":
                iban = currency = None
                element.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(f"malformed XML at column {column} ({str(exc).split(':')[0]})",
                         file=export.path, line=line,
                         expected="a well-formed camt.053 statement as downloaded") from None
    return rows


def read(export: Export) -> pl.DataFrame:
    lines = pl.DataFrame(entries(export), schema={c: pl.String for c in COLUMNS},
                         orient="row").with_columns(pl.col("source_line").cast(pl.Int64))
    lines = lines.with_columns(blank_to_null(pl.col(c).str.strip_chars()).alias(c)
                               for c in COLUMNS[1:])
    required(lines, {"status": "Sts", "amount": "Amt", "indicator": "CdtDbtInd"}, export, WHERE)
    lines = keep_booked(lines, pl.col("status").str.to_uppercase() == "BOOK", "status", export)
    day = lambda t: t.str.strptime(pl.Date, "%Y-%m-%d", strict=False)  # noqa: E731
    lines = typed(lines, {
        "booking": (day, "a date YYYY-MM-DD", "BookgDt"),
        "value": (day, "a date YYYY-MM-DD", "ValDt"),
        "amount": (lambda t: pl.when(~t.str.starts_with("-")).then(amount_cents(t)),
                   "a positive amount such as 2291.47", "Amt"),
        "indicator": (lambda t: pl.when(t.is_in(["CRDT", "DBIT"])).then(t),
                      "CRDT or DBIT", "CdtDbtInd")}, export, WHERE)
    required(lines, {"booking": "BookgDt"}, export, WHERE)
    credit = pl.col("indicator") == "CRDT"
    lines = lines.with_columns(
        amount_cents=pl.when(credit).then(pl.col("amount")).otherwise(-pl.col("amount")),
        operation_date="booking", value_date="value", transaction_type="bank_code",
        currency=pl.coalesce("currency", "account_currency").str.to_uppercase(),
        label=pl.coalesce("ustrd", "strd_ref", "additional"),
        comment=pl.when(pl.coalesce("ustrd", "strd_ref").is_not_null()).then(pl.col("additional")),
        counterparty=pl.when(credit).then(pl.col("debtor")).otherwise(pl.col("creditor")),
        bank_transaction_id=pl.coalesce("acct_svcr_ref", "ntry_ref"))
    if lines["bank_transaction_id"].null_count():
        ids = derived_ids("camt", lines, ["iban", "booking", "value", "amount_cents", "label",
                                          "counterparty"])
        lines = lines.with_columns(pl.coalesce("bank_transaction_id", ids)
                                   .alias("bank_transaction_id"))
    return in_bank_schema(lines, "camt053")
