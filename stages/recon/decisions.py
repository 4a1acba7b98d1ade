"""decisions.yaml: what a person settled about lines the rules left open, read and checked.

The file belongs to the user (versioned, never written by the pipeline). It is a list of
entries, each naming what it decides by a stable id, what was decided, and why:

    - payment: PM01ABCDEF0123      # link a GoCardless payment to an invoice
      invoice: FA2601-0012         #   (or a list of refs: one payment for several)
      note: the customer confirmed by phone
      by: claire                   # optional
      on: 2026-02-03               # optional
    - payment: PM01ABCDEF0456      # not an invoice payment
      ignore: a deposit for a future order
    - invoice: FA2601-0030         # paid another way
      settled: paid by cheque on 2026-01-20
    - bank: 6b1f0c9e-...           # a bank line that is no payout
      ignore: capital increase
    - bank: 2a77...                # a bank line that is this payout
      payout: PO0123ABCD
      note: the payout reference was cut from the label

The whole file is checked before any of it is used: a bad entry is an InputError naming
its line, what is wrong and an example of the right form; an id decided twice names both
lines. load() returns one small frame per form; the passes apply them (recon.apply_decisions).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from recon.errors import InputError

DECISION = "decision"  # the match_type of every row a decision settled
IGNORED, SETTLED_OUTSIDE = "IGNORED", "SETTLED_OUTSIDE"  # recon/flags.py

EXAMPLES = {
    "payment+invoice": "{payment: PM01ABCDEF0123, invoice: FA2601-0012, note: the customer "
                       "confirmed it by phone}",
    "payment+ignore": "{payment: PM01ABCDEF0456, ignore: a deposit for a future order}",
    "invoice+settled": "{invoice: FA2601-0030, settled: paid by cheque on 2026-01-20}",
    "bank+ignore": "{bank: 6b1f0c9e-..., ignore: capital increase}",
    "bank+payout": "{bank: 2a77..., payout: PO0123ABCD, note: reference cut from the label}",
}
ANY_FORM = "one of the five forms, e.g. " + "; ".join(f"- {e}" for e in EXAMPLES.values())
SUBJECTS = ("payment", "bank", "invoice")
VERBS = ("invoice", "ignore", "settled", "payout")
OPTIONAL = ("note", "by", "on")
# subject -> verb -> form (the `invoice` key is a verb beside `payment`, else the subject)
FORMS = {
    "payment": {"invoice": "payment+invoice", "ignore": "payment+ignore"},
    "invoice": {"settled": "invoice+settled"},
    "bank": {"ignore": "bank+ignore", "payout": "bank+payout"},
}

Str, Int = pl.String, pl.Int64
_COMMON = {"line": Int, "reason": Str, "by": Str, "on": Str, "decision": Str}
SCHEMAS = {
    "payment+invoice": {"gc_payment_id": Str, "invoice_ref": Str, "refs": Int, **_COMMON},
    "payment+ignore": {"gc_payment_id": Str, **_COMMON},
    "invoice+settled": {"invoice_ref": Str, **_COMMON},
    "bank+ignore": {"bank_transaction_id": Str, **_COMMON},
    "bank+payout": {"bank_transaction_id": Str, "payout_id": Str, **_COMMON},
}


@dataclass(frozen=True)
class Decisions:
    """One frame per form; `decision` holds the evidence text "decision: <reason> (...)".

    `links` has one row per (payment, invoice ref); `refs` counts the payment's refs.
    """
    path: str
    links: pl.DataFrame
    ignored_payments: pl.DataFrame
    settled_invoices: pl.DataFrame
    ignored_bank: pl.DataFrame
    bank_payouts: pl.DataFrame

    @property
    def count(self) -> int:
        return (self.links["gc_payment_id"].n_unique() + self.ignored_payments.height
                + self.settled_invoices.height + self.ignored_bank.height
                + self.bank_payouts.height)


def add_argument(parser) -> None:
    """--decisions, which every pass and the report take."""
    parser.add_argument("--decisions", default=None,
                        help="decisions.yaml (a missing file means no decisions)")


def none(path: str | Path = "decisions.yaml") -> Decisions:
    """No decisions (the file is absent)."""
    return _frames(str(path), {form: [] for form in SCHEMAS})


def load(path: str | Path | None) -> Decisions:
    """The decisions of `path`, checked as a whole; no file (or no path) is no decisions."""
    if path is None or not Path(path).is_file():
        return none(path or "decisions.yaml")
    text = Path(path).read_text(encoding="utf-8")
    loader = _LineLoader(text)
    loader.name = str(path)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"not valid YAML ({problem})", file=path,
                         line=mark.line + 1 if mark else None,
                         expected="a list of entries such as - " + EXAMPLES["payment+ignore"]
                         ) from None
    finally:
        loader.dispose()
    if document is None:
        return none(path)
    if not isinstance(document, _Items):
        raise InputError("the file must be a list of entries, each starting with '- '",
                         file=path, line=getattr(document, "line", 1), expected=ANY_FORM)
    rows: dict[str, list[dict]] = {form: [] for form in SCHEMAS}
    for entry, line in zip(document, document.lines):
        form, row = _entry(entry, line, path)
        rows[form].extend(row)
    _no_id_twice(rows, path)
    return _frames(str(path), rows)


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that keeps the lines of entries and of list items, refuses a key given
    twice in one entry, and keeps scalars as the text typed: an id such as 0012 or a key
    such as `on` is not turned into a number or a boolean (YAML 1.1 would)."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        mapping = _Entry()
        mapping.line, mapping.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self._value(key_node)
            key = key if isinstance(key, str) else str(key)
            line = key_node.start_mark.line + 1
            if key in mapping.key_lines:
                raise InputError(
                    f"the key '{key}' appears twice in one entry (also on line "
                    f"{mapping.key_lines[key]}); keep one (several invoices for one payment "
                    "are written as a list)", file=self.name, line=line,
                    expected="e.g. - {payment: PM01ABCDEF0123, invoice: [FA2601-0014, "
                             "FA2601-0015], note: one payment for both}")
            mapping.key_lines[key] = line
            mapping[key] = self._value(value_node)
        return mapping

    def construct_sequence(self, node, deep=False):
        items = _Items(self._value(child) for child in node.value)
        items.lines = [child.start_mark.line + 1 for child in node.value]
        return items

    def _value(self, node):
        if isinstance(node, yaml.ScalarNode):
            return None if node.tag == "tag:yaml.org,2002:null" else node.value
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node)
        return self.construct_mapping(node)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


class _Entry(dict):
    line: int = 0
    key_lines: dict = {}


class _Items(list):
    lines: list = []


def _entry(entry, line: int, path) -> tuple[str, list[dict]]:
    """One entry as (form, rows), or an InputError saying what is wrong with it."""
    if not isinstance(entry, _Entry):
        raise InputError("this entry is not a mapping of keys to values", file=path,
                         line=line, value=entry, expected=ANY_FORM)

    def fail(message: str, example: str = ANY_FORM, value=None):
        raise InputError(message, file=path, line=line, value=value,
                         expected=example if example == ANY_FORM else f"e.g. - {example}")

    unknown = [k for k in entry if k not in (*SUBJECTS, *VERBS, *OPTIONAL)]
    if unknown:
        fail(f"unknown key '{unknown[0]}' (keys are payment, invoice, bank, ignore, settled, "
             "payout, note, by, on)")
    subject = next((s for s in ("payment", "bank") if s in entry), None)
    if subject is None and "invoice" in entry:
        subject = "invoice"
    if subject is None:
        fail("the entry names nothing to decide about (payment, invoice or bank)")
    if "payment" in entry and "bank" in entry:
        fail("an entry decides about one thing: a payment or a bank line, not both")
    verbs = [v for v in VERBS if v in entry and v != subject]
    forms = FORMS[subject]
    if len(verbs) != 1 or verbs[0] not in forms:
        said = " and ".join(f"'{v}'" for v in verbs) or "nothing"
        fail(f"a {subject} entry takes {' or '.join(repr(v) for v in forms)}, and this one "
             f"says {said}", EXAMPLES[next(iter(forms.values()))])
    form = forms[verbs[0]]
    example = EXAMPLES[form]
    subject_id = _text(entry[subject])
    if not subject_id:
        fail(f"'{subject}' needs an id", example, entry[subject])
    reason = "; ".join(t for t in (_text(entry.get(verbs[0])) if verbs[0] in ("ignore", "settled")
                                   else "", _text(entry.get("note"))) if t)
    if not reason:
        where = "'note'" if verbs[0] in ("invoice", "payout") else f"'{verbs[0]}'"
        fail(f"the entry gives no reason ({where} is missing or empty)", example)
    by = _text(entry.get("by")) or None
    on_text = _text(entry.get("on")) or None
    if on_text is not None:
        try:
            on_text = date.fromisoformat(on_text).isoformat()
        except ValueError:
            fail("'on' is not a date as YYYY-MM-DD", example, entry.get("on"))
    common = {"line": line, "reason": reason, "by": by, "on": on_text,
              "decision": _evidence(reason, by, on_text)}
    if form == "payment+invoice":
        given = entry["invoice"]
        refs = [_text(r) for r in (given if isinstance(given, list) else [given])]
        if not refs or not all(refs):
            fail("'invoice' must be an invoice ref or a list of refs", example, entry["invoice"])
        if len({r.upper() for r in refs}) != len(refs):
            fail("the same invoice ref appears twice in the list", example, entry["invoice"])
        return form, [{"gc_payment_id": subject_id, "invoice_ref": r, "refs": len(refs),
                       **common} for r in refs]
    if form == "payment+ignore":
        return form, [{"gc_payment_id": subject_id, **common}]
    if form == "invoice+settled":
        return form, [{"invoice_ref": subject_id, **common}]
    if form == "bank+ignore":
        return form, [{"bank_transaction_id": subject_id, **common}]
    payout = _text(entry["payout"])
    if not payout:
        fail("'payout' needs a payout id", example, entry["payout"])
    return form, [{"bank_transaction_id": subject_id, "payout_id": payout, **common}]


def _text(value) -> str:
    """A scalar as trimmed text; "" for nothing, a list or a mapping."""
    return "" if value is None or isinstance(value, (dict, list)) else str(value).strip()


def _evidence(reason: str, by: str | None, on: str | None) -> str:
    """What every decided row's evidence says: "decision: <reason> (<by>, <on>)"."""
    who = ", ".join(x for x in (by, on) if x)
    return f"decision: {reason}" + (f" ({who})" if who else "")


# What one id may be decided about once: (form(s), id column, how ids compare, words).
_ONCE = [
    (("payment+invoice", "payment+ignore"), "gc_payment_id", str.strip, "payment"),
    (("invoice+settled",), "invoice_ref", str.upper, "invoice"),
    (("bank+ignore", "bank+payout"), "bank_transaction_id", str.strip, "bank line"),
    (("bank+payout",), "payout_id", str.strip, "payout"),
]


def _no_id_twice(rows: dict[str, list[dict]], path) -> None:
    for forms, column, key, words in _ONCE:
        first: dict[str, int] = {}
        # A link's rows share their entry (one per ref): one id, one line.
        entries = {(r[column], r["line"]): r for form in forms for r in rows[form]}
        for row in sorted(entries.values(), key=lambda r: r["line"]):
            k = key(row[column])
            if k in first:
                raise InputError(
                    f"{words} {row[column]} is decided twice, on lines {first[k]} and "
                    f"{row['line']}", file=path, line=row["line"],
                    expected="one entry per id (merge them, or delete one)")
            first[k] = row["line"]


def _frames(path: str, rows: dict[str, list[dict]]) -> Decisions:
    frames = {form: pl.DataFrame(rows[form], schema=schema, orient="row")
              for form, schema in SCHEMAS.items()}
    return Decisions(path=path, links=frames["payment+invoice"],
                     ignored_payments=frames["payment+ignore"],
                     settled_invoices=frames["invoice+settled"],
                     ignored_bank=frames["bank+ignore"], bank_payouts=frames["bank+payout"])


def cannot_hold(path: str, rows: pl.DataFrame, why: pl.Expr | str) -> None:
    """Raise an InputError for the first decision in `rows` (with `line`) that cannot hold."""
    if rows.is_empty():
        return
    why = pl.lit(why) if isinstance(why, str) else why
    first = rows.sort("line").select("line", why=why).row(0, named=True)
    raise InputError(f"this decision cannot hold: {first['why']}", file=path,
                     line=first["line"])
