"""config.yaml, read and validated in one place, with the overrides the README documents.

Precedence: command line > environment > .env > config.yaml (recon.settings). The whole
file is checked against SCHEMA: an unknown key is an error naming the closest known one,
a value of the wrong type is an error naming the key; what the file leaves out takes the
default. Adding a setting is one line in SCHEMA.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import yaml

from recon import settings
from recon.errors import InputError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"

# Environment variable -> (section, key) it overrides; all are integers.
ENV_OVERRIDES = {
    "RECONCILIATION_DATE_TOLERANCE": ("matching", "date_tolerance_days"),
    "RECONCILIATION_PAYOUT_TOLERANCE": ("matching", "payout_date_tolerance_days"),
    "DOLIBARR_GC_PAYMENT_ID": ("fix", "payment_type_id"),
    "DOLIBARR_BANK_ACCOUNT_ID": ("fix", "bank_account_id"),
    "DOLIBARR_CLEARING_ACCOUNT_ID": ("fix", "clearing_account_id"),
}

INT, NUMBER, BOOL, TEXT, WORDS = "whole number", "number", "true or false", "text", "list"
ANY = "any value"
# section -> key -> (kind, default). A default of None means "not set": the key is then
# left out unless given (its reader decides), and null is allowed.
SCHEMA: dict[str, dict[str, tuple[str, object]]] = {
    "matching": {
        "date_tolerance_days": (INT, 7),
        "payout_date_tolerance_days": (INT, 2),
        "invoice_ref_pattern": (TEXT, r"(?:FA|AV|AC|IN|IC|ID|IR)\d{4}-\d{4,}"),
        "legal_forms": (WORDS, ["sarl", "sas", "sasu", "eurl", "sa", "sci", "snc", "selarl",
                                "scop", "ltd", "gmbh"]),
        "max_invoices_per_payment": (INT, 4),
        "transfer_days_after_due": (INT, 30),
        # groups of words meaning the same in names; checked in detail by match_common
        "name_equivalents": (ANY, [["&", "et", "and"]]),
    },
    "bank": {
        "iban": (TEXT, ""),
        "gocardless_label": (TEXT, "gocardless"),
    },
    "dolibarr": {
        "lookback_days": (INT, 120),
        "page_size": (INT, 100),
        "parallel_pages": (INT, 4),
        "connect_timeout_seconds": (NUMBER, 5),
        "read_timeout_seconds": (NUMBER, 60),
        "retries": (INT, 4),
        "retry_backoff_seconds": (NUMBER, 0.2),
        "max_age_minutes": (NUMBER, 60),
    },
    "fix": {
        "allow_soft": (BOOL, False),
        "allow_multi_invoice": (BOOL, False),
        "payment_type_id": (INT, 3),
        "bank_account_id": (INT, 1),
        "allow_transfers": (BOOL, False),
        "transfer_payment_type_id": (INT, 2),
        "transfer_bank_account_id": (INT, None),
        "clearing_account_id": (INT, None),
        "require_payout_in_bank": (BOOL, True),
    },
    "report": {
        "language": (TEXT, "fr"),
        "gocardless_dashboard_url": (TEXT, "https://manage.gocardless.com"),
    },
}


def load(path: str | Path | None = None) -> dict:
    """The configuration as nested dicts, validated, defaults filled in, overrides applied
    (after .env has filled the environment's gaps)."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        settings.apply_dotenv()
    except settings.DotenvError as exc:
        raise InputError(str(exc)) from None
    config = validate(_read(path), path)
    for var, (section, key) in ENV_OVERRIDES.items():
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            raise InputError(
                f"environment variable {var} must be a whole number", value=raw
            ) from None
        config[section][key] = value
    return config


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("configuration file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("a folder, not a configuration file", file=path,
                         expected="CONFIG naming a YAML file such as config.yaml") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start})", file=path,
                         expected="a YAML file saved as UTF-8") from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path,
                         expected="a configuration file this user may read") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at character {mark.column + 1}" if mark is not None else ""
        raise InputError(f"not valid YAML: {problem}{where}", file=path,
                         line=mark.line + 1 if mark is not None else None,
                         expected="YAML as in the project's config.yaml (spaces, not tabs, "
                                  "for indentation; brackets and quotes closed)") from None


def validate(config: object, path: Path) -> dict:
    """`config` checked against SCHEMA, as a new dict with every section and default."""
    if not isinstance(config, dict):
        raise InputError("not a mapping of sections", file=path, value=type(config).__name__,
                         expected="sections such as matching:, bank:, dolibarr:, fix:")
    checked = {}
    for section, keys in SCHEMA.items():
        given = config.get(section)
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise InputError(f"section {section}: is not a mapping of settings", file=path,
                             value=given, expected=f"keys such as {next(iter(keys))}:")
        for key in given:
            if key not in keys:
                raise _unknown(f"{section}.{key}", key, keys, path)
        checked[section] = {key: _checked(f"{section}.{key}", given.get(key, default), kind,
                                          default, path)
                            for key, (kind, default) in keys.items()
                            if key in given or default is not None}
    for section in config:
        if section not in SCHEMA:
            raise _unknown(str(section), str(section), SCHEMA, path)
    return checked


def _unknown(name: str, key: str, known, path: Path) -> InputError:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return InputError(f"unknown setting {name}{hint}", file=path,
                      expected="one of " + ", ".join(known))


def _checked(name: str, value: object, kind: str, default: object, path: Path) -> object:
    if value is None and default is None:
        return None
    ok = {
        INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        NUMBER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        BOOL: lambda v: isinstance(v, bool),
        TEXT: lambda v: isinstance(v, str),
        WORDS: lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v),
        ANY: lambda v: True,
    }[kind](value)
    if not ok:
        expected = "a list of words" if kind == WORDS else f"a {kind}" if kind != BOOL else kind
        raise InputError(f"setting {name} has the wrong type", file=path, value=value,
                         expected=expected)
    return value
