"""What a report was made from: recorded by the stages that read inputs, assembled for the
report.

The parsers (through csvread.read_all) and fetch_dolibarr record what they read in this
process: each export's file, kind, rows, dates covered and SHA-256 prefix; the Dolibarr
source, when it was fetched; the inputs missing (ALLOW_MISSING), empty or not recognised.
io.write_parquet writes that record beside its Parquet (`<name>.sources.json`). The report
assembles the sidecars of its inputs with the window, the config in force and the project
version: `assemble()` returns a plain dict (provenance_<W>.json, and what an HTML or xlsx
report shows), `text_lines()` the summary's opening lines.
"""
from __future__ import annotations

import json
import os
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

from recon import stamps

SIDECAR_SUFFIX = ".sources.json"
ALLOW_MISSING_VARIABLE = "ALLOW_MISSING"
SHA_PREFIX = 12

# What this process read; empty until a stage records something.
RECORD: dict[str, list] = {"exports": [], "dolibarr": [], "missing": [], "empty": [],
                           "ignored": []}


def allowed_missing() -> set[str]:
    """The kinds the user allowed to be missing: ALLOW_MISSING=bank,payouts."""
    raw = os.environ.get(ALLOW_MISSING_VARIABLE, "")
    return {word.strip().lower() for word in raw.split(",") if word.strip()}


def sha256_prefix(path: str | Path) -> str:
    return stamps.sha256_of(path)[:SHA_PREFIX]


def record_export(path: Path, label: str, rows: int, first: object, last: object,
                  sha256: str) -> None:
    """`sha256`: sha256_prefix(path), which csvread works out beside the parsing."""
    RECORD["exports"].append({
        "file": str(path), "kind": label, "rows": rows,
        "dates": [_iso(first), _iso(last)] if first is not None else None,
        "sha256": sha256})


def record_dolibarr(source: dict) -> None:
    RECORD["dolibarr"].append(source)


def note(kind: str, entry: dict) -> None:
    """`missing`, `empty` or `ignored` inputs, told in the summary."""
    RECORD[kind].append(entry)


def write_sidecar(parquet: Path) -> None:
    """The record of this process beside `parquet` (nothing when nothing was recorded, and
    never beside a temporary file)."""
    parquet = Path(parquet)
    if parquet.name.startswith(".") or not any(RECORD.values()):
        return
    target = parquet.with_name(parquet.name + SIDECAR_SUFFIX)
    tmp = target.with_name("." + target.name + ".tmp")
    tmp.write_text(json.dumps(RECORD, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    for entries in RECORD.values():  # written once: a second main() in one process starts anew
        entries.clear()


def _iso(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


# --- assembling -----------------------------------------------------------------------------

def read_sidecars(paths: list[Path]) -> dict[str, list]:
    merged: dict[str, list] = {k: [] for k in RECORD}
    for path in paths:
        sidecar = Path(str(path) + SIDECAR_SUFFIX)
        try:
            record = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for kind, entries in record.items():
            for entry in entries:
                if entry not in merged.setdefault(kind, []):
                    merged[kind].append(entry)
    return merged


def git_describe() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def for_window(interim: Path, date_from: date, date_to: date, config: dict | None) -> dict:
    """The provenance of a window's report, from the sidecars of the parsed inputs in
    `interim` (the folder of the passes)."""
    inputs = [interim / name for name in ("gc_payments.parquet", "gc_payouts.parquet",
                                          "bank.parquet", f"invoices_{date_from}_{date_to}.parquet")]
    return assemble(inputs, date_from, date_to, config)


def assemble(inputs: list[Path], date_from: date, date_to: date, config: dict | None,
             now: datetime | None = None) -> dict:
    """The provenance of a window's report, as a plain dict (JSON-ready)."""
    now = now or datetime.now(timezone.utc)
    record = read_sidecars(inputs)
    dolibarr = []
    for source in record.get("dolibarr", []):
        source = dict(source)
        fetched = source.get("fetched_at")
        if fetched:
            try:
                age = now - datetime.fromisoformat(fetched)
                source["age_minutes"] = int(age.total_seconds() // 60)
            except ValueError:
                pass
        dolibarr.append(source)
    return {
        "window": {"from": date_from.isoformat(), "to": date_to.isoformat()},
        "dolibarr": dolibarr,
        "exports": record.get("exports", []),
        "not_checked": record.get("missing", []),
        "empty_exports": record.get("empty", []),
        "ignored_files": record.get("ignored", []),
        "config": config,
        "version": git_describe(),
        "made_at": now.isoformat(timespec="seconds"),
    }


def text_lines(prov: dict) -> list[str]:
    """The summary's opening lines: what was not checked first, then what it was made from."""
    lines = []
    for missing in prov["not_checked"]:
        lines.append(f"NOT CHECKED: {missing['kind']} — {missing['reason']} "
                     f"({ALLOW_MISSING_VARIABLE}={os.environ.get(ALLOW_MISSING_VARIABLE, '') or missing['kind']})")
    window = prov["window"]
    lines.append(f"Window {window['from']} .. {window['to']}; version {prov['version']}")
    for source in prov["dolibarr"]:
        where = source.get("url") or source.get("snapshot")
        age = source.get("age_minutes")
        when = (f", fetched {source['fetched_at']} ({age} min ago)" if age is not None
                else f", fetched {source['fetched_at']}" if source.get("fetched_at") else
                ", fetch time unknown")
        lines.append(f"Dolibarr: {where}{when}; {source.get('invoices', '?')} invoices")
    for export in prov["exports"]:
        dates = export.get("dates")
        covered = f"{dates[0]} .. {dates[1]}" if dates else "no dates"
        lines.append(f"Export: {export['file']} ({export['kind']}), {export['rows']} rows, "
                     f"{covered}, sha256 {export['sha256']}")
    for empty in prov["empty_exports"]:
        lines.append(f"EMPTY: {empty['file']} ({empty['kind']}) has no rows")
    for ignored in prov["ignored_files"]:
        lines.append(f"IGNORED: {ignored['file']}: {ignored['hint']}")
    config = prov.get("config") or {}
    matching = config.get("matching") or {}
    if matching:
        lines.append("Tolerances: date ±{} days, payout ±{} days, at most {} invoices per "
                     "payment".format(matching.get("date_tolerance_days"),
                                      matching.get("payout_date_tolerance_days"),
                                      matching.get("max_invoices_per_payment")))
    return lines
