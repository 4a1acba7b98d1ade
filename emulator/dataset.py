"""The emulator's in-memory Dolibarr: a dataset folder loaded once, then read and written.

A dataset folder holds `invoices.json` and `thirdparties.json` (JSON arrays of objects as
the API returns them, full or slim), and optionally `payments.json`
(`{"<invoice id>": [payment lines as GET /invoices/{id}/payments returns them]}`),
`bankaccounts.json` and `payment_types.json` (defaults: the ones captured from the lab).

Dates: invoice DATE fields are Unix timestamps of midnight in whatever timezone produced
the file. They are kept as calendar dates (rounded to the nearest UTC midnight) and served
as midnight in the emulator's timezone, as a Dolibarr server in that timezone would.
Payment-list dates ("YYYY-MM-DD HH:MM:SS") are read as UTC and served in local time.

Money: JSON floats are read as Decimal and all arithmetic is Decimal; a Decimal becomes a
JSON number only when a response is encoded (see `encode`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULTS_DIR = Path(__file__).parent / "defaults"
EPOCH = date(1970, 1, 1)
# Invoice fields that are DATE columns in the database (served as local midnight).
DATE_FIELDS = ("date", "date_lim_reglement", "date_validation")
CENT = Decimal("0.01")


class DatasetError(Exception):
    """A dataset folder that cannot be served (missing file, bad JSON, object without id)."""


# --- encoding and number formats ---------------------------------------------------------

def _json_default(value):
    """Decimals leave as JSON numbers: an int when whole, else the shortest decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(payload, production: bool = False) -> bytes:
    """Dolibarr's JSON: raw UTF-8, pretty-printed (4 spaces) unless in production mode."""
    if production:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    else:
        text = json.dumps(payload, ensure_ascii=False, indent=4, default=_json_default)
    return text.encode("utf-8")


def as_served(payload):
    """A plain copy of what a client would decode (Decimals become ints/floats)."""
    return json.loads(encode(payload, production=True))


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read JSON ({exc})") from None


def to_decimal(value, default: Decimal = Decimal(0)) -> Decimal:
    """A Dolibarr amount (string, int or Decimal; None or '' counts as `default`)."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return default


def shortest(amount: Decimal) -> str:
    """PHP price2num(x, 'MT') printed: 2 decimals at most, no trailing zeros ("39.9", "0")."""
    rounded = amount.quantize(CENT)
    if rounded == 0:
        return "0"
    return format(rounded.normalize(), "f")


def amount8(amount: Decimal) -> str:
    """An amount column as the API prints it: 8 decimals ("60.00000000")."""
    return format(amount.quantize(Decimal("0.00000001")), "f")


def json_number(amount: Decimal) -> Decimal:
    """totalpaid is a JSON number: whole values come out as ints thanks to `encode`."""
    return amount.quantize(CENT).normalize() if amount != 0 else Decimal(0)


# --- dates -------------------------------------------------------------------------------

def utc_day(timestamp: int) -> date:
    """The calendar date of a midnight timestamp from any timezone: the nearest UTC midnight."""
    return EPOCH + timedelta(days=(int(timestamp) + 43200) // 86400)


def local_midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp())


def local_text(timestamp: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d %H:%M:%S")


def utc_timestamp_from_text(text: str) -> int:
    """A "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD") payment date read as UTC."""
    parsed = datetime.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S" if len(text.strip()) > 10 else "%Y-%m-%d")
    return int(parsed.replace(tzinfo=timezone.utc).timestamp())


# --- the store ---------------------------------------------------------------------------

@dataclass
class PaymentLine:
    """One invoice's share of one payment (a row of GET /invoices/{id}/payments)."""

    payment_id: int
    amount: Decimal
    type_code: str
    timestamp: int
    num: str
    ref: str
    ref_ext: str
    bank_line: str
    typeline: str = "payment"

    def served(self, zone: ZoneInfo) -> dict:
        return {
            "amount": amount8(self.amount),
            "type": self.type_code,
            "typeline": self.typeline,
            "date": local_text(self.timestamp, zone),
            "num": self.num,
            "ref": self.ref,
            "ref_ext": self.ref_ext,
            "fk_bank_line": self.bank_line,
        }


REF_COUNTER = re.compile(r"-(\d+)$")


class Dataset:
    """Invoices, third parties, payments and reference data, keyed by integer id."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        self.invoices: dict[int, dict] = self._load_objects(folder / "invoices.json")
        self.thirdparties: dict[int, dict] = self._load_objects(folder / "thirdparties.json")
        self.days: dict[int, dict[str, date]] = {i: self._extract_days(o) for i, o in self.invoices.items()}
        self.bankaccounts: list[dict] = self._load_optional(folder, "bankaccounts.json")
        self.payment_types: list[dict] = self._load_optional(folder, "payment_types.json")
        self.payments: dict[int, list[PaymentLine]] = self._load_payments(folder / "payments.json")
        from .bank import load_lines  # bank.py reads this module's helpers
        lines_path = folder / "banklines.json"
        self.bank_lines, self.dangling_links = load_lines(read_json(lines_path) if lines_path.is_file() else [])
        self.allow_line_deletion = False  # BANK_ALLOW_TRANSACTION_DELETION_EVEN_IF_IN_ACCOUNTING
        self._init_counters()

    @staticmethod
    def _load_objects(path: Path) -> dict[int, dict]:
        if not path.is_file():
            raise DatasetError(f"{path}: missing (a dataset folder needs invoices.json and thirdparties.json)")
        items = read_json(path)
        if not isinstance(items, list):
            raise DatasetError(f"{path}: expected a JSON array of objects")
        objects = {}
        for position, item in enumerate(items, start=1):
            if not isinstance(item, dict) or not str(item.get("id", "")).isdigit():
                raise DatasetError(f"{path}: item {position} has no numeric \"id\"")
            objects[int(item["id"])] = item
        return dict(sorted(objects.items()))

    @staticmethod
    def _load_optional(folder: Path, name: str) -> list[dict]:
        path = folder / name
        return read_json(path if path.is_file() else DEFAULTS_DIR / name)

    @staticmethod
    def _extract_days(invoice: dict) -> dict[str, date]:
        """Calendar dates of the DATE fields that hold a timestamp ("" and null stay as is)."""
        return {
            field: utc_day(invoice[field])
            for field in DATE_FIELDS
            if isinstance(invoice.get(field), (int, Decimal)) and not isinstance(invoice.get(field), bool)
        }

    def _load_payments(self, path: Path) -> dict[int, list[PaymentLine]]:
        if not path.is_file():
            return {}
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise DatasetError(f"{path}: expected an object {{\"<invoice id>\": [payments]}}")
        ids_by_ref: dict[str, int] = {}
        loaded: dict[int, list[PaymentLine]] = {}
        for key, lines in raw.items():
            if not str(key).isdigit() or not isinstance(lines, list):
                raise DatasetError(f"{path}: key {key!r} must be an invoice id holding a list")
            loaded[int(key)] = [self._payment_from_file(path, line, ids_by_ref) for line in lines]
        return loaded

    @staticmethod
    def _payment_from_file(path: Path, line: dict, ids_by_ref: dict[str, int]) -> PaymentLine:
        try:
            ref = str(line.get("ref") or "")
            payment_id = ids_by_ref.setdefault(ref or f"#{len(ids_by_ref)}", len(ids_by_ref) + 1)
            return PaymentLine(
                payment_id=payment_id,
                amount=to_decimal(line["amount"]),
                type_code=str(line.get("type") or ""),
                timestamp=utc_timestamp_from_text(str(line["date"])),
                num=str(line.get("num") or ""),
                ref=ref,
                ref_ext=str(line.get("ref_ext") or ""),
                bank_line=str(line.get("fk_bank_line") or ""),
                typeline=str(line.get("typeline") or "payment"),
            )
        except (KeyError, ValueError, AttributeError) as exc:
            raise DatasetError(f"{path}: bad payment line {line!r} ({exc})") from None

    def _init_counters(self) -> None:
        lines = [line for group in self.payments.values() for line in group]
        ref_numbers = [int(m.group(1)) for line in lines if (m := REF_COUNTER.search(line.ref))]
        bank_lines = [int(line.bank_line) for line in lines if line.bank_line.isdigit()]
        self.next_payment_id = max([line.payment_id for line in lines], default=0) + 1
        self.next_payment_ref = max(ref_numbers, default=0) + 1
        bank_lines += list(self.bank_lines) + list(self.dangling_links)
        self.next_bank_line = max(bank_lines, default=0) + 1
        self.next_account_id = max(self.bank_account_ids(), default=0) + 1
        validated = [int(m.group(1)) for o in self.invoices.values()
                     if (m := re.fullmatch(r"FA\d{4}-(\d+)", str(o.get("ref") or "")))]
        self.next_invoice_ref = max(validated, default=0) + 1

    # --- reads --------------------------------------------------------------------------

    def invoice_view(self, invoice_id: int, zone: ZoneInfo) -> dict:
        """A shallow copy of the stored invoice with its dates as local midnight."""
        view = dict(self.invoices[invoice_id])
        for field, day in self.days[invoice_id].items():
            view[field] = local_midnight(day, zone)
        return view

    def bank_account_ids(self) -> set[int]:
        return {int(a["id"]) for a in self.bankaccounts if str(a.get("id", "")).isdigit()}

    def payment_code(self, payment_type_id: int) -> str:
        for entry in self.payment_types:
            if str(entry.get("id")) == str(payment_type_id):
                return str(entry.get("code") or "")
        return ""
