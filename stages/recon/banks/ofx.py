"""OFX statements, 1.x (SGML) and 2.x (XML) (docs/formats.md §9).

ofxtools, a maintained OFX library, reads the file: its header (version, charset), the
SGML elements that are never closed, the XML form. Its tree is then read here, not
through ofxtools' typed models: they turn each date into a UTC instant (a bank line of
the 14th, `20260114000000[+1:CET]`, would become the 13th) and cost ~10x the time. One row
per STMTTRN of each bank statement (STMTRS): FITID is the line id, TRNAMT the signed
amount (`.` or `,` decimal mark), DTPOSTED the booking day, DTAVAIL the value day, NAME
and MEMO the label. Pending transactions (STMTTRNP) and card statements (CCSTMTRS) are
not bank lines and are not read. The account (BANKACCTFROM) becomes an IBAN when it is a
French RIB (bank, branch, account and key, the key computed when absent) or an IBAN.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from recon import csvread
from recon.banks.common import blank_to_null, in_bank_schema, required, typed
from recon.csvread import Export, amount_cents
from recon.errors import InputError

FIELDS = ("FITID", "TRNTYPE", "DTPOSTED", "DTAVAIL", "TRNAMT", "NAME", "MEMO")
TEXTS = ("FITID", "NAME", "MEMO", "payee")
ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
WHERE = "transaction"  # errors say "transaction 3" (the third STMTTRN of the file)


def parse_tree(export: Export) -> ET.Element:
    tree = OFXTree()
    try:
        tree.parse(str(export.path))
    except (ParseError, OFXHeaderError, ValueError, UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"not a readable OFX statement ({str(exc).splitlines()[0]})",
                         file=export.path,
                         expected="an OFX 1.x (SGML) or 2.x (XML) statement as downloaded "
                                  "from the bank") from None
    return tree.getroot()


def account_iban(account: ET.Element | None) -> str | None:
    """BANKACCTFROM -> IBAN: an IBAN written as ACCTID, or a French RIB made into one."""
    if account is None:
        return None
    text = {c.tag: (c.text or "").strip().upper().replace(" ", "") for c in account}
    acctid = text.get("ACCTID", "")
    if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", acctid):
        return acctid
    bank, branch, key = text.get("BANKID", ""), text.get("BRANCHID", ""), text.get("ACCTKEY", "")
    if re.fullmatch(r"[0-9]{5}", bank) and re.fullmatch(r"[0-9]{5}", branch) \
            and re.fullmatch(r"[0-9A-Z]{11}", acctid):
        return french_iban(bank, branch, acctid, key if re.fullmatch(r"[0-9]{2}", key) else None)
    return acctid or None


def _digits(text: str) -> str:
    return "".join(str(int(c, 36)) for c in text)


def french_iban(bank: str, branch: str, account: str, key: str | None) -> str:
    """FR IBAN of a RIB: the RIB key (letters of the account as digits 1-9, as the Banque
    de France defines it) when absent, then the ISO 13616 check digits (mod 97)."""
    if key is None:
        digits = account.translate(str.maketrans(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789"))
        key = f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(digits)) % 97:02d}"
    bban = bank + branch + account + key
    check = 98 - int(_digits(bban + "FR00")) % 97
    return f"FR{check:02d}{bban}"


def statements_rows(root: ET.Element) -> list[tuple]:
    """One tuple per STMTTRN of every bank statement: position, account, currency, FIELDS."""
    rows, position = [], 0
    for statement in root.iter("STMTRS"):
        iban = account_iban(statement.find("BANKACCTFROM"))
        currency = (statement.findtext("CURDEF") or "").strip() or None
        for line in statement.iterfind("BANKTRANLIST/STMTTRN"):
            position += 1
            payee = line.findtext("PAYEE/NAME")
            rows.append((position, iban, currency, payee,
                         *(line.findtext(tag) for tag in FIELDS)))
    return rows


def read(export: Export) -> pl.DataFrame:
    root = parse_tree(export)
    if any(True for _ in root.iter("CCSTMTRS")):
        csvread.notice(f"{export.path}: card statements (CCSTMTRS) left out; only bank "
                       "statements are read")
    columns = ["source_line", "iban", "currency", "payee", *FIELDS]
    lines = pl.DataFrame(statements_rows(root), schema={c: pl.String for c in columns},
                         orient="row").with_columns(pl.col("source_line").cast(pl.Int64))
    lines = lines.with_columns(blank_to_null(pl.col(c).str.strip_chars()).alias(c)
                               for c in columns[1:])
    # ofxtools leaves XML's character entities in the text (`&amp;` in 2.x files).
    lines = lines.with_columns(pl.col(c).str.replace_many(ENTITIES) for c in TEXTS)
    day = lambda t: t.str.slice(0, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)  # noqa: E731
    lines = typed(lines, {
        "DTPOSTED": (day, "a date YYYYMMDD[HHMMSS]", "DTPOSTED"),
        "DTAVAIL": (day, "a date YYYYMMDD[HHMMSS]", "DTAVAIL"),
        "TRNAMT": (amount_cents, "a signed amount such as -12.50 or 2291,47", "TRNAMT")},
        export, WHERE)
    required(lines, {"FITID": "FITID", "DTPOSTED": "DTPOSTED", "TRNAMT": "TRNAMT",
                     "currency": "CURDEF"}, export, WHERE)
    lines = lines.with_columns(
        bank_transaction_id="FITID", operation_date="DTPOSTED", value_date="DTAVAIL",
        amount_cents="TRNAMT", transaction_type="TRNTYPE",
        label=pl.concat_str(["NAME", "MEMO"], separator=" - ", ignore_nulls=True),
        counterparty=pl.coalesce("payee", "NAME"),
        currency=pl.col("currency").str.to_uppercase())
    return in_bank_schema(lines, "ofx")
