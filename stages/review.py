"""Review: a decisions.yaml draft for the lines of a window that need action.

    python stages/review.py --pass1 interim/pass1_<FROM>_<TO>.parquet \
        --pass2 interim/pass2_<FROM>_<TO>.parquet --pass3 interim/pass3_<FROM>_<TO>.parquet \
        --from FROM --to TO [--decisions decisions.yaml] --out tmp/review_<FROM>_<TO>.yaml

Every entry is commented out: the person uncomments what they decide and copies it into
decisions.yaml (recon/review.py says how the entries are chosen). The decisions file is
only checked here, never written.
"""
from __future__ import annotations

import argparse
import sys

from recon import decisions as decisions_file
from recon.errors import run
from recon.io import read_parquet, write_text
from recon.match_common import add_pass_arguments, parse_window
from recon.review import review_text
from recon.schemas import PASS1, PASS2, PASS3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pass_arguments(parser)
    decisions_file.add_argument(parser)
    parser.add_argument("--out", required=True, help="the review YAML to write")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    date_from, date_to = parse_window(args.date_from, args.date_to)
    decisions_file.load(args.decisions)  # a broken file is said here too, with its line
    text = review_text(read_parquet(args.pass1, PASS1), read_parquet(args.pass2, PASS2),
                       read_parquet(args.pass3, PASS3), date_from, date_to)
    write_text(text, args.out)
    print(f"review: {text.count(chr(10) + '# - ')} entries -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    run(main)
