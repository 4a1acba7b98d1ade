"""Documents: the reconciliation of a window as people open it, an HTML report and an Excel
workbook, from the same figures as the CSVs and the summary (recon/figures.py).

    python stages/documents.py --pass1 interim/pass1_<FROM>_<TO>.parquet \
        --pass2 interim/pass2_<FROM>_<TO>.parquet --pass3 interim/pass3_<FROM>_<TO>.parquet \
        --from FROM --to TO --config config.yaml [--decisions decisions.yaml] --out-dir tmp

writes, in --out-dir:
- report_<FROM>_<TO>.html: one self-contained page (charts, needs-action tables with links
  to Dolibarr's invoice cards when DOLIBARR_URL is set and to the GoCardless dashboard),
  in config.yaml's report.language (fr by default), opening with what it was made from
  (recon/provenance.py, as the summary), the decisions used (with --decisions) and, on
  each line needing action, the decisions.yaml entry `make review` proposes;
- reconciliation_<FROM>_<TO>.xlsx: sheets Synthèse, À traiter, Rapprochement, Versements et
  frais.
Make runs it beside stages/report.py (both read only the passes), one core each.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from recon import charts
from recon import config as config_file
from recon import decisions as decisions_file
from recon import provenance
from recon.errors import run
from recon.figures import compute
from recon.html_report import ReportSettings, write_html
from recon.io import read_parquet
from recon.match_common import add_pass_arguments, parse_window
from recon.schemas import PASS1, PASS2, PASS3
from recon.tables import reconciliation_frame
from recon.workbook import write_workbook


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pass_arguments(parser)
    parser.add_argument("--config", help="config.yaml (report: language, links)")
    decisions_file.add_argument(parser)  # for the count of decisions used
    parser.add_argument("--out-dir", required=True, help="where the documents go")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to = parse_window(args.date_from, args.date_to)
    chart_engine = charts.warm_up()  # while the figures and the workbook are made
    config = config_file.load(args.config)
    settings = ReportSettings.from_config(config,
                                          os.environ.get("DOLIBARR_URL", ""),
                                          args.config or str(config_file.DEFAULT_CONFIG))
    pass1 = read_parquet(args.pass1, PASS1)
    pass2 = read_parquet(args.pass2, PASS2)
    pass3 = read_parquet(args.pass3, PASS3)
    out_dir, window = Path(args.out_dir), f"{date_from}_{date_to}"
    figures = compute(pass1, pass2, pass3, date_from, date_to,
                      decisions_file.load(args.decisions))
    write_workbook(figures, reconciliation_frame(pass1.lazy(), pass2.lazy(), pass3.lazy()),
                   settings, out_dir / f"reconciliation_{window}.xlsx", window)
    made_from = provenance.for_window(Path(args.pass1).parent, date_from, date_to, config)
    chart_engine.join()
    write_html(figures, settings, out_dir / f"report_{window}.html", window, made_from)


if __name__ == "__main__":
    run(main)
