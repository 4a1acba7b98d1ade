"""config.yaml, read in one place, with the environment overrides the README documents."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

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


def load(path: str | Path | None = None) -> dict:
    """The configuration as nested dicts, environment overrides applied."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at character {mark.column + 1}" if mark is not None else ""
        raise InputError(f"not valid YAML: {problem}{where}", file=path,
                         line=mark.line + 1 if mark is not None else None,
                         expected="YAML as in the project's config.yaml (spaces, not tabs, "
                                  "for indentation; brackets and quotes closed)") from None
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
        config.setdefault(section, {})[key] = value
    return config
