"""decisions.yaml through Make on the demo, as a user runs it: decide, rerun, fix, review."""
import shutil

import pytest

from test_pipeline_e2e import REPO, WINDOW, make, read_csv

# The four open lines of the demo a person settles (GROUND_TRUTH: P13 is AMBIGUOUS between
# FA2601-0011 and FA2601-0012, P05 has no invoice, the 37.15 credit is explained by no
# payout, FA2601-0022 is open with no GoCardless payment; the demo's bank has a transfer
# naming it, so it is PAID_BY_TRANSFER until a person's decision, the strongest rule).
FOUR = """\
- payment: PM000132YX8FW3
  invoice: FA2601-0012
  note: the customer confirmed by phone that it pays FA2601-0012
  by: claire
  on: 2026-02-03
- payment: PM0000591XP4DD
  ignore: a deposit for a future order, not an invoice payment
- bank: 7aa245bd-f0f8-4c8e-b339-3931123a8fdf
  ignore: capital increase
- invoice: FA2601-0022
  settled: paid by cheque on 2026-01-20
"""


PASSES_AND_REPORT = ["stages/documents.py", "stages/pass1.py", "stages/pass2.py", "stages/pass3.py",
                     "stages/report.py"]


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "demo" / "raw", tmp_path / "raw")
    return tmp_path


def stages_run(proc) -> list[str]:
    return sorted(w for w in proc.stdout.split() if w.startswith("stages/"))


def rows(path) -> list[tuple]:
    return [tuple(r.values()) for r in read_csv(path)]


def test_four_decisions_leave_needs_action_and_change_nothing_else(workdir, dolibarr):
    decisions = workdir / "decisions.yaml"
    use = f"DECISIONS={decisions}"
    out = workdir / "tmp"
    make(workdir, dolibarr, "report", use)  # no file yet: no decisions
    before = rows(out / f"reconciliation_{WINDOW}.csv")
    payouts_before = rows(out / f"payouts_fees_{WINDOW}.csv")

    decisions.write_text(FOUR)
    # The decisions file is a prerequisite of the passes only: no parser, no fetch.
    assert stages_run(make(workdir, dolibarr, "-n", "report-files", use)) == PASSES_AND_REPORT
    proc = make(workdir, dolibarr, "report", use)
    after = rows(out / f"reconciliation_{WINDOW}.csv")

    gone = sorted((r[0], r[2], r[3]) for r in set(before) - set(after))
    came = {(r[0], r[1], r[2], r[3]): r[-1] for r in set(after) - set(before)}
    assert gone == [("AMBIGUOUS", "FA2601-0011;FA2601-0012", "PM000132YX8FW3"),
                    ("GC_UNMATCHED", "", "PM0000591XP4DD"),
                    ("PAID_BY_TRANSFER", "FA2601-0022", "")]
    assert set(came) == {
        # P13 decided: a fix candidate like any link to an open invoice, so its other
        # candidate is again an open invoice that no payment explains (match_invoices.py).
        ("GC_PAID_DOLIBARR_OPEN", "decision", "FA2601-0012", "PM000132YX8FW3"),
        ("IGNORED", "decision", "", "PM0000591XP4DD"),
        ("DOLIBARR_OPEN_NO_GC", "none", "FA2601-0011", ""),
        ("SETTLED_OUTSIDE", "decision", "FA2601-0022", "")}
    decided = {key: text for key, text in came.items() if key[1] == "decision"}
    assert sorted(text.split(";")[0] for text in decided.values()) == [
        "decision: a deposit for a future order, not an invoice payment",
        "decision: paid by cheque on 2026-01-20",
        "decision: the customer confirmed by phone that it pays FA2601-0012 (claire, 2026-02-03)"]

    payouts_after = rows(out / f"payouts_fees_{WINDOW}.csv")
    [(old, new)] = [(a, b) for a, b in zip(payouts_before, payouts_after) if a != b]
    assert len(payouts_before) == len(payouts_after)
    assert (old[6], old[10], old[11]) == (
        "7aa245bd-f0f8-4c8e-b339-3931123a8fdf", "none", "BANK_CREDIT_UNMATCHED")
    assert (new[6], new[10], new[11]) == (
        "7aa245bd-f0f8-4c8e-b339-3931123a8fdf", "decision", "IGNORED")
    assert new[12].startswith("decision: capital increase; a credit of 37.15 on 2026-01-02")

    needs_action = proc.stdout[proc.stdout.index("Needs action:"):]
    for line in ("AMBIGUOUS", "GC_UNMATCHED", "BANK_CREDIT_UNMATCHED", "FA2601-0022",
                 "PM0000591XP4DD", "IGNORED", "SETTLED_OUTSIDE"):
        assert line not in needs_action
    assert "FA2601-0012 <- PM000132YX8FW3 150.00 EUR paid_out (Caron Électricité EURL) " \
           "[decision]" in needs_action
    table = proc.stdout[:proc.stdout.index("Needs action:")]
    assert "IGNORED                          2          537.15" in table
    assert "SETTLED_OUTSIDE                  1           66.00" in table
    assert f"Decisions ({decisions}): 4 used in this window, 0 about lines not in it " \
           "(left alone)" in table

    # Editing the file again reruns the passes and the report, nothing else.
    decisions.write_text(FOUR + "- payment: PM01OTHERMONTH\n  ignore: December's\n")
    assert stages_run(make(workdir, dolibarr, "-n", "report-files", use)) == PASSES_AND_REPORT
    proc = make(workdir, dolibarr, "report", use)
    assert "4 used in this window, 1 about lines not in it (left alone)" in proc.stdout
    assert rows(out / f"reconciliation_{WINDOW}.csv") == after
    # Removing it is seen too.
    decisions.unlink()
    make(workdir, dolibarr, "report", use)
    assert rows(out / f"reconciliation_{WINDOW}.csv") == before


BAD = [  # (file, line, why)
    ("- payment: PM0000591XP4DD\n  ignore: a\n- payment: PM0000591XP4DD\n  ignore: b\n", 3,
     "payment PM0000591XP4DD is decided twice, on lines 1 and 3"),
    ("- payment: PM0000591XP4DD\n  invoice: FA2601-0012\n", 1, "the entry gives no reason"),
    ("- payment: PM0000591XP4DD\n  ignore: a\n- payment: PM000132YX8FW3\n"
     "  invoice: FA2601-0999\n  note: b\n", 3,
     "invoice FA2601-0999 is not among the Dolibarr invoices read"),
    ("- invoice: AV2601-0001\n  settled: refunded\n", 1,
     "invoice AV2601-0001 is a credit note, which is never matched"),
    ("- payment: PM0000591XP4DD\n  ignore: [a\n", 3, "not valid YAML"),
]


def test_a_bad_decisions_file_stops_the_report_with_its_line(workdir, dolibarr):
    decisions = workdir / "decisions.yaml"
    use = f"DECISIONS={decisions}"
    make(workdir, dolibarr, "parse", "fetch", use)  # once: only the passes see the file
    for text, line, why in BAD:
        decisions.write_text(text)
        proc = make(workdir, dolibarr, "report", use, check=False)
        assert proc.returncode != 0, text
        assert f"error: {decisions}, line {line}: " in proc.stderr, proc.stderr
        assert why in proc.stderr
        assert not (workdir / "tmp" / f"reconciliation_{WINDOW}.csv").exists()


def test_fix_records_a_decided_payment_once_and_never_an_ignored_one(workdir, dolibarr):
    decisions = workdir / "decisions.yaml"
    decisions.write_text(
        FOUR.split("- payment: PM0000591XP4DD")[0]
        + "- payment: PM000044QD929V\n  ignore: paid twice by mistake, refunded by hand\n")
    use = f"DECISIONS={decisions}"
    before = dolibarr.payment_count()
    make(workdir, dolibarr, "fix", use, "CONFIRM=yes")
    # The seven strong candidates (GROUND_TRUTH), less the ignored P04, plus the decided P13,
    # plus FA2601-0016's two received instalments (issue 10 item 8).
    assert dolibarr.payment_count() == before + 7 + 2
    assert [(p["num"], p["amount"]) for p in dolibarr.payments(12)] == [
        ("PM000132YX8FW3", "150.00000000")]
    assert dolibarr.payments(4) == []
    assert dolibarr.payments(11) == []
    make(workdir, dolibarr, "fix", use, "CONFIRM=yes")  # a rerun records nothing
    assert dolibarr.payment_count() == before + 7 + 2


def test_review_proposes_an_entry_per_line_needing_action(workdir, dolibarr):
    decisions = workdir / "decisions.yaml"
    use = f"DECISIONS={decisions}"
    make(workdir, dolibarr, "review", use)
    review = (workdir / "tmp" / f"review_{WINDOW}.yaml").read_text()
    assert ("# - payment: PM000132YX8FW3\n"
            "#   invoice: FA2601-0011    # candidate: keep one\n"
            "#   invoice: FA2601-0012    # candidate: keep one\n"
            "#   note:\n# or:\n# - payment: PM000132YX8FW3\n#   ignore:\n") in review
    # The demo's only open invoice with no payment is paid by a transfer: nothing to decide.
    assert ("# PAID_BY_TRANSFER invoice FA2601-0022 66.00 EUR left to pay, BOULANGERIE LEFEVRE, "
            "due 2026-01-31\n") in review
    assert "# - invoice: FA2601-0022\n#   settled:" not in review
    assert "# - bank: 7aa245bd-f0f8-4c8e-b339-3931123a8fdf\n#   ignore:\n" in review
    # Once decided, those lines are no longer proposed.
    decisions.write_text(FOUR)
    make(workdir, dolibarr, "review", use)
    review = (workdir / "tmp" / f"review_{WINDOW}.yaml").read_text()
    for settled in ("payment: PM000132YX8FW3", "payment: PM0000591XP4DD",
                    "invoice: FA2601-0022", "bank: 7aa245bd"):
        assert f"# - {settled}" not in review
