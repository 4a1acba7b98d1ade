"""Benchmark the pipeline: generate a synthetic month, run every stage, time it and weigh it.

    python bench/run.py [--invoices N] [--seed S] [--out bench/out] [--keep] [--smoke]

The month is generated once per size and seed (bench/generate.py) and cached under
OUT/data/. Each stage then runs as its own process with exactly the arguments the
Makefile gives it, reading the Dolibarr snapshot offline through DOLIBARR_SNAPSHOT. For
each stage the table shows its wall time, its peak resident memory (from os.wait4, so it
is that process's own peak) and the rows of what it wrote. The exit status is non-zero
when a stage fails, or, with --smoke, when an output does not have the rows the
generator's manifest predicts. Stage outputs go to OUT/run/ and are removed afterwards
unless --keep; the table is also written as OUT/run/<size>/results.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402  (bench/ is not a package)
import polars as pl  # noqa: E402

TARGET_SECONDS, TARGET_PEAK_MB = 15.0, 3 * 1024  # at 1,000,000 invoices, 2 cores
SMOKE_INVOICES = 2_000
# Settings that would make a run depend on the caller's shell or reach a real Dolibarr.
CLEARED_ENV = (
    "DOLIBARR_URL", "DOLIBARR_API_KEY", "DOLIBARR_WRITE_API_KEY",
    "RECONCILIATION_DATE_TOLERANCE", "RECONCILIATION_PAYOUT_TOLERANCE",
)


@dataclass
class Stage:
    name: str
    argv: list[str]
    outputs: list[Path]


@dataclass
class Result:
    stage: str
    exit_status: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rows: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Paths:
    """Where a run reads and writes: the Makefile's variables for one window."""

    data: Path
    work: Path
    window: tuple[str, str]

    @property
    def interim(self) -> Path:
        return self.work / "interim"

    @property
    def reports(self) -> Path:
        return self.work / "tmp"

    def windowed(self, stem: str) -> Path:
        return self.interim / f"{stem}_{self.window[0]}_{self.window[1]}.parquet"


def stages(paths: Paths) -> list[Stage]:
    """The Makefile's recipes, in its order, with its arguments."""
    py, config = sys.executable, str(ROOT / "config.yaml")
    frm, to = paths.window
    gc_dir, shine_dir = paths.data / "raw" / "gocardless", paths.data / "raw" / "shine"
    payments, payouts = paths.interim / "gc_payments.parquet", paths.interim / "gc_payouts.parquet"
    items, bank = paths.interim / "gc_payout_items.parquet", paths.interim / "bank.parquet"
    invoices, pass1 = paths.windowed("invoices"), paths.windowed("pass1")
    pass2, pass3 = paths.windowed("pass2"), paths.windowed("pass3")
    snapshot_dir = paths.work / "raw" / "dolibarr" / f"{frm}_{to}"
    window = ["--from", frm, "--to", to]
    reports = [paths.reports / f"{name}_{frm}_{to}.{ext}"
               for name, ext in (("reconciliation", "csv"), ("payouts_fees", "csv"), ("summary", "txt"))]
    s = lambda name, *args: [py, str(ROOT / "stages" / f"{name}.py"), *map(str, args)]  # noqa: E731
    return [
        Stage("parse_gc", s("parse_gc", "--input-dir", gc_dir, "--out", payments), [payments]),
        Stage("parse_payouts", s("parse_payouts", "--input-dir", gc_dir, "--out", payouts,
                                 "--items-out", items), [payouts, items]),
        Stage("parse_shine", s("parse_shine", "--input-dir", shine_dir, "--config", config,
                               "--out", bank), [bank]),
        Stage("fetch_dolibarr", s("fetch_dolibarr", *window, "--config", config,
                                  "--snapshot-dir", snapshot_dir, "--out", invoices), [invoices]),
        Stage("pass1", s("pass1", "--invoices", invoices, "--payments", payments, *window,
                         "--config", config, "--out", pass1), [pass1]),
        Stage("pass2", s("pass2", "--invoices", invoices, "--pass1", pass1, *window,
                         "--config", config, "--out", pass2), [pass2]),
        Stage("pass3", s("pass3", "--payouts", payouts, "--payout-items", items, "--payments", payments,
                         "--bank", bank, "--pass1", pass1, *window, "--config", config,
                         "--out", pass3), [pass3]),
        Stage("report", s("report", "--pass1", pass1, "--pass2", pass2, "--pass3", pass3, *window,
                          "--out-dir", paths.reports), reports),
    ]


def stage_env(paths: Paths) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["DOLIBARR_SNAPSHOT"] = str(paths.data / "dolibarr")
    return env


def run_process(argv: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """Run one process to completion: (exit status, wall s, CPU s, its own peak RSS in MB)."""
    with log.open("wb") as out:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, out.fileno(), 2)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), wall, cpu, usage.ru_maxrss / 1024  # ru_maxrss is in KiB


def count_rows(path: Path) -> int | None:
    """Rows of a stage output (Parquet from its metadata, CSV without its header, text lines)."""
    if not path.is_file():
        return None
    if path.suffix == ".parquet":
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    if path.suffix == ".csv":
        return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
    return len(path.read_text(encoding="utf-8").splitlines())


def prepare_data(out: Path, invoices: int, seed: int) -> tuple[Path, dict, float | None]:
    """The cached month for this size and seed, generated (in its own process) if missing."""
    # The generator's own hash is part of the cache key: a changed generator regenerates.
    version = hashlib.sha256((ROOT / "bench" / "generate.py").read_bytes()).hexdigest()[:8]
    data = out / "data" / f"{invoices}-{seed}-{version}"
    manifest = data / "manifest.json"
    seconds = None
    if not manifest.is_file():
        data.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, str(ROOT / "bench" / "generate.py"), "--invoices", str(invoices),
                "--seed", str(seed), "--out", str(data)]
        status, seconds, _, _ = run_process(argv, dict(os.environ), data.parent / f"{data.name}.log")
        if status != 0:
            raise SystemExit(f"generating the data failed; see {data.parent / f'{data.name}.log'}")
    return data, json.loads(manifest.read_text(encoding="utf-8")), seconds


def run_pipeline(paths: Paths) -> list[Result]:
    """Every stage in order; stops at the first failure (later stages would lack inputs)."""
    logs = paths.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env, results = stage_env(paths), []
    for stage in stages(paths):
        status, wall, cpu, peak = run_process(stage.argv, env, logs / f"{stage.name}.log")
        rows = {p.name: count_rows(p) for p in stage.outputs}
        results.append(Result(stage.name, status, wall, cpu, peak, rows))
        if status != 0:
            break
    return results


def expected_rows(manifest: dict) -> dict[str, int]:
    """What the parsers must write, from the generator's own counts."""
    rows = manifest["rows"]
    return {
        "gc_payments.parquet": rows["payments"],
        "gc_payouts.parquet": rows["payouts"],
        "gc_payout_items.parquet": rows["payout_items"],
        "bank.parquet": rows["bank_lines"],
    }


def row_problems(results: list[Result], manifest: dict) -> list[str]:
    """Outputs missing, empty, or with other row counts than the manifest predicts."""
    expected, problems = expected_rows(manifest), []
    for result in results:
        for name, count in result.rows.items():
            if count is None:
                problems.append(f"{result.stage} did not write {name}")
            elif name in expected and count != expected[name]:
                problems.append(f"{name} has {count} rows, expected {expected[name]}")
            elif count == 0 and not name.startswith("summary"):
                problems.append(f"{name} is empty")
    return problems


def table(results: list[Result]) -> str:
    lines = [f"{'stage':<16}{'wall s':>9}{'cpu s':>8}{'peak MB':>10}  rows written"]
    for r in results:
        rows = ", ".join(f"{name} {count:,}" if count is not None else f"{name} -" for name, count in r.rows.items())
        flag = "" if r.exit_status == 0 else f"  FAILED (exit {r.exit_status})"
        lines.append(f"{r.stage:<16}{r.wall_seconds:>9.2f}{r.cpu_seconds:>8.2f}{r.peak_rss_mb:>10.0f}  {rows}{flag}")
    total, cpu = sum(r.wall_seconds for r in results), sum(r.cpu_seconds for r in results)
    peak = max((r.peak_rss_mb for r in results), default=0.0)
    lines.append(f"{'total':<16}{total:>9.2f}{cpu:>8.2f}{peak:>10.0f}  (time: sum of stages; memory: largest stage)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=None,
                        help=f"size of the month (default 1,000,000; {SMOKE_INVOICES:,} with --smoke)")
    parser.add_argument("--seed", type=int, default=generate.SEED, help="random seed of the month")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache and outputs (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="keep the stages' Parquet and CSV outputs")
    parser.add_argument("--smoke", action="store_true",
                        help="small month; fail unless every output has the rows the manifest predicts")
    args = parser.parse_args(argv)
    invoices = args.invoices or (SMOKE_INVOICES if args.smoke else 1_000_000)
    out = args.out.resolve()
    os.chdir(ROOT)  # the Makefile's working directory

    data, manifest, generated = prepare_data(out, invoices, args.seed)
    paths = Paths(data=data, work=out / "run" / f"{invoices}-{args.seed}", window=(manifest["from"], manifest["to"]))
    for stale in (paths.interim, paths.reports, paths.work / "raw"):
        shutil.rmtree(stale, ignore_errors=True)
    how = f"generated in {generated:.1f} s" if generated is not None else "cached"
    print(f"month: {invoices:,} invoices, seed {args.seed}, window {paths.window[0]}..{paths.window[1]} ({how})")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in manifest["rows"].items()))

    load_before = os.getloadavg()[0]
    results = run_pipeline(paths)
    print(table(results))
    # Other work on the machine inflates the figures: say how busy it was.
    print(f"machine: {os.cpu_count()} cores; 1-minute load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    failed = [r for r in results if r.exit_status != 0]
    problems = row_problems(results, manifest) if args.smoke and not failed else []
    summary = {
        "invoices": invoices, "seed": args.seed, "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "total_seconds": sum(r.wall_seconds for r in results),
        "peak_rss_mb": max((r.peak_rss_mb for r in results), default=0.0),
        "stages": [asdict(r) for r in results], "problems": problems, "manifest": manifest,
    }
    (paths.work / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        for produced in (paths.interim, paths.reports, paths.work / "raw"):
            shutil.rmtree(produced, ignore_errors=True)

    if failed:
        log = paths.work / "logs" / f"{failed[0].stage}.log"
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        print(f"\nstage {failed[0].stage} failed; last lines of {log}:", *tail, sep="\n", file=sys.stderr)
        return 1
    if problems:
        print("\nsmoke check failed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if invoices >= 1_000_000:
        met = summary["total_seconds"] <= TARGET_SECONDS and summary["peak_rss_mb"] <= TARGET_PEAK_MB
        print(f"target ≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_PEAK_MB / 1024:.0f} GB: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
