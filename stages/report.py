"""Report: the reconciliation of a window as two CSV files and a terminal summary.

    python stages/report.py --pass1 interim/pass1_<FROM>_<TO>.parquet \
        --pass2 interim/pass2_<FROM>_<TO>.parquet --pass3 interim/pass3_<FROM>_<TO>.parquet \
        --from FROM --to TO --out-dir tmp

writes, in --out-dir:
- reconciliation_<FROM>_<TO>.csv: one row per payment verdict (pass 1) or invoice verdict
  (pass 2), with the chain payment -> payout -> bank line and whether the money reached
  the bank (money_in_bank: yes, no, pending, unknown);
- payouts_fees_<FROM>_<TO>.csv: one row per payout (and per unexplained GoCardless-looking
  bank credit), with its bank line, fees (HT, TVA) and deductions; `flag` holds the payout's
  verdict, `fees_flag` the fee verdict;
- provenance_<FROM>_<TO>.json: what the report was made from (recon/provenance.py);
- summary_<FROM>_<TO>.txt: the terminal summary (also printed), opening with the same.
The HTML report and the workbook are stages/documents.py's, from the same figures
(recon/figures.py); the CSV columns are recon/tables.py's.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from recon import config as config_module
from recon import decisions as decisions_file
from recon import provenance
from recon.errors import run
from recon.figures import LINES_PER_FLAG, action_rows, compute
from recon.io import atomic_path, read_parquet, write_text
from recon.match_common import add_pass_arguments, parse_window
from recon.schemas import PASS1, PASS2, PASS3
from recon.summary import summary_text
from recon.tables import payouts_table, reconciliation_table


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.write_csv(tmp)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pass_arguments(parser)
    decisions_file.add_argument(parser)  # for the count of decisions used
    parser.add_argument("--out-dir", required=True, help="where the CSVs and the summary go")
    parser.add_argument("--config", default=None, help="config.yaml in force (for provenance)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to = parse_window(args.date_from, args.date_to)
    # Pass 1 is read once, for the CSV and the summary, and the CSV is collected then
    # written: at a million rows, streaming it with sink_csv then reading pass 1 again cost
    # about 0.4 s more CPU (mostly system time) and 0.1 GB more memory.
    pass1 = read_parquet(args.pass1, PASS1)
    pass2 = read_parquet(args.pass2, PASS2)
    pass3 = read_parquet(args.pass3, PASS3)
    out_dir, window = Path(args.out_dir), f"{date_from}_{date_to}"
    # Lazy, so that only the columns the CSV shows go through the join.
    table = reconciliation_table(pass1.lazy(), pass2.lazy(), pass3.lazy()).collect()
    write_csv(table, out_dir / f"reconciliation_{window}.csv")
    del table
    write_csv(payouts_table(pass3), out_dir / f"payouts_fees_{window}.csv")
    prov = provenance.for_window(Path(args.pass1).parent, date_from, date_to,
                                 config_module.load(args.config))
    write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n",
               out_dir / f"provenance_{window}.json")
    figures = compute(pass1, pass2, pass3, date_from, date_to,
                      decisions_file.load(args.decisions), documents=False)
    summary = summary_text(figures, action_rows(pass1, pass2, pass3, LINES_PER_FLAG))
    summary = "\n".join(provenance.text_lines(prov)) + "\n\n" + summary
    write_text(summary, out_dir / f"summary_{window}.txt")
    print(summary, end="")


if __name__ == "__main__":
    run(main)
