"""Benchmark the pipeline: generate a synthetic month, run `make report` on it, time it.

    python bench/run.py [--invoices N] [--seed S] [--jobs J] [--out bench/out] [--keep] [--smoke]

The month is generated once per size and seed (bench/generate.py) and cached under
OUT/data/. The pipeline then runs as people run it: `make report` with J jobs (default:
the machine's cores), reading the Dolibarr snapshot offline through DOLIBARR_SNAPSHOT.
The Makefile's recipes call the stages through bench/measure.py, which notes each
stage's start, wall time, CPU time and peak resident memory (os.wait4 on that process).
The table shows those, the rows of what each stage wrote, the wall time of the whole
`make`, and the most resident memory the stages held at once (their RSS summed every
20 ms, never less than one stage's own peak). The exit status
is non-zero when make fails, or, with --smoke, when an output does not have the rows the
generator's manifest predicts. Outputs go to OUT/run/ and are removed afterwards unless
--keep; the figures are also written as OUT/run/<size>/results.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402  (bench/ is not a package)
import polars as pl  # noqa: E402

TARGET_SECONDS, TARGET_PEAK_MB = 15.0, 3 * 1024  # at 1,000,000 invoices, 2 cores
SMOKE_INVOICES = 2_000
# A caller's make (`make bench`) must not lend its jobs to the measured one. The Dolibarr
# and tolerance settings are emptied on make's command line (make_command).
CLEARED_ENV = ("MAKEFLAGS", "MFLAGS")
STAGES = ("parse_gc", "parse_payouts", "parse_shine", "fetch_dolibarr", "pass1", "pass2",
          "pass3", "report", "documents", "payout_bookings")


@dataclass
class Result:
    stage: str
    exit_status: int
    started: float  # seconds after make started
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

    def outputs(self) -> dict[str, list[Path]]:
        """What each stage writes, as the Makefile names it."""
        frm, to = self.window
        interim = self.interim
        return {
            "parse_gc": [interim / "gc_payments.parquet"],
            "parse_payouts": [interim / "gc_payouts.parquet", interim / "gc_payout_items.parquet"],
            "parse_shine": [interim / "bank.parquet"],
            "fetch_dolibarr": [self.windowed("invoices")],
            "pass1": [self.windowed("pass1")],
            "pass2": [self.windowed("pass2")],
            "pass3": [self.windowed("pass3")],
            "report": [self.reports / f"{name}_{frm}_{to}.{ext}" for name, ext in
                       (("reconciliation", "csv"), ("payouts_fees", "csv"), ("summary", "txt"))],
            "documents": [self.reports / f"report_{frm}_{to}.html"],
        }


def make_command(paths: Paths, jobs: int, log: Path) -> list[str]:
    """`make report` on the generated month, each stage measured by bench/measure.py."""
    frm, to = paths.window
    return [
        "make", "--no-print-directory", f"-j{jobs}", "report", f"FROM={frm}", f"TO={to}",
        f"RAW_DIR={paths.data / 'raw'}", f"INTERIM_DIR={paths.interim}",
        f"OUT_DIR={paths.reports}", f"SNAPSHOT_ROOT={paths.work / 'raw' / 'dolibarr'}",
        f"DOLIBARR_SNAPSHOT={paths.data / 'dolibarr'}", f"CONFIG={ROOT / 'config.yaml'}",
        # No developer's .env (ENV_FILE empty): never a real Dolibarr nor their tolerances.
        "ENV_FILE=", "DOLIBARR_URL=", "DOLIBARR_API_KEY=", "DOLIBARR_WRITE_API_KEY=",
        "RECONCILIATION_DATE_TOLERANCE=", "RECONCILIATION_PAYOUT_TOLERANCE=",
        f"PY={sys.executable} {ROOT / 'bench' / 'measure.py'} {log}",
    ]


def stage_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}


def run_process(argv: list[str], env: dict[str, str], log: Path,
                sample: Callable[[], None] | None = None) -> tuple[int, float]:
    """Run one command to completion, its output to `log`: (exit status, wall seconds).

    `sample` is called every 20 ms while it runs.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            if sample:
                sample()
            time.sleep(0.02)
    return process.returncode, time.perf_counter() - start


class MemorySampler:
    """The largest sum of resident memory of the stages running at once (their pids are
    listed by bench/measure.py as they start)."""

    def __init__(self, pids_file: Path):
        self.pids_file, self.peak_mb = pids_file, 0.0
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def __call__(self) -> None:
        if not self.pids_file.is_file():
            return
        total = 0.0
        for pid in self.pids_file.read_text(encoding="utf-8").split():
            try:
                with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                    total += int(statm.read().split()[1]) * self.page_mb
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass  # finished (or not a process of ours any more)
        self.peak_mb = max(self.peak_mb, total)


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
    # The generator's hash is part of the cache key, with the snapshot properties it takes
    # from recon/invoices.py: a change to either regenerates.
    sources = (ROOT / "bench" / "generate.py", ROOT / "stages" / "recon" / "invoices.py")
    version = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:8]
    data = out / "data" / f"{invoices}-{seed}-{version}"
    manifest = data / "manifest.json"
    seconds = None
    if not manifest.is_file():
        data.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, str(ROOT / "bench" / "generate.py"), "--invoices", str(invoices),
                "--seed", str(seed), "--out", str(data)]
        status, seconds = run_process(argv, dict(os.environ), data.parent / f"{data.name}.log")
        if status != 0:
            raise SystemExit(f"generating the data failed; see {data.parent / f'{data.name}.log'}")
    return data, json.loads(manifest.read_text(encoding="utf-8")), seconds


def run_pipeline(paths: Paths, jobs: int) -> tuple[int, float, float, list[Result]]:
    """`make report` once: (its exit status, its wall seconds, the most memory its stages
    held at once in MB, the stages it ran, in order)."""
    logs = paths.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    measured = logs / "stages.jsonl"
    pids = logs / "stages.jsonl.pids"
    measured.unlink(missing_ok=True)
    pids.unlink(missing_ok=True)
    sampler = MemorySampler(pids)
    started = time.time()
    status, wall = run_process(make_command(paths, jobs, measured), stage_env(),
                               logs / "make.log", sampler)
    records = [json.loads(line) for line in measured.read_text(encoding="utf-8").splitlines()] \
        if measured.is_file() else []
    outputs = paths.outputs()
    results = [
        Result(r["stage"], r["exit_status"], r["started"] - started, r["wall_seconds"],
               r["cpu_seconds"], r["peak_rss_mb"],
               {p.name: count_rows(p) for p in outputs.get(r["stage"], [])})
        for r in records
    ]
    results.sort(key=lambda r: STAGES.index(r.stage) if r.stage in STAGES else len(STAGES))
    # A stage's own peak (os.wait4) can fall between two samples: never report less.
    peak = max([sampler.peak_mb, *(r.peak_rss_mb for r in results)])
    return status, wall, peak, results


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
    expected = expected_rows(manifest)
    ran = {r.stage for r in results}
    problems = [f"{stage} did not run" for stage in STAGES if stage not in ran]
    for result in results:
        for name, count in result.rows.items():
            if count is None:
                problems.append(f"{result.stage} did not write {name}")
            elif name in expected and count != expected[name]:
                problems.append(f"{name} has {count} rows, expected {expected[name]}")
            elif count == 0 and not name.startswith("summary"):
                problems.append(f"{name} is empty")
    return problems


def table(results: list[Result], wall: float, peak_mb: float, jobs: int) -> str:
    lines = [f"{'stage':<16}{'start s':>8}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}  rows written"]
    for r in results:
        rows = ", ".join(f"{name} {count:,}" if count is not None else f"{name} -" for name, count in r.rows.items())
        flag = "" if r.exit_status == 0 else f"  FAILED (exit {r.exit_status})"
        lines.append(f"{r.stage:<16}{r.started:>8.2f}{r.wall_seconds:>8.2f}{r.cpu_seconds:>8.2f}"
                     f"{r.peak_rss_mb:>9.0f}  {rows}{flag}")
    cpu = sum(r.cpu_seconds for r in results)
    lines.append(f"{'make report':<16}{0:>8.2f}{wall:>8.2f}{cpu:>8.2f}{peak_mb:>9.0f}"
                 f"  ({jobs} job{'s' if jobs > 1 else ''}; memory: most held by the stages at once)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=None,
                        help=f"size of the month (default 1,000,000; {SMOKE_INVOICES:,} with --smoke)")
    parser.add_argument("--seed", type=int, default=generate.SEED, help="random seed of the month")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="make's jobs (default: the machine's cores; 1 runs one stage at a time)")
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
    status, wall, peak_mb, results = run_pipeline(paths, args.jobs)
    print(table(results, wall, peak_mb, args.jobs))
    # Other work on the machine inflates the figures: say how busy it was.
    print(f"machine: {os.cpu_count()} cores; 1-minute load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    problems = row_problems(results, manifest) if args.smoke and status == 0 else []
    summary = {
        "invoices": invoices, "seed": args.seed, "jobs": args.jobs, "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "make_exit_status": status,
        "total_seconds": wall, "peak_rss_mb": peak_mb,
        "stages": [asdict(r) for r in results], "problems": problems, "manifest": manifest,
    }
    (paths.work / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        for produced in (paths.interim, paths.reports, paths.work / "raw"):
            shutil.rmtree(produced, ignore_errors=True)

    if status != 0:
        log = paths.work / "logs" / "make.log"
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        print(f"\nmake failed (exit {status}); last lines of {log}:", *tail, sep="\n", file=sys.stderr)
        return 1
    if problems:
        print("\nsmoke check failed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if invoices >= 1_000_000:
        met = wall <= TARGET_SECONDS and summary["peak_rss_mb"] <= TARGET_PEAK_MB
        print(f"target ≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_PEAK_MB / 1024:.0f} GB: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
