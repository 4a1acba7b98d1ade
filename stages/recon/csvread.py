"""Reading the GoCardless and Shine CSV exports: bytes in, typed polars columns out.

Every export is recognised by its header, never by its name (FORMATS.md §1-4). Decoding is
strict: UTF-8 with or without BOM, else Windows-1252 (never latin-1, which loses `€`, `œ`).
Fields are read as strings by a real CSV reader, then converted by vectorised polars
expressions: a fast one for the form the export writes, the full one only on the rows it
leaves; money becomes Int64 cents without ever being a float. The first bad value is
reported with its file, CSV line, column, value and the form that was expected; the search
for it runs only when a conversion failed somewhere.
"""
from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import polars as pl

from recon import provenance
from recon.errors import InputError

UTF8_BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 65536  # enough for any header row
SEPARATORS = (",", ";", "\t")


def notice(message: str) -> None:
    """What a stage tells the person running it (stderr, so stdout stays clean)."""
    print(f"notice: {message}", file=sys.stderr)


# --- the known export formats ------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One export format: its separator, the columns we need, the ones we merely know."""

    key: str
    label: str
    separator: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    day_first: bool = False  # dates are natively DD/MM/YYYY (Shine), not YYYY-MM-DD
    decimal_mark: str = "."  # as the export writes amounts (Shine: 1234,56)
    markup: bool = False  # an OFX or XML statement, recognised by sniff_markup, not a CSV

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


GC_PAYMENTS_EXPORT = Kind(
    "gc_payments", "GoCardless payments export", ",",
    required=("id", "created_at", "charge_date", "amount", "description", "currency", "status",
              "amount_refunded", "reference", "transaction_fee", "payout_date", "app_fee",
              "links.mandate", "links.customer", "links.payout", "customers.email",
              "customers.given_name", "customers.family_name", "customers.company_name"),
    # Older exports lack transaction_fee_tax (FORMATS.md §1): it is read when present.
    optional=("transaction_fee_tax", "links.creditor", "links.subscription", "customers.id",
              "customers.created_at", "customers.address_line1", "customers.address_line2",
              "customers.address_line3", "customers.city", "customers.region",
              "customers.postal_code", "customers.country_code", "customers.language",
              "customers.swedish_identity_number", "customers.active_mandates"),
)
GC_PAYOUTS_EXPORT = Kind(
    "gc_payouts", "GoCardless payouts export", ",",
    required=("id", "amount", "currency", "created_at", "reference", "status", "arrival_date",
              "transaction_fee_debit", "transaction_fee_credit", "app_fee_debit",
              "app_fee_credit", "total_payment_amount"),
    optional=("links.creditor_bank_account", "links.creditor"),
)
GC_BREAKDOWN_EXPORT = Kind(
    "gc_payout_breakdown", "GoCardless payout breakdown (transactions) export", ",",
    required=("resources.type", "resources.description", "resources.charge_date",
              "resources.status", "gross_amount", "net_amount", "currency", "payouts.id",
              "payments.id", "refunds.id"),
    optional=("customers.id", "customers.given_name", "customers.family_name",
              "customers.company_name", "customers.email", "resources.created_at",
              "resources.reference", "gocardless_fees", "app_fees", "payouts.arrival_date",
              "creditors.id", "mandates.id", "subscriptions.id"),
)
SHINE_EXPORT = Kind(
    "shine", "Shine bank export", ";",
    required=("Transaction ID", "Date de la valeur", "Date d'opération", "IBAN",
              "Type de transaction", "Transaction personnelle", "Débit", "Crédit",
              "Solde mouvement", "Solde bancaire", "Libellé", "Nom de la contrepartie",
              "Commentaire"),
    optional=("Category", "Montant HT", "Montant de TVA total", "Pièces", "Date d'ajout pièces"),
    day_first=True, decimal_mark=",",
)
SHINE_2023_EXPORT = Kind(
    "shine_2023", "Shine bank export (2023 layout)", ";",
    required=("Date", "Type", "Débit", "Crédit", "Solde mouvement", "Solde bancaire", "Libellé",
              "Commentaire"),
    optional=("Code journal", "Numéro du compte", "Montant de TVA total", "Pièces",
              "Date d'ajout pièces"),
    day_first=True, decimal_mark=",",
)
# Other banks' exports (docs/formats.md §5, §8-§10); read by stages/recon/banks/.
QONTO_FR_EXPORT = Kind(
    "qonto_fr", "Qonto export (French)", ";",
    required=("Statut", "Date de la valeur (UTC)", "Date de l'opération (UTC)",
              "Montant total (TTC)", "Solde", "Devise", "IBAN du compte",
              "Nom de la contrepartie", "Référence"),
    optional=("Date de la valeur (local)", "Date de l'opération (local)", "Débit", "Crédit",
              "Montant total (TTC) (local)", "Devise (local)", "Nom du compte",
              "Catégorie de trésorerie", "Sous-catégorie de trésorerie",
              "Identifiant de transaction", "Montant total (HT)", "Moyen de paiement", "Note"),
    decimal_mark=",",
)
QONTO_EN_EXPORT = Kind(
    "qonto_en", "Qonto export (English)", ",",
    required=("Status", "Settlement date (UTC)", "Operation date (UTC)",
              "Total amount (incl. VAT)", "Currency", "Counterparty name", "Transaction ID",
              "Reference"),
    optional=("Payment method", "IBAN", "Category", "Note", "VAT amount", "Initiator",
              "Label 1", "Label 2", "Label 3", "Settlement date (local)", "Value date",
              "Emitted date", "Counterparty IBAN"),
)
WISE_EXPORT = Kind(
    "wise", "Wise account statement", ",",
    required=("TransferWise ID", "Date", "Amount", "Currency", "Description",
              "Payment Reference", "Running Balance"),
    optional=("Date Time", "Exchange From", "Exchange To", "Exchange Rate", "Payer Name",
              "Payee Name", "Payee Account Number", "Merchant", "Card Last Four Digits",
              "Card Holder Full Name", "Attachment", "Note", "Total fees", "Exchange To Amount",
              "Transaction Type", "Transaction Details Type"),
)
OFX_STATEMENT = Kind("ofx", "OFX bank statement", "", (), markup=True)
CAMT053_STATEMENT = Kind("camt053", "ISO 20022 camt.053 bank statement", "", (), markup=True)
GOCARDLESS_KINDS = (GC_PAYMENTS_EXPORT, GC_PAYOUTS_EXPORT, GC_BREAKDOWN_EXPORT)
SHINE_KINDS = (SHINE_EXPORT, SHINE_2023_EXPORT)
BANK_KINDS = SHINE_KINDS + (QONTO_FR_EXPORT, QONTO_EN_EXPORT, WISE_EXPORT, OFX_STATEMENT,
                            CAMT053_STATEMENT)
KINDS = GOCARDLESS_KINDS + tuple(k for k in BANK_KINDS if not k.markup)  # CSV, by header
# Files looked at in an input folder; what they are is decided by their content.
EXPORT_SUFFIXES = (".csv", ".ofx", ".qfx", ".xml")


def column_key(name: str) -> str:
    """How header names are compared: NFC, typographic apostrophe folded, trimmed, casefolded."""
    name = unicodedata.normalize("NFC", name).replace("\u2019", "'").replace("\ufeff", "")
    return name.strip().casefold()


@dataclass(frozen=True)
class Export:
    """One export file, recognised from its first bytes but not read yet."""

    path: Path
    kind: Kind
    columns: tuple[str, ...]  # header in file order; known names spelled as in Kind
    header_lines: int  # physical lines the header row takes (1 unless a name holds a newline)
    encoding: str  # "utf-8", "cp1252", or "mac_roman" (CR-only files of an old Mac)
    # How this file differs from the export as downloaded, once a spreadsheet re-saved it:
    separator: str | None = None  # None: the kind's; ";" for a GoCardless export (French Excel)
    cr_only: bool = False  # lines end with CR alone (old Mac Excel)

    @property
    def sep(self) -> str:
        return self.separator or self.kind.separator


# --- recognising a file ------------------------------------------------------------------


def sniff(path: str | Path) -> Export:
    """Recognise an export by its header; anything else is an InputError naming the file."""
    path = Path(path)
    head = _head(path)
    cr_only = b"\r" in head and b"\n" not in head
    text, encoding = _decode_head(head, path, "mac_roman" if cr_only else "cp1252")
    matches = []
    for sep in SEPARATORS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        header = next(reader, [])
        for kind in KINDS:
            score = _header_score(header, kind)
            matches.append((score, kind.separator == sep, kind, sep, header, reader.line_num))
    score, right_sep, kind, sep, header, header_lines = max(matches, key=lambda m: m[:2])
    if score < 0.5:
        first_line = text.splitlines()[0] if text.strip() else ""
        raise InputError(
            "not a known export: its header matches none of "
            + ", ".join(k.label for k in KINDS),
            file=path, line=1, value=_shorten(first_line),
            expected="the header row of an export as downloaded from GoCardless or a bank")
    french_excel = not right_sep and kind in GOCARDLESS_KINDS and sep == ";"
    if not right_sep and not french_excel:
        raise InputError(
            f"this {kind.label} is separated by {sep!r} instead of {kind.separator!r} "
            "(was it resaved by a spreadsheet?)",
            file=path, line=1, value=_shorten(text.splitlines()[0]),
            expected=f"the export as downloaded, with {kind.separator!r} between fields")
    columns = _canonical_columns(header, kind)
    missing = [c for c in kind.required if c not in columns]
    if missing:
        garbled = _garbled_header(header, missing, encoding)
        if garbled:
            raise InputError(garbled, file=path, line=1, column=missing[0],
                             expected="the export as downloaded: download it again and do "
                                      "not open and save it in another program")
        raise InputError(
            f"required column{'s' if len(missing) > 1 else ''} "
            + ", ".join(repr(c) for c in missing) + f" missing from this {kind.label}",
            file=path, line=1, column=missing[0],
            expected=f"the header of a {kind.label} as downloaded, which has it")
    if french_excel:
        notice(f"{path}: a {kind.label} separated by ';' with decimal commas (resaved by a "
               "spreadsheet in French); read as such")
    if cr_only:
        notice(f"{path}: lines end with a carriage return alone (saved by an old Mac "
               "spreadsheet); read as line breaks")
    return Export(path, kind, columns, header_lines, encoding,
                  separator=";" if french_excel else None, cr_only=cr_only)


def _head(path: Path) -> bytes:
    """The first bytes of an export; a file that cannot be read is an InputError."""
    if path.is_dir():
        raise InputError("a folder, not a file", file=path,
                         expected="an export file with this name (or no folder of that name here)")
    if not path.is_file():  # a pipe would block, a broken link cannot be opened
        raise InputError("not a regular file (a broken link, a pipe or a device)", file=path,
                         expected="an export file")
    try:
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path,
                         expected="a file this user may read (check its permissions)") from None


# How accents get garbled: (encoding detected, bytes back from the text with, the encoding
# they really are in, what happened). Tried in this order.
GARBLING = (
    ("utf-8", "cp1252", "utf-8",
     "UTF-8 that a program read as Windows-1252 and saved again as UTF-8 (double encoded)"),
    ("cp1252", "cp1252", "mac_roman", "Mac Roman (an old Mac program saved it)"),
    ("cp1252", "cp1252", "cp850", "DOS code page 850"),
)


def _garbled_header(header: list[str], missing: list[str], encoding: str) -> str | None:
    """Why required names are missing when the header holds them with garbled accents
    ('DÃ©bit', 'D�bit', 'D\x8ebit'): the encoding detected and what the file seems to be."""
    wanted = {column_key(m): m for m in missing}
    detected = "UTF-8" if encoding == "utf-8" else "Windows-1252"
    for name in header:
        if "\ufffd" in name:  # an accent already lost by an earlier program
            pattern = "".join("." if c == "\ufffd" else re.escape(c) for c in column_key(name))
            for key, real in wanted.items():
                if re.fullmatch(pattern, key):
                    return (f"the header reads {name!r} where {real!r} is expected: its accents "
                            "were lost (replaced by \ufffd) by a program that opened the file "
                            f"in the wrong encoding before it was saved; read as {detected}")
        for detected_as, back_with, real_encoding, what in GARBLING:
            if detected_as != encoding:
                continue
            try:
                fixed = name.encode(back_with).decode(real_encoding)
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if fixed != name and column_key(fixed) in wanted:
                return (f"the header reads {name!r} where {wanted[column_key(fixed)]!r} is "
                        f"expected: read as {detected} (the encoding detected), its accents "
                        f"are garbled; the file seems to be {what}")
    return None


def sniff_markup(path: Path) -> Export | None:
    """An OFX or camt.053 statement, from its first bytes; None for anything else (a CSV)."""
    head = _head(path)[:4096]
    text = head.lstrip(UTF8_BOM + b" \t\r\n").decode("latin-1")  # markers are ASCII
    upper = text.upper()
    if upper.startswith("OFXHEADER") or (text.startswith("<") and ("<OFX>" in upper
                                                                   or "OFXHEADER=" in upper)):
        return Export(path, OFX_STATEMENT, (), 0, "")
    if text.startswith("<") and ("CAMT.053." in upper or "<BKTOCSTMRSTMT>" in upper):
        return Export(path, CAMT053_STATEMENT, (), 0, "")
    if text.startswith("<"):
        raise InputError(
            "an XML file but neither an OFX nor a camt.053 bank statement", file=path, line=1,
            value=_shorten(text.splitlines()[0] if text else ""),
            expected="an OFX statement (OFXHEADER or <OFX>) or an ISO 20022 camt.053 "
                     "statement (namespace urn:iso:std:iso:20022:tech:xsd:camt.053…)")
    return None


def _decode_head(head: bytes, path: Path, legacy: str = "cp1252") -> tuple[str, str]:
    """Decode the first bytes strictly: UTF-8 (BOM or not), else Windows-1252."""
    if not head.replace(UTF8_BOM, b"").strip():
        raise InputError("empty file: no header row", file=path,
                         expected="a CSV export with a header row")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("encoded in UTF-16", file=path,
                         expected="the CSV as downloaded (UTF-8 or Windows-1252)")
    if head.startswith(b"PK\x03\x04"):
        raise InputError("an Excel workbook (or another zip archive), not a CSV file",
                         file=path, expected="the export saved as CSV (in Excel: File > Save "
                                             "As > CSV), or downloaded again as CSV")
    if b"\x00" in head:
        raise _nul_error(path, head)
    body = head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    try:  # incremental: the 64 KiB cut may fall inside a multi-byte character
        return codecs.getincrementaldecoder("utf-8")().decode(body, final=False), "utf-8"
    except UnicodeDecodeError:
        if head.startswith(UTF8_BOM):
            raise InputError("starts with a UTF-8 byte order mark but is not valid UTF-8",
                             file=path) from None
    return _decode_legacy(body, legacy, path), legacy


def _nul_error(path: Path, data: bytes) -> InputError:
    """A NUL byte: the line it is on in a text file, or binary content."""
    at = data.find(b"\x00")
    before = data[:at]
    controls = set(range(32)) - {9, 10, 13}
    # Text up to the NUL, a header line at least: a damaged text file, else a binary one.
    text_like = (b"\n" in before or b"\r" in before) and not controls & set(before)
    if not text_like:
        return InputError("binary content, not a CSV text file", file=path,
                          expected="a CSV export as downloaded from GoCardless or Shine")
    line = data[:at].count(b"\n") + 1 if b"\n" in data else data[:at].count(b"\r") + 1
    start = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
    return InputError(
        f"a NUL byte (0x00) at character {at - start + 1} of the line: the file is damaged "
        "(an interrupted copy or download?)", file=path, line=line,
        value=data[start:at + 1].decode("cp1252", errors="replace")[-60:],
        expected="a text CSV as downloaded, which never holds NUL bytes")


def _decode_legacy(data: bytes, encoding: str, path: Path) -> str:
    """Not UTF-8: Windows-1252, or Mac Roman for a file with an old Mac's CR-only lines
    (Excel's "CSV (Macintosh)"), which decodes any byte."""
    return data.decode("mac_roman") if encoding == "mac_roman" else _decode_cp1252(data, path)


def _decode_cp1252(data: bytes, path: Path) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        guess = _other_encoding(data)
        seems = f"; it reads as {guess}" if guess else ""
        raise InputError(
            f"neither UTF-8 nor Windows-1252 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}{seems})", file=path, line=data[:exc.start].count(b"\n") + 1,
            expected="a CSV export as downloaded (UTF-8 or Windows-1252): download it again "
                     "and do not open and save it in another program") from None


def _other_encoding(data: bytes) -> str | None:
    """The encoding in which the first line is a known export's header, if one is."""
    first = data.split(b"\n", 1)[0]
    for encoding, name in (("mac_roman", "Mac Roman"), ("cp850", "DOS code page 850")):
        try:
            header = next(csv.reader([first.decode(encoding)], delimiter=";"), [])
        except UnicodeDecodeError:
            continue
        names = {column_key(h) for h in header}
        if any(all(column_key(c) in names for c in kind.required) for kind in SHINE_KINDS):
            return name
    return None


def _header_score(header: list[str], kind: Kind) -> float:
    present = {column_key(h) for h in header}
    return sum(column_key(c) in present for c in kind.known) / len(kind.known)


def _canonical_columns(header: list[str], kind: Kind) -> tuple[str, ...]:
    """Header names in file order, known ones spelled as the Kind spells them, others unique."""
    spelling = {column_key(c): c for c in kind.known}
    columns, seen = [], set()
    for i, name in enumerate(header):
        canonical = spelling.get(column_key(name), name)
        if canonical in seen:  # a repeated or blank header name: keep it out of the way
            canonical = f"{name}#{i + 1}"
        seen.add(canonical)
        columns.append(canonical)
    return tuple(columns)


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- reading a whole file as strings -------------------------------------------------------

SOURCE_LINE = "source_line"


def read_strings(export: Export) -> pl.DataFrame:
    """Every field as a string, named by column, plus the CSV line number.

    An unquoted empty field reads as null, a quoted one ("") as an empty string: convert()
    takes both as empty. Blank lines are skipped; a short, long or truncated row is an
    InputError naming its line.
    """
    path, sep = export.path, export.sep
    source = _source(export)
    try:
        df = _polars_read(source, sep, export.header_lines + 1)
    except pl.exceptions.PolarsError as exc:
        if "utf-8" in str(exc).lower() and export.encoding == "utf-8":
            # The header was valid UTF-8 but a later byte is not: a Windows-1252 file.
            return read_strings(replace(
                export, encoding="mac_roman" if export.cr_only else "cp1252"))
        raise _locate_bad_record(export) or InputError(
            f"not readable as CSV ({str(exc).splitlines()[0]})", file=path) from None
    if export.encoding != "utf-8":
        notice(f"{path}: decoded as "
               f"{'Mac Roman' if export.encoding == 'mac_roman' else 'Windows-1252'} (not UTF-8)")
    if df.width - 1 != len(export.columns):
        raise _locate_bad_record(export) or InputError(
            f"the header has {len(export.columns)} fields but {df.width - 1} were read",
            file=path)
    df.columns = [SOURCE_LINE, *export.columns]
    df = _number_lines(df, _count(source, "\n", quoted=False), export)
    blank = _blank_rows(df, export.columns)
    if not _fields_add_up(df, blank, source, export):
        error = _locate_bad_record(export)
        if error:
            raise error
    return df.filter(~blank) if blank is not None else df


def _source(export: Export) -> Path | bytes:
    """What polars reads: the file itself, or Windows-1252 transcoded to UTF-8 bytes.

    polars skips a UTF-8 byte order mark itself; passing the path (not bytes read here)
    lets it map the file and parse it on every core.
    """
    path = export.path
    if _holds_nul(path):
        raise _nul_error(path, path.read_bytes())
    if export.encoding == "utf-8" and not export.cr_only:
        return path
    raw = path.read_bytes()
    if export.cr_only:  # one line break per CR, so line numbers stay those of the file
        raw = raw.replace(b"\r", b"\n")
    if export.encoding == "utf-8":
        return raw
    if raw.startswith(UTF8_BOM):
        raise InputError("starts with a UTF-8 byte order mark but is not valid UTF-8",
                         file=path)
    return _decode_legacy(raw, export.encoding, path).encode("utf-8")


def _holds_nul(path: Path) -> bool:
    with path.open("rb") as fh:
        if not fh.seek(0, 2):
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(b"\x00") != -1


def _body_text(export: Export) -> str:
    """The whole file as text without BOM (for the slow error paths only)."""
    raw = export.path.read_bytes()
    raw = raw[len(UTF8_BOM):] if raw.startswith(UTF8_BOM) else raw
    if export.encoding == "utf-8":
        return raw.decode("utf-8")
    return _decode_legacy(raw, export.encoding, export.path)


def _count(source: Path | bytes, char: str, quoted: bool) -> int:
    """Occurrences of `char` (outside quoted fields if `quoted`), plus one if the data does
    not end with it: polars' fast record counter, told that `char` ends a record, counts
    exactly that without building any column."""
    return pl.scan_csv(source, has_header=False, separator="\x01", eol_char=char,
                       quote_char='"' if quoted else None, infer_schema=False,
                       raise_if_empty=False, glob=False).select(pl.len()).collect().item()


def _ends_with(source: Path | bytes, char: str) -> bool:
    if isinstance(source, bytes):
        return source.endswith(char.encode())
    with source.open("rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return False
        fh.seek(size - 1)
        return fh.read(1) == char.encode()


def _polars_read(source: Path | bytes, sep: str, first_line: int) -> pl.DataFrame:
    """Strings, after a row number column (made while reading, so that its chunks line up
    with the others': a frame whose columns are chunked alike is never copied to align
    them). No null_values=[""]: it costs more than turning "" into null in used columns.
    glob=False: a file named `x[1].csv` is that file, not `x1.csv`."""
    return pl.read_csv(source, separator=sep, has_header=True, infer_schema=False,
                       quote_char='"', raise_if_empty=False, glob=False,
                       row_index_name=SOURCE_LINE, row_index_offset=first_line)


def _number_lines(df: pl.DataFrame, lines: int, export: Export) -> pl.DataFrame:
    """CSV line on which each record starts; fields holding newlines push later lines down.

    `lines`: the file's physical lines, a last one without newline included.
    """
    line = pl.col(SOURCE_LINE).cast(pl.Int64)
    if lines == export.header_lines + df.height:  # one line per record: the usual case
        return df.with_columns(line)
    multi = _columns_containing(df, "\n")
    extra = pl.sum_horizontal(
        [pl.col(c).str.count_matches("\n", literal=True).fill_null(0).cast(pl.Int64) for c in multi]
    ) if multi else pl.lit(0, pl.Int64)
    return df.with_columns(line + extra.cum_sum().shift(1, fill_value=0))


def _columns_containing(df: pl.DataFrame, text: str) -> list[str]:
    names = [c for c in df.columns if c != SOURCE_LINE]
    if df.height == 0 or not names:
        return []
    found = df.select(pl.col(c).str.contains(text, literal=True).any() for c in names).row(0)
    return [c for c, hit in zip(names, found) if hit]


def _empty(name: str) -> pl.Expr:
    """Null or "" (lengths only: no text is read)."""
    return pl.col(name).str.len_bytes().fill_null(0) == 0


def _blank_rows(df: pl.DataFrame, columns: tuple[str, ...]) -> pl.Series | None:
    """Rows read from empty (or whitespace-only) lines; None when there are none."""
    first, rest = columns[0], columns[1:]
    if rest and not df.select((_empty(rest[0]) & _empty(rest[-1])).any()).item():
        return None  # cheap first: a blank line leaves every other field empty, these two too
    mask = df.select(pl.all_horizontal(
        pl.col(first).is_null() | (pl.col(first).str.strip_chars() == ""),
        *[_empty(c) for c in rest])).to_series()
    return mask if mask.any() else None


def _fields_add_up(df: pl.DataFrame, blank: pl.Series | None, source: Path | bytes,
                   export: Export) -> bool:
    """Cheap proof that no record is short.

    polars raises on a long record but fills a short one with nulls, which look like empty
    fields. A last column without null proves them all complete (an empty field quoted as
    "" reads as "", so a file quoting every field needs nothing more). Else count the
    separators: every complete record (the header too) holds (fields - 1) outside quoted
    values, a blank line none.
    """
    if df.get_column(export.columns[-1]).null_count() == 0:
        return True
    records = df.height - (int(blank.sum()) if blank is not None else 0)
    sep = export.sep
    separators = _count(source, sep, quoted=True) - (0 if _ends_with(source, sep) else 1)
    return separators == (len(export.columns) - 1) * (records + 1)


def _locate_bad_record(export: Export) -> InputError | None:
    """Slow path, only after something looked wrong: walk the records to find the bad one."""
    text = _body_text(export)
    n_fields = len(export.columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=export.sep, strict=True)
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if line <= export.header_lines or not any(v.strip() for v in row):
                continue
            if len(row) != n_fields:
                how = "short or truncated line" if len(row) < n_fields else "too many fields"
                return InputError(
                    f"{how}: {len(row)} field{'s' if len(row) != 1 else ''} instead of {n_fields}",
                    file=export.path, line=line, value=_shorten(_physical_line(text, line)),
                    expected=f"{n_fields} fields separated by {export.sep!r}, "
                             "like the header")
    except csv.Error as exc:
        return InputError(
            f"malformed CSV record ({exc}; is a quote left open, or the file cut short?)",
            file=export.path, line=start, value=_shorten(_physical_line(text, start)))
    return None


def _physical_line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


# --- converting strings to typed columns ---------------------------------------------------

SPACES = " \u00a0\u202f"  # thousands separators a spreadsheet may insert (FORMATS.md §7.11)
AMOUNT_PATTERN = (
    rf"^([+-]?)(\d{{1,3}}(?:[{SPACES}]\d{{3}}){{1,4}}|\d{{1,15}})(?:[.,](\d{{1,2}}))?$"
)


def amount_cents(text: pl.Expr) -> pl.Expr:
    """`"1 234,56"`, `"-9,48"`, `"+5"`, `"50"`, `"51.1"` -> Int64 cents; anything else -> null.

    The pattern proves the shape; then the signed digits alone, read as an integer, are
    scaled by the number of decimals (0, 1 or 2). No float is ever involved.
    """
    shaped = text.str.contains(AMOUNT_PATTERN)
    digits = text.str.replace_many({c: "" for c in ".,+" + SPACES}).cast(pl.Int64, strict=False)
    separator_at = text.str.find(r"[.,]").cast(pl.Int64)
    decimals = (text.str.len_bytes().cast(pl.Int64) - separator_at - 1).fill_null(0)
    scale = pl.when(decimals == 0).then(100).when(decimals == 1).then(10).otherwise(1)
    return pl.when(shaped).then(digits * scale)


def date_value(text: pl.Expr) -> pl.Expr:
    """`YYYY-MM-DD` (as exported) or `DD/MM/YYYY` (after Excel) -> Date; 31/02 -> null."""
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%d/%m/%Y", strict=False),
    )


TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",  # the API form: 2026-01-02T09:15:31.000Z
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%d/%m/%Y %H:%M",  # after Excel
    "%d/%m/%Y %H:%M:%S",
)


def timestamp_utc(text: pl.Expr) -> pl.Expr:
    """The timestamp forms GoCardless exports (and Excel rewrites) -> Datetime(us, UTC)."""
    parsed = pl.coalesce(
        [text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in TIMESTAMP_FORMATS])
    return parsed.dt.replace_time_zone("UTC")


def yes_no(text: pl.Expr) -> pl.Expr:
    """Shine's `Oui` / `Non` (or a spreadsheet's TRUE / FALSE) -> Boolean."""
    word = text.str.to_lowercase()
    return (pl.when(word.is_in(["oui", "true", "vrai", "yes"])).then(True)
            .when(word.is_in(["non", "false", "faux", "no"])).then(False)
            .otherwise(None))


@dataclass(frozen=True)
class Field:
    """One output column: where it comes from and how it is read."""

    source: str | None  # column of the export; None = always null (absent optional column)
    parse: str = "text"  # text | amount | date | timestamp | yes_no
    required: bool = False  # an empty value is an error
    allowed: tuple[str, ...] = ()  # for text: the only values accepted


# parse -> (expression on the cleaned text, what a good value looks like)
CONVERTERS = {
    "text": (lambda text: text, None),
    "amount": (amount_cents, "an amount such as 1234.56, 1 234,56, -9,48 or 50"),
    "date": (date_value, "a date YYYY-MM-DD or DD/MM/YYYY"),
    "timestamp": (timestamp_utc, "a date and time such as 2026-01-02T09:15:31.000Z, "
                                 "2026-01-02 09:15:31 or 02/01/2026 09:15"),
    "yes_no": (yes_no, "Oui or Non"),
}
DTYPES = {"text": pl.String, "amount": pl.Int64, "date": pl.Date,
          "timestamp": pl.Datetime("us", "UTC"), "yes_no": pl.Boolean}


# Fast paths: the one form each export writes, shape checked exactly, read cheaply. Whatever
# they accept, the full converter above reads to the same value; they leave anything else
# null, and convert() passes those rows alone (blanks, spreadsheet forms, errors) to the
# full converter.

def _fast_amount(text: pl.Expr, kind: Kind) -> pl.Expr:
    """`-1234.56` (`-1234,56` for Shine), two decimals: polars' decimal parser reads it and
    the decimal's integer representation is the cents."""
    mark = kind.decimal_mark
    shaped = text.str.contains(rf"^[+-]?[0-9]{{1,15}}[{mark}][0-9][0-9]$")
    if mark != ".":
        text = text.str.replace(mark, ".", literal=True)
    cents = text.cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64)
    return pl.when(shaped).then(cents)


def _fast_date(text: pl.Expr, kind: Kind) -> pl.Expr:
    return text.str.strptime(pl.Date, "%d/%m/%Y" if kind.day_first else "%Y-%m-%d",
                             strict=False)


ISO_MILLIS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"


def _fast_timestamp(text: pl.Expr, kind: Kind) -> pl.Expr:
    """`2026-01-02T09:15:31.000Z`: polars' fixed-width parser reads the first 19 characters,
    the milliseconds are added as an integer (chrono's `%.f` is four times slower)."""
    seconds = text.str.head(19).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S",
                                             strict=False, cache=False)
    millis = text.str.slice(20, 3).cast(pl.Int64, strict=False)
    return (pl.when(text.str.contains(ISO_MILLIS))
            .then(seconds + pl.duration(milliseconds=millis)).dt.replace_time_zone("UTC"))


def _fast_yes_no(text: pl.Expr, kind: Kind) -> pl.Expr:
    return pl.when(text == "Non").then(False).when(text == "Oui").then(True)


FAST_CONVERTERS = {"text": lambda text, kind: text, "amount": _fast_amount, "date": _fast_date,
                   "timestamp": _fast_timestamp, "yes_no": _fast_yes_no}


def _nonempty(column: str) -> pl.Expr:
    """The column with "" as null: a quoted empty field is as empty as an unquoted one."""
    return pl.when(pl.col(column).str.len_bytes() > 0).then(pl.col(column))


def _present(name: str) -> pl.Expr:
    return pl.col(_raw(name)).is_not_null()  # null when empty (or blank, once trimmed)


def _raw(name: str) -> str:
    return f"__raw_{name}"


def read_fields(export: Export, fields: dict[str, Field]) -> pl.DataFrame:
    """read_strings() then convert(); the columns no field reads are let go first, so that
    the conversion reuses their memory. A field reading an optional column this file lacks
    (transaction_fee_tax in older payments exports) is always null."""
    absent = set(export.kind.optional) - set(export.columns)
    fields = {name: replace(f, source=None) if f.source in absent else f
              for name, f in fields.items()}
    sources = dict.fromkeys(f.source for f in fields.values() if f.source is not None)
    return convert(read_strings(export).select(SOURCE_LINE, *sources), fields, export)


def convert(df: pl.DataFrame, fields: dict[str, Field], export: Export) -> pl.DataFrame:
    """Typed columns named after `fields`, plus source_line; the first bad value raises.

    Every column goes through its fast path, the rows it could not read through the full
    converter; then one check finds anything non-empty that failed to convert and anything
    required left empty.
    """
    used = {name: f for name, f in fields.items() if f.source is not None}
    out = df.select(SOURCE_LINE, *(_nonempty(f.source).alias(_raw(n)) for n, f in used.items()))
    out = out.with_columns(_fast_typed(name, field, export.kind)
                           for name, field in fields.items())
    out, leftovers = _convert_leftovers(out, used)
    failed = [(_present(n) & pl.col(n).is_null()) | (~_present(n) if f.required else False)
              for n, f in used.items()]
    if failed and out.select(pl.any_horizontal(failed).any()).item():
        first = out.filter(pl.any_horizontal(failed)).row(0, named=True)
        raise _bad_value_error(first, used, export)
    _tell_about_spreadsheet_dates(leftovers, used, export)
    return out.select(*fields, SOURCE_LINE)


def _fast_typed(name: str, field: Field, kind: Kind) -> pl.Expr:
    if field.source is None:
        return pl.lit(None, DTYPES[field.parse]).alias(name)
    text = pl.col(_raw(name))
    value = FAST_CONVERTERS[field.parse](text, kind)
    if field.allowed:
        value = pl.when(text.is_in(list(field.allowed))).then(value)
    return value.alias(name)


def _convert_leftovers(out: pl.DataFrame, used: dict[str, Field]
                       ) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Rows whose text the fast path left null: the full converter reads them, trimmed.

    The trimmed text (null if blank) replaces the raw one on those rows, so the checks see
    what was read. Also returns, per column, the texts read this way.
    """
    missed = {n: pl.col(n).is_null() & pl.col(_raw(n)).is_not_null()
              for n, f in used.items() if f.parse != "text"}  # text: nothing else to try
    if not missed or not out.height:
        return out, {}
    counts = out.select(m.sum().alias(n) for n, m in missed.items()).row(0, named=True)
    leftovers = {}
    for name in (n for n, count in counts.items() if count):
        rows = out.select(pl.arg_where(missed[name])).to_series()
        trimmed = out[_raw(name)].gather(rows).str.strip_chars().to_frame("text")
        read = trimmed.select(_nonempty("text"),
                              CONVERTERS[used[name].parse][0](pl.col("text")).alias("value"))
        out = out.with_columns(out[_raw(name)].scatter(rows, read["text"]),
                               out[name].scatter(rows, read["value"]))
        leftovers[name] = read["text"]
    return out, leftovers


def _bad_value_error(row: dict, used: dict[str, Field], export: Export) -> InputError:
    """The leftmost bad value of the first failing row (only called after a failure)."""
    def bad(n: str, f: Field) -> bool:
        return (not row[_raw(n)] and f.required) or (bool(row[_raw(n)]) and row[n] is None)
    position = {c: i for i, c in enumerate(export.columns)}
    name = min((n for n, f in used.items() if bad(n, f)), key=lambda n: position[used[n].source])
    field, value = used[name], row[_raw(name)]
    if field.allowed:
        expected = "one of " + ", ".join(field.allowed)
    else:
        expected = CONVERTERS[field.parse][1] or "a value"
    if not value:
        message, value = "empty value where one is required", None
    elif field.allowed:
        message = "unknown value"
    else:
        message = f"unreadable {field.parse.replace('_', '/')}"
    return InputError(message, file=export.path, line=row[SOURCE_LINE], column=field.source,
                      value=value, expected=expected)


def _tell_about_spreadsheet_dates(leftovers: dict[str, pl.Series], used: dict[str, Field],
                                  export: Export):
    # Only leftovers can hold a "/": the fast paths of these exports read ISO forms alone.
    texts = [t for n, t in leftovers.items() if used[n].parse in ("date", "timestamp")]
    if export.kind.day_first or not texts:
        return
    if any(t.str.contains("/", literal=True).any() for t in texts):
        notice(f"{export.path}: dates written DD/MM/YYYY (resaved by a spreadsheet?); "
               "read as day first")


# --- several files of one kind -------------------------------------------------------------

FILE_RANK = "__file_rank"


def by_name(exports: list[Export]) -> list[Export]:
    """Exports of several kinds merged by name; read_all then orders them by content
    (never by modification time: `cp -p`, unzip and `rsync -a` keep old ones)."""
    return sorted(exports, key=lambda e: e.path.name)


# Non-CSV files a user may drop in an input folder, and what to do about them.
SPREADSHEET_HINT = "a spreadsheet, not an export: save it as CSV (or download the CSV again)"
HINTS = {".xlsx": SPREADSHEET_HINT, ".xls": SPREADSHEET_HINT, ".ods": SPREADSHEET_HINT,
         ".numbers": SPREADSHEET_HINT, ".zip": "an archive: unzip it here",
         ".pdf": "a PDF: download the CSV export instead"}
# noun of read_all -> the kind ALLOW_MISSING names (kinds not here are optional)
REQUIRED_KINDS = {"payment": "payments", "payout": "payouts", "bank line": "bank"}
# What the last exports_in() saw: the folder, and each file with what it is.
_scanned: dict = {"folder": None, "files": []}


def exports_in(folder: str | Path, own: tuple[Kind, ...], siblings: tuple[Kind, ...]
               ) -> dict[str, list[Export]]:
    """The folder's exports of the `own` kinds, by kind, in name order.

    Files of a sibling kind (another GoCardless export beside the payments) are left to the
    stage that reads them; any other file is an error, so nothing is silently ignored.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("a file, not a folder", file=folder,
                         expected="a folder holding the CSV exports")
    if not folder.is_dir():
        raise InputError("input folder not found", file=folder,
                         expected="a folder holding the CSV exports")
    found: dict[str, list[Export]] = {k.key: [] for k in own}
    visible = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    # Whatever has an export's suffix is read, so a folder or broken link of that name is
    # reported rather than skipped.
    paths = [p for p in visible if p.suffix.lower() in EXPORT_SUFFIXES]
    _scanned.update(folder=folder, files=[])
    for path in visible:  # anything else is named, with what to do about it
        if path not in paths:
            hint = HINTS.get(path.suffix.lower(), "not an export: not read")
            _scanned["files"].append(f"{path.name} ({hint})")
            if path.suffix.lower() in HINTS:
                notice(f"{path}: {hint}")
                provenance.note("ignored", {"file": str(path), "hint": hint})
    for path in paths:  # in name order, as `visible`
        export = sniff_markup(path) or sniff(path)
        _scanned["files"].append(f"{path.name} ({export.kind.label})")
        if export.kind in own:
            found[export.kind.key].append(export)
        elif export.kind not in siblings:
            raise InputError(f"this is a {export.kind.label}, which does not belong in {folder}",
                             file=path, expected="only the exports this folder is for")
    return found


def read_all(exports: list[Export], read: Callable[[Export], pl.DataFrame], key: list[str],
             noun: str, schema: dict, none_found: str) -> pl.DataFrame:
    """Every export read, then deduplicate()d, in `schema`'s columns.

    Without any export with rows, a required kind (REQUIRED_KINDS) is an error naming the
    folder and what it holds, unless ALLOW_MISSING names the kind: then an empty table,
    recorded as not checked (the summary says so first). An optional kind gives an empty
    table and the notice `none_found`. Exports are ordered by content (their latest date),
    not by file dates, so the export made later wins whatever its modification time."""
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing beside the parsing (no GIL)
        hashes = [pool.submit(provenance.sha256_prefix, e.path) for e in exports]
        frames = [read(e) for e in exports]
    for export, frame, sha in zip(exports, frames, hashes):
        _record(export, frame, sha.result())
    if not any(f.height for f in frames):
        _missing(exports, noun, none_found)
        return pl.DataFrame(schema=schema)
    exports, frames = by_content(exports, frames)
    return deduplicate(frames, exports, key, noun).select(list(schema))


def by_content(exports: list[Export], frames: list[pl.DataFrame]
               ) -> tuple[list[Export], list[pl.DataFrame]]:
    """Exports and their frames, the one whose content is oldest first (then by name)."""
    order = sorted(range(len(exports)), key=lambda i: (_latest(frames[i]), exports[i].path.name))
    return [exports[i] for i in order], [frames[i] for i in order]


def _record(export: Export, frame: pl.DataFrame, sha256: str) -> None:
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    first = last = None
    if dates and frame.height:
        first, last = frame.select(pl.min_horizontal(pl.col(dates).min()).alias("first"),
                                   pl.max_horizontal(pl.col(dates).max()).alias("last")).row(0)
    provenance.record_export(export.path, export.kind.label, frame.height, first, last, sha256)
    if not frame.height:
        notice(f"{export.path}: this {export.kind.label} has no rows")
        provenance.note("empty", {"file": str(export.path), "kind": export.kind.label})


def _latest(frame: pl.DataFrame) -> str:
    """The latest date or timestamp in an export (ISO text, comparable): how recent its
    content is. An export downloaded later holds the later statuses and dates."""
    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    if not temporal or not frame.height:
        return ""
    latest = frame.select(pl.max_horizontal(pl.col(c).max().cast(pl.String) for c in temporal)
                          .alias("latest")).item()
    return latest or ""


def _missing(exports: list[Export], noun: str, none_found: str) -> None:
    kind = REQUIRED_KINDS.get(noun)
    if kind is None:
        notice(none_found)
        return
    folder = _scanned["folder"]
    what = none_found.split(";")[0]  # "<folder>: no … export found"
    if exports:
        what += " with rows (" + ", ".join(e.path.name for e in exports) + ": header only)"
    seen = ", ".join(_scanned["files"]) or "nothing"
    if kind in provenance.allowed_missing():
        notice(f"{kind} not checked ({provenance.ALLOW_MISSING_VARIABLE}): {what}")
        provenance.note("missing", {"kind": kind, "folder": str(folder), "reason": what})
        return
    raise InputError(
        f"{kind} missing: {what}; found there: {seen}",
        expected=f"the {kind} export(s) of the period in {folder}, or "
                 f"{provenance.ALLOW_MISSING_VARIABLE}={kind} on the command line to "
                 "reconcile without them")


def deduplicate(frames: list[pl.DataFrame], exports: list[Export], key: list[str],
                noun: str) -> pl.DataFrame:
    """One row per `key` across files given oldest content first (by_content); the
    latest export's version wins.

    Inside one file an identical repeat is dropped, but the same id with different content
    is an error. Across files a change is normal (statuses move) and is reported on stderr.
    Returns the rows in file order with `source_file` (the export's name) and `source_line`.
    """
    df = pl.concat([f.with_columns(pl.lit(i, pl.Int64).alias(FILE_RANK))
                    for i, f in enumerate(frames)], how="vertical")
    # Distinct hashes prove distinct keys; a rare collision only takes the exact path below.
    keys = pl.struct(key) if len(key) > 1 else pl.col(key[0])
    if df.height and df.select(keys.hash().n_unique()).item() < df.height:
        content = [c for c in df.columns if c not in (*key, FILE_RANK, SOURCE_LINE)]
        df = df.with_columns(pl.struct(content).hash().alias("__content"))
        _refuse_conflicts_inside_a_file(df, exports, key, content, noun)
        df = df.unique(subset=[FILE_RANK, *key], keep="first", maintain_order=True)
        _refuse_amount_conflicts(df, exports, key, noun)
        _report_changes_across_files(df, exports, key, noun)
        df = (df.sort(FILE_RANK, SOURCE_LINE)
              .unique(subset=key, keep="last", maintain_order=True).drop("__content")
              .sort(FILE_RANK, SOURCE_LINE))  # else the frames are in this order already
    names = [e.path.name for e in exports]
    # Not a gather: replace_strict gives the new column the chunks of the others.
    source_file = pl.col(FILE_RANK).replace_strict(list(range(len(names))), names,
                                                   return_dtype=pl.String)
    return df.with_columns(source_file.alias("source_file")).drop(FILE_RANK)


def _refuse_conflicts_inside_a_file(df, exports, key, content, noun):
    clash = (df.group_by(FILE_RANK, *key)
             .agg(pl.col("__content").n_unique().alias("versions"),
                  pl.col(SOURCE_LINE).min().alias("first"))
             .filter(pl.col("versions") > 1))
    if clash.height == 0:
        return
    worst = clash.sort(FILE_RANK, "first").row(0, named=True)
    same = pl.col(FILE_RANK) == worst[FILE_RANK]
    for k in key:
        same = same & pl.col(k).eq_missing(worst[k])
    rows = df.filter(same).sort(SOURCE_LINE)
    first = rows.row(0, named=True)
    other = next(r for r in rows.iter_rows(named=True) if r["__content"] != first["__content"])
    column = next(c for c in content if first[c] != other[c])
    ident = " / ".join(str(worst[k]) for k in key)
    raise InputError(
        f"{noun} {ident} appears on lines {first[SOURCE_LINE]} and {other[SOURCE_LINE]} with "
        f"different content ({column} is {first[column]!r} on line {first[SOURCE_LINE]}); "
        f"one export cannot hold two versions of one {noun}",
        file=exports[worst[FILE_RANK]].path, line=other[SOURCE_LINE], column=column,
        value=other[column], expected=f"one row per {noun}, or identical repeats")


def _refuse_amount_conflicts(df, exports, key, noun):
    """A status may move between two exports; the amount of one id may not."""
    if "amount_cents" not in df.columns:
        return
    clash = (df.group_by(key, maintain_order=True)
             .agg(pl.col("amount_cents").n_unique().alias("amounts"))
             .filter(pl.col("amounts") > 1))
    if clash.height == 0:
        return
    rows = df.join(clash.head(1).select(key), on=key, how="semi", nulls_equal=True)
    rows = rows.unique(subset=["amount_cents"], keep="first", maintain_order=True).head(2)
    (a_file, a_amount, a_line), (b_file, b_amount, b_line) = rows.select(
        FILE_RANK, "amount_cents", SOURCE_LINE).rows()
    ident = " / ".join(str(v) for v in clash.row(0)[:len(key)])
    raise InputError(
        f"{noun} {ident} has amount {a_amount / 100:.2f} in {exports[a_file].path} "
        f"(line {a_line}) but {b_amount / 100:.2f} in {exports[b_file].path}; two exports "
        f"cannot disagree on the amount of one {noun}",
        file=exports[b_file].path, line=b_line, column="amount", value=f"{b_amount / 100:.2f}",
        expected="the same amount in every export (remove the wrong export)")


def _report_changes_across_files(df, exports, key, noun):
    changed = (df.group_by(key, maintain_order=True)
               .agg(pl.col("__content").n_unique().alias("versions"))
               .filter(pl.col("versions") > 1))
    if changed.height == 0:
        return
    ids = [" / ".join(str(v) for v in row) for row in changed.select(key).iter_rows()]
    listed = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    notice(f"{len(ids)} {noun}(s) differ between the {len(exports)} exports; the export with "
           f"the latest dates ({exports[-1].path.name}) wins for: {listed}")
