"""The fix journal: intents and results on disk, and which attempts a rerun must settle."""
import json

import pytest

from recon.errors import InputError, StageError
from recon.journal import (FOUND_ON_REREAD, NOT_RECORDED, RECORDED, UNKNOWN, Journal,
                           read_records)


def an_intent(journal, gc_id="PM000044QD929V"):
    return journal.intent(gc_payment_id=gc_id, amount_cents=8990,
                          invoices=[{"invoice_id": 4, "invoice_ref": "FA2601-0004",
                                     "amount_cents": 8990}])


def test_an_intent_without_result_is_unresolved_until_a_result_arrives(tmp_path):
    journal = Journal(tmp_path / "fix_journal.jsonl")
    attempt = an_intent(journal)
    assert [i["attempt"] for i in journal.unresolved()] == [attempt]
    journal.result(attempt, RECORDED, payment_id=12)
    assert journal.unresolved() == []


def test_an_unknown_result_stays_unresolved_until_settled_by_reading(tmp_path):
    journal = Journal(tmp_path / "fix_journal.jsonl")
    attempt = an_intent(journal)
    journal.result(attempt, UNKNOWN, message="connection lost")
    assert len(journal.unresolved()) == 1
    journal.result(attempt, FOUND_ON_REREAD, payment_ref="PAY2601-0007")
    assert journal.unresolved() == []


def test_lines_are_json_objects_in_order_and_append_only(tmp_path):
    path = tmp_path / "fix_journal.jsonl"
    journal = Journal(path)
    first = an_intent(journal)
    journal.result(first, NOT_RECORDED)
    second = an_intent(journal, gc_id="PM00007X5VPF8J")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["intent", "result", "intent"]
    assert json.loads(lines[1]) | {"at": None} == {
        "event": "result", "attempt": first, "outcome": "not recorded", "at": None}
    assert [i["attempt"] for i in journal.unresolved()] == [second]


def test_a_line_torn_by_a_kill_is_skipped_and_the_next_line_starts_clean(tmp_path):
    path = tmp_path / "fix_journal.jsonl"
    journal = Journal(path)
    attempt = an_intent(journal)
    with open(path, "a") as handle:
        handle.write('{"event": "result", "attem')  # killed mid-write
    assert [i["attempt"] for i in journal.unresolved()] == [attempt]
    journal.result(attempt, RECORDED, payment_id=3)
    assert len(path.read_text().splitlines()) == 3
    assert [r["event"] for r in read_records(path)] == ["intent", "result"]
    assert journal.unresolved() == []


def test_a_damaged_line_in_the_middle_names_file_and_line(tmp_path):
    path = tmp_path / "fix_journal.jsonl"
    path.write_text('{"event": "intent", "attempt": "a1"}\nnot json\n'
                    '{"event": "result", "attempt": "a1", "outcome": "recorded"}\n')
    with pytest.raises(InputError, match=r"fix_journal.jsonl, line 2: not a journal record"):
        Journal(path).unresolved()


def test_a_missing_journal_is_empty(tmp_path):
    assert Journal(tmp_path / "none.jsonl").unresolved() == []


def test_an_unknown_outcome_name_is_a_bug(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    with pytest.raises(ValueError):
        journal.result("a1", "maybe")


def test_two_runs_cannot_hold_the_journal_at_once(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    with journal.locked():
        with pytest.raises(StageError, match="another `make fix` is running"):
            with Journal(tmp_path / "j.jsonl").locked():
                pass
    with journal.locked():  # released afterwards
        pass
