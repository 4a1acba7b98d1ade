"""Contract: the emulator's bank endpoints answer the captured BANK_* requests like the real
Dolibarr 23 did (API_FACTS.md §10), as tests/test_emulator_contract.py does for invoices.

Every BANK_* case is replayed against an emulator serving tests/data/emulator/bank_lab (the
lab's bank state, see its README) and compared like the invoice cases: same status, same
keys and JSON types, the same error object, the same headers; the non-JSON 503 is compared
as text with its dates and times blanked. A case that needs another moment of the lab's
history gets a setup (SETUP), another target (REDIRECTS) or another label (BODY_OVERRIDES:
labels are unique); cases the emulator does not serve are listed in SKIPPED with why.
The read-only and bank-clerk users of the capture are emulated with their rights.
"""
import json
import re
import shutil

import pytest

from emulator import DolibarrEmulator
from emulator.bank import INVOICE_CREATE, MODIFY, READ
from test_emulator_contract import CAPTURED, DATA, KEY, assert_same_shape, load, replay

READONLY_KEY, CLERK_KEY = "readonly-key", "clerk-key"
USERS = {
    READONLY_KEY: {"login": "readonly", "rights": [READ, "facture.lire"]},
    CLERK_KEY: {"login": "bankclerk", "rights": [READ, MODIFY, "banque.transfer", "facture.lire", INVOICE_CREATE]},
}
NAMES = sorted(p.name[:-len(".meta.json")] for p in (DATA / CAPTURED).glob("BANK_*.meta.json"))
SKIPPED = {"BANK_POST_users_readonly": "creating users is not emulated"}
# Account 6 (cash) still exists in the dataset: the deleted-account case asks for one that never did.
REDIRECTS = {"BANK_GET_bankaccounts_id_nonexistent": "/bankaccounts/7"}
# Labels are unique and the dataset already holds the accounts these requests created.
BODY_OVERRIDES = {name: {"label": label} for name, label in (
    ("BANK_POST_bankaccounts_create", "GoCardless (replay)"),
    ("BANK_POST_bankaccounts_cash", "Cash box (replay)"),
    ("BANK_POST_bankaccounts_minimal", "Scratch (replay)"),
    ("BANK_POST_bankaccounts_duplicate_ref", "Scratch B (replay)"),
    ("BANK_POST_bankaccounts_err_country_zero", "Country zero (replay)"),
)}


def allow_deletion(emulator):
    emulator._ctx.data.allow_line_deletion = True  # the constant set for those captures


def line_42_deleted(emulator):
    allow_deletion(emulator)
    data = emulator._ctx.data
    data.dangling_links[42] = data.bank_lines.pop(42).links


SETUP = {
    "BANK_DELETE_bankaccounts_id_lines_id_transfer_one_side": allow_deletion,
    "BANK_DELETE_bankaccounts_id_lines_id_other_account": allow_deletion,
    "BANK_DELETE_bankaccounts_id_lines_id_payment_line": allow_deletion,
    "BANK_DELETE_bankaccounts_id_lines_id_already_deleted": line_42_deleted,
}
# Deleted later in the capture run; lists captured before that still show them.
DELETED_LATER = {"41", "42"}
AUTH = {"read-only user": READONLY_KEY, "user with banque lire/modifier": CLERK_KEY}


@pytest.fixture(scope="module")
def bank_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("banklab")
    shutil.copy(DATA / CAPTURED / "GET_invoices_all_full_snapshot.json", folder / "invoices.json")
    shutil.copy(DATA / CAPTURED / "GET_thirdparties_all_full_snapshot.json", folder / "thirdparties.json")
    for name in ("bankaccounts.json", "banklines.json", "payments.json"):
        shutil.copy(DATA / "emulator" / "bank_lab" / name, folder / name)
    return folder


def bank_replay(emulator, name):
    meta = load(f"{name}.meta")
    request = dict(meta["request"])
    for marker, key in AUTH.items():
        if marker in request["auth"]:
            request["auth"], request["extra_headers"] = "custom", {"DOLAPIKEY": key}
    if name in BODY_OVERRIDES:
        request["body"] = {**request["body"], **BODY_OVERRIDES[name]}
    request["path"] = REDIRECTS.get(name, request["path"])
    return replay(emulator, {**meta, "request": request}, name)


# Set when a person reconciles a line in the UI (line 22, partway through the capture run).
RECONCILIATION = ("fk_user_rappro", "num_releve")


def unreconciled(body):
    if isinstance(body, list):
        return [unreconciled(item) for item in body]
    if isinstance(body, dict) and "fk_account" in body:
        return {k: (None if k in RECONCILIATION else v) for k, v in body.items()}
    return body


def blank_times(text):
    """Dates, times and "such as <now>" timestamps differ from run to run."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\d{14}|such as \d{10}", "<time>", text)


def test_every_bank_case_is_replayed_or_skipped():
    assert len(NAMES) == 129
    assert set(SKIPPED) | set(REDIRECTS) | set(BODY_OVERRIDES) | set(SETUP) <= set(NAMES)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in SKIPPED])
def test_bank_case(name, bank_dataset):
    meta, captured = load(f"{name}.meta"), load(name)
    with DolibarrEmulator(bank_dataset, api_key=KEY, users=USERS) as emulator:
        SETUP.get(name, lambda _: None)(emulator)
        answer = bank_replay(emulator, name)
    assert answer.status_code == meta["response"]["status"], answer.text[:300]
    assert answer.reason == meta["response"]["reason"]  # "" for the 422s: no reason phrase
    for header in ("Content-Type", "X-Powered-By", "Cache-Control", "Vary"):
        assert answer.headers.get(header) == meta["response"]["headers"].get(header), header
    if isinstance(captured, dict) and "_non_json_body" in captured:
        wanted = captured["_non_json_body"].replace("python-requests/2.34.2", answer.request.headers["User-Agent"])
        assert blank_times(answer.text) == blank_times(wanted)
        return
    assert_same_shape(unreconciled(captured), unreconciled(answer.json()))
    if isinstance(captured, dict) and "error" in captured:
        assert blank_times(json.dumps(answer.json()["error"])) == blank_times(json.dumps(captured["error"]))
    if isinstance(captured, (int, float)) and not isinstance(captured, bool) and "balance" not in name:
        assert isinstance(answer.json(), int)  # a new id, as a bare integer


LINE_LISTS = [n for n in NAMES if (n.startswith("BANK_GET_bankaccounts_id_lines_sqlfilters")
                                   or n.endswith("_final") and "_lines_" in n)
              and isinstance(load(f"{n}.meta")["response"]["items_returned"], list)]


@pytest.mark.parametrize("name", LINE_LISTS)
def test_line_filters_select_the_captured_lines(name, bank_dataset):
    """Bare-column filters (emetteur, num_chq, label like, in, dates, rowid) find the same lines."""
    meta = load(f"{name}.meta")
    items = meta["response"]["items_returned"]
    with DolibarrEmulator(bank_dataset, api_key=KEY, users=USERS) as emulator:
        got = [line["id"] for line in bank_replay(emulator, name).json()]
    expected = [item["id"] for item in items]
    assert [i for i in got if i not in DELETED_LATER] == [i for i in expected if i not in DELETED_LATER]
    for item in items:  # the served columns of each captured line
        if item["id"] not in DELETED_LATER:
            line = next(l for l in emulator.bank_lines(item["fk_account"]) if l["id"] == item["id"])
            assert {k: line[k] for k in item if k not in RECONCILIATION + ("rappro",)} == \
                {k: v for k, v in item.items() if k not in RECONCILIATION + ("rappro",)}


def test_transfer_keeps_cheque_number_hidden_and_has_no_duplicate_check(bank_dataset):
    body = {"bankaccount_from_id": 2, "bankaccount_to_id": 1, "date": 1773057600,
            "description": "GoCardless payout PO00GC00000009", "amount": 10.5, "cheque_number": "PO00GC00000009"}
    import requests
    with DolibarrEmulator(bank_dataset, api_key=KEY) as emulator:
        url, headers = emulator.url + "/api/index.php", {"DOLAPIKEY": KEY}
        first = requests.post(url + "/bankaccounts/transfer", json=body, headers=headers, timeout=10).json()
        second = requests.post(url + "/bankaccounts/transfer", json=body, headers=headers, timeout=10).json()
        line = requests.get(url + f"/bankaccounts/lines/{first['success']['bank_id_from']}", headers=headers,
                            timeout=10).json()
        found = requests.get(url + "/bankaccounts/2/lines", params={"sqlfilters": "(emetteur:=:'PO00GC00000009')"},
                             headers=headers, timeout=10).json()
    assert second["success"]["bank_id_from"] == first["success"]["bank_id_to"] + 1
    assert (line["amount"], line["fk_type"], line["num_chq"], line["dateo"]) == ("-10.50000000", "PRE", None, 1773014400)
    assert "emetteur" not in json.dumps(line) or line.get("emetteur") is None
    assert [l["id"] for l in found] == [str(first["success"]["bank_id_from"]), str(second["success"]["bank_id_from"])]
