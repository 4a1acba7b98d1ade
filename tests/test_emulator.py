"""Behaviour of the Dolibarr emulator on the demo dataset (demo/dolibarr).

Demo ids: invoices 1..28 in GROUND_TRUTH.md's table order (FA2601-0001..0019 are 1..19,
AV2601-0001 is 20, FA2601-0020..0022 are 21..23, FA2602-0001..0005 are 24..28) and the
draft (PROV30) is 30; 8 invoices are paid (one payment each, PAY2601-0001..0008).
"""
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from emulator import DatasetError, DolibarrEmulator

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo" / "dolibarr"
PAID = ["1", "2", "3", "6", "7", "9", "19", "22"]
ALL_IDS = [str(i) for i in range(1, 29)] + ["30"]


class Client:
    """The smallest client: GET/POST on the API with the key, answers as (status, json)."""

    def __init__(self, emulator, key="test-key"):
        self.base = emulator.url + "/api/index.php"
        self.session = requests.Session()
        self.session.headers["DOLAPIKEY"] = key

    def get(self, path, **params):
        answer = self.session.get(self.base + path, params=params, timeout=10)
        return answer.status_code, answer.json()

    def post(self, path, body):
        answer = self.session.post(self.base + path, json=body, timeout=10)
        return answer.status_code, (answer.json() if answer.content else None)

    def ids(self, **params):
        status, body = self.get("/invoices", properties="id", limit=0, **params)
        assert status == 200, body
        return [row["id"] for row in body]


@pytest.fixture
def api(dolibarr):
    return Client(dolibarr)


def pay_body(**extra):
    return {"datepaye": "2026-02-09", "paymentid": 3, "closepaidinvoices": "yes", "accountid": 1, **extra}


def share(amount):
    return {"amount": amount, "multicurrency_amount": ""}


# --- lists ---------------------------------------------------------------------------------

def test_pages_are_zero_based_and_limit_zero_means_all(api):
    assert api.ids() == ALL_IDS
    pages = [api.get("/invoices", properties="id", limit=10, page=p)[1] for p in range(4)]
    assert [[row["id"] for row in page] for page in pages] == [ALL_IDS[:10], ALL_IDS[10:20], ALL_IDS[20:], []]
    status, default = api.get("/invoices")
    assert status == 200 and len(default) == 29 and "lines" in default[0]


def test_pagination_data_counts_all_filtered_rows(api):
    status, body = api.get("/invoices", limit=10, page=2, pagination_data="true", properties="id")
    assert status == 200
    assert body["pagination"] == {"total": 29, "page": 2, "page_count": 3, "limit": 10}
    assert [row["id"] for row in body["data"]] == ALL_IDS[20:]
    _, unpaid = api.get("/invoices", limit=5, status="unpaid", pagination_data="true", properties="id")
    assert unpaid["pagination"] == {"total": 20, "page": 0, "page_count": 4, "limit": 5}


def test_properties_and_withlines(api):
    _, rows = api.get("/invoices", properties="remaintopay,id,ref,totalpaid", limit=2)
    assert rows == [{"id": "1", "ref": "FA2601-0001", "totalpaid": 120, "remaintopay": "0"},
                    {"id": "2", "ref": "FA2601-0002", "totalpaid": 348.6, "remaintopay": "0"}]
    _, slim = api.get("/invoices", withLines="false", limit=1)
    assert "lines" not in slim[0] and len(slim[0]) == 130
    _, single = api.get("/invoices/1")
    assert len(single["lines"]) == 1 and single["linkedObjectsIds"] == []


def test_status_filter_maps_four_words_and_ignores_the_rest(api):
    assert api.ids(status="paid") == PAID
    assert api.ids(status="draft") == ["30"]
    assert api.ids(status="cancelled") == []
    assert api.ids(status="open") == ALL_IDS
    assert "20" in api.ids(status="unpaid")  # the validated credit note is "unpaid"


def test_thirdparty_ids(api):
    assert api.ids(thirdparty_ids="6") == ["6", "19", "20", "24"]
    assert api.ids(thirdparty_ids="6,12") == ["6", "13", "19", "20", "24"]
    status, body = api.get("/invoices", thirdparty_ids="6;1")
    assert status == 400 and body["error"]["message"] == "Bad Request: Invalid value specified for `thirdparty_ids`"


def test_sorting(api):
    _, rows = api.get("/invoices", sortfield="t.datef", sortorder="DESC", properties="id,ref", limit=3)
    assert [r["ref"] for r in rows] == ["(PROV30)", "FA2602-0003", "FA2602-0002"]
    _, rows = api.get("/invoices", sortfield="t.ref", properties="ref", limit=2)
    assert [r["ref"] for r in rows] == ["(PROV30)", "AV2601-0001"]
    status, body = api.get("/invoices", sortfield="t.date")
    assert status == 503
    assert body["error"]["message"] == ("Service Unavailable: Error when retrieve invoice list : "
                                        "Unknown column 't.date' in 'ORDER BY'")


# --- sqlfilters --------------------------------------------------------------------------

@pytest.mark.parametrize("sqlfilters, expected", [
    ("(t.datef:>=:'2026-01-01') and (t.datef:<=:'2026-01-09')", ["1", "2", "3", "4", "5", "6", "7", "9"]),
    ("(t.datef:>=:'20260203') AND (t.datef:<:'2026-02-05')", ["25", "27"]),
    ("(t.datef:>=:2026-02-05)", ["26", "30"]),
    ("(t.datef:>=:1770249600)", ALL_IDS),  # a Unix timestamp is no date: every row (as live)
    ("(t.date_lim_reglement:<:'2026-02-01') and (t.fk_statut:=:1) and (t.paye:=:0)", ["20", "23"]),
    ("((t.datef:<:'2026-01-03') or (t.type:=:2)) and (t.fk_statut:!=:0)", ["1", "2", "3", "20"]),
    ("(t.datef:<:'2026-01-03') or (t.type:=:2) and (t.fk_statut:=:0)", ["1", "2", "3"]),  # and binds first
    ("(s.nom:like:'%helene%')", ["8", "18", "30"]),  # accent- and case-insensitive like MariaDB
    ("(s.nom:=:'boulangerie lefevre')", ["2", "23", "26"]),
    ("(t.ref:in:'FA2601-0003','FA2602-0001')", ["3", "24"]),
    ("(t.ref:notlike:'FA%')", ["20", "30"]),
    ("t.ref:like:'FA2602-%'", ["24", "25", "26", "27", "28"]),  # no parentheses: wrapped
    ("(t.fk_soc:in:1,6) and (t.total_ttc:>:200)", ["6", "19", "24"]),
    ("(t.fk_facture_source:isnot:NULL)", ["20"]),
    ("(t.ref_client:is:NULL) and (t.type:=:2)", ["20"]),
])
def test_sqlfilters_subset(api, sqlfilters, expected):
    assert api.ids(sqlfilters=sqlfilters) == expected


@pytest.mark.parametrize("sqlfilters, status, message", [
    ("(t.datef>='2026-01-01')", 400,
     "Bad Request: Error when validating parameter sqlfilters -> Bad syntax of the search string: "
     "(t.datef>='2026-01-01')"),
    ("(t.ref:~:'x')", 400,
     "Bad Request: Error when validating parameter sqlfilters -> Bad syntax of the search string: (t.ref:~:'x')"),
    ("t.ref:lk:'x'", 400,
     "Bad Request: Error when validating parameter sqlfilters -> Bad syntax of the search string: (t.ref:lk:'x')"),
    ("(t.ref:=:'(PROV30)')", 400,
     "Bad Request: Error when validating parameter sqlfilters -> Bad syntax of the search string: "
     "(t.ref:=:'(PROV30)')"),
    ("((t.datef:>=:'2026-01-01')", 400,
     "Bad Request: Error when validating parameter sqlfilters -> Wrong balance of parenthesis in "
     "sqlfilters=((t.datef:>=:'2026-01-01')"),
    ("(t.status:=:1)", 503,
     "Service Unavailable: Error when retrieve invoice list : Unknown column 't.status' in 'WHERE'"),
    ("(t.date:>=:'2026-01-01')", 503,
     "Service Unavailable: Error when retrieve invoice list : Unknown column 't.date' in 'WHERE'"),
])
def test_sqlfilters_errors(api, sqlfilters, status, message):
    got_status, body = api.get("/invoices", sqlfilters=sqlfilters)
    assert (got_status, body["error"]["message"]) == (status, message)
    assert body["debug"]["stages"]["failure"] == ["call", "message"]


# --- third parties, reference data, status ---------------------------------------------------

def test_thirdparties_pages_and_empty_page_404(api):
    _, first = api.get("/thirdparties", limit=5, properties="id,name")
    assert first[:2] == [{"id": "1", "name": "Marchand Élodie"}, {"id": "2", "name": "BOULANGERIE LEFEVRE"}]
    _, last = api.get("/thirdparties", limit=5, page=2, pagination_data="true", properties="id")
    assert last == {"data": [{"id": "11"}, {"id": "12"}],
                    "pagination": {"total": 12, "page": 2, "page_count": 3, "limit": 5}}
    status, body = api.get("/thirdparties", limit=5, page=3)
    assert status == 404 and body["error"]["message"] == "Not Found: No third parties found"
    _, found = api.get("/thirdparties", sqlfilters="(t.nom:like:'%oeuvres%')", properties="id")
    assert found == [{"id": "9"}]
    status, body = api.get("/thirdparties/99")
    assert status == 404 and body["error"]["message"] == "Not Found: Thirdparty not found"


def test_reference_data_and_user(api):
    _, types = api.get("/setup/dictionary/payment_types")
    assert {t["code"]: t["id"] for t in types} == {"CB": "6", "CHQ": "7", "LIQ": "4", "PRE": "3", "VIR": "2"}
    _, accounts = api.get("/bankaccounts")
    assert [(a["id"], a["ref"]) for a in accounts] == [("1", "SHINE")]
    _, user = api.get("/users/info")
    assert (user["id"], user["login"]) == ("1", "admin")


def test_status_reports_version_and_timezone():
    with DolibarrEmulator(DEMO, api_key="k", timezone="Europe/Paris") as emulator:
        status, body = Client(emulator, "k").get("/status")
    assert status == 200
    assert body["success"]["dolibarr_version"] == "23.0.0-beta"
    assert body["success"]["timestamp_php_tz"] == "Europe/Paris"


# --- auth and transport ----------------------------------------------------------------------

def test_auth_header_bearer_and_query_key(dolibarr):
    url = dolibarr.url + "/api/index.php/invoices/1"
    assert requests.get(url, headers={"Authorization": "Bearer test-key"}, timeout=5).status_code == 200
    assert requests.get(url, params={"api_key": "test-key"}, timeout=5).status_code == 200
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401 and missing.json()["error"]["message"].startswith(
        "Unauthorized: Failed to login to API. Neither parameter 'HTTP_DOLAPIKEY'")
    wrong = requests.get(url, headers={"DOLAPIKEY": "nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == ""
    assert wrong.json()["error"]["message"] == ("Unauthorized: Error user not valid (not found with api key or "
                                                "bad status or bad validity dates) (conf->entity=1)")
    assert ("GET", "/invoices/1", {"api_key": "***"}) in dolibarr.requests
    status = requests.get(dolibarr.url + "/api/index.php/status", timeout=5)
    assert status.status_code == 401


def test_unknown_resource_route_and_method(dolibarr, api):
    unknown = requests.get(dolibarr.url + "/api/index.php/nosuchthing", timeout=5)
    assert (unknown.status_code, unknown.text) == (501, "API not found (failed to include API file)")
    assert unknown.headers["Content-Type"].startswith("text/html")
    assert requests.get(dolibarr.url + "/index.php", timeout=5).status_code == 404
    assert api.get("/invoices/1/lines")[0] == 404
    assert api.session.delete(api.base + "/invoices/1", timeout=5).status_code == 405
    status, body = api.get("/invoices/abc")
    assert (status, body["error"]["message"]) == (400, "Bad Request: invalid value specified for `id`")
    assert api.get("/invoices/0")[1]["error"]["message"] == "Bad Request: No invoice with id=0 can exist"
    assert api.get("/invoices/999")[1]["error"]["message"] == "Not Found: Invoice not found"


def test_production_mode_compact_without_debug():
    with DolibarrEmulator(DEMO, api_key="k", production=True) as emulator:
        answer = requests.get(emulator.url + "/api/index.php/invoices/999", headers={"DOLAPIKEY": "k"}, timeout=5)
    assert answer.content == b'{"error":{"code":404,"message":"Not Found: Invoice not found"}}'


def test_pretty_json_with_raw_utf8(api):
    raw = api.session.get(api.base + "/thirdparties/1", timeout=5).content
    assert raw.startswith(b'{\n    "module": "societe",') and "Marchand Élodie".encode() in raw


# --- legacy mode ---------------------------------------------------------------------------

def test_legacy_mode_404_on_empty_lists_and_no_pagination_data():
    with DolibarrEmulator(DEMO, api_key="k", legacy=True) as emulator:
        api = Client(emulator, "k")
        status, body = api.get("/invoices", status="cancelled")
        assert (status, body["error"]["message"]) == (404, "Not Found: No invoice found")
        assert api.get("/invoices", limit=5, page=10)[0] == 404
        status, body = api.get("/invoices", limit=5, pagination_data="true", properties="id")
        assert status == 200 and [row["id"] for row in body] == ALL_IDS[:5]
        status, body = api.get("/invoices", sqlfilters="(s.nom:like:'%a%')")
        assert status == 503 and "Unknown column 's.nom'" in body["error"]["message"]
        assert api.get("/status")[1]["success"]["dolibarr_version"] == "17.0.4"


def test_limit_zero_with_pagination_data_is_an_empty_500(api):
    answer = api.session.get(api.base + "/invoices", params={"limit": 0, "pagination_data": "true"}, timeout=5)
    assert (answer.status_code, answer.content) == (500, b"")


# --- dates and timezones -------------------------------------------------------------------

def test_dates_are_midnight_in_the_server_timezone():
    with DolibarrEmulator(DEMO, api_key="k", timezone="Europe/Paris") as paris, \
            DolibarrEmulator(DEMO, api_key="k") as utc:
        assert paris.invoice(5)["date"] == 1767740400  # 2026-01-07 00:00 Paris
        assert utc.invoice(5)["date"] == 1767744000  # 2026-01-07 00:00 UTC
        assert paris.invoice(23)["date_lim_reglement"] == 1769814000  # 2026-01-31 00:00 Paris
        window = "(t.datef:>=:'2026-01-07') and (t.datef:<=:'2026-01-09')"
        assert Client(paris, "k").ids(sqlfilters=window) == Client(utc, "k").ids(sqlfilters=window) == ["5", "7", "9"]
        assert paris.payments(1)[0]["date"] == "2026-01-08 01:00:00"  # stored as 00:00 UTC
        assert utc.payments(1)[0]["date"] == "2026-01-08 00:00:00"


def test_a_paris_snapshot_is_normalised_to_calendar_dates(tmp_path):
    """A dataset saved from a Europe/Paris server (23:00Z timestamps) serves the same days."""
    with DolibarrEmulator(DEMO, api_key="k", timezone="Europe/Paris") as paris:
        invoices = Client(paris, "k").get("/invoices", limit=0)[1]
    (tmp_path / "invoices.json").write_text(json.dumps(invoices), encoding="utf-8")
    (tmp_path / "thirdparties.json").write_text((DEMO / "thirdparties.json").read_text("utf-8"), encoding="utf-8")
    with DolibarrEmulator(tmp_path, api_key="k") as utc:
        assert utc.invoice(5)["date"] == 1767744000
        assert utc.invoice(5)["date_lim_reglement"] == DolibarrEmulator(DEMO).invoice(5)["date_lim_reglement"]


def test_slim_objects_are_served_as_given(tmp_path):
    slim = [{"id": "7", "ref": "FA2601-0001", "status": "1", "date": 1767312000, "total_ttc": "120.00000000",
             "remaintopay": "120", "totalpaid": 0, "type": "0", "socid": "1", "paye": "0"}]
    (tmp_path / "invoices.json").write_text(json.dumps(slim), encoding="utf-8")
    (tmp_path / "thirdparties.json").write_text('[{"id": "1", "name": "A"}]', encoding="utf-8")
    with DolibarrEmulator(tmp_path, api_key="k") as emulator:
        api = Client(emulator, "k")
        assert api.get("/invoices")[1] == slim
        assert api.ids(sqlfilters="(t.datef:=:'2026-01-02') and (s.nom:=:'a')") == ["7"]
        assert api.post("/invoices/7/payments", pay_body()) == (200, 1)
        assert emulator.invoice(7) == {**slim[0], "status": "2", "paye": "1", "totalpaid": 120, "remaintopay": "0"}


def test_a_bad_dataset_is_refused_with_its_file_name(tmp_path):
    with pytest.raises(DatasetError, match="invoices.json: missing"):
        DolibarrEmulator(tmp_path)
    (tmp_path / "invoices.json").write_text('[{"ref": "x"}]', encoding="utf-8")
    (tmp_path / "thirdparties.json").write_text("[]", encoding="utf-8")
    with pytest.raises(DatasetError, match='invoices.json: item 1 has no numeric "id"'):
        DolibarrEmulator(tmp_path)


# --- POST /invoices/{id}/payments ------------------------------------------------------------

def test_full_payment_pays_the_remainder_ignoring_amount_and_closes(api, dolibarr):
    status, payment_id = api.post("/invoices/4/payments", pay_body(num_payment="PM000044QD929V", amount=10))
    assert (status, payment_id) == (200, 9)
    assert dolibarr.payments(4) == [{
        "amount": "89.90000000", "type": "PRE", "typeline": "payment", "date": "2026-02-09 00:00:00",
        "num": "PM000044QD929V", "ref": "PAY2602-0009", "ref_ext": "", "fk_bank_line": "10"}]
    invoice = dolibarr.invoice(4)
    assert (invoice["status"], invoice["statut"], invoice["paye"]) == ("2", "2", "1")
    assert (invoice["totalpaid"], invoice["remaintopay"]) == (89.9, "0")
    status, body = api.post("/invoices/4/payments", pay_body())
    assert (status, body["error"]["message"]) == (400, "Bad Request: Payment error : TotalAmountEmpty")
    assert dolibarr.payment_count() == 9


def test_payment_without_closing_leaves_the_invoice_open(api, dolibarr):
    assert api.post("/invoices/8/payments", pay_body(closepaidinvoices="no"))[0] == 200
    invoice = dolibarr.invoice(8)
    assert (invoice["status"], invoice["paye"], invoice["totalpaid"], invoice["remaintopay"]) == ("1", "0", 45, "0")
    assert "8" in api.ids(status="unpaid")


def test_hazard_a_draft_is_paid_and_closed_without_a_status_check(api, dolibarr):
    assert api.post("/invoices/30/payments", pay_body()) == (200, 9)
    invoice = dolibarr.invoice(30)
    assert (invoice["ref"], invoice["status"], invoice["paye"], invoice["remaintopay"]) == ("(PROV30)", "2", "1", "0")


@pytest.mark.parametrize("body, status, message", [
    ({}, 400, "Bad Request: `datepaye` is required."),
    (pay_body(paymentid=None), 400, "Bad Request: `paymentid` is required."),
    (pay_body(paymentid="PRE"), 400, "Bad Request: Invalid value specified for `paymentid`. Expecting integer value"),
    (pay_body(paymentid=0), 400, "Bad Request: Invalid value specified for `paymentid`. Minimum required value is 1."),
    (pay_body(closepaidinvoices="true"), 400,
     "Bad Request: Invalid value specified for `closepaidinvoices`. Expected one of (yes,no)."),
    (pay_body(accountid=None), 400, "Bad Request: `accountid` is required."),
    (pay_body(accountid=999), 400, "Bad Request: Add payment to bank error : ThisIdNotDefined"),
    (pay_body(paymentid=999), 400, "Bad Request: Add payment to bank error : OperNotDefined"),
    (pay_body(paymentid=7), 400, "Bad Request: Emetteur is mandatory when payment code is CHQ"),
])
def test_payment_errors_write_nothing(api, dolibarr, body, status, message):
    got_status, answer = api.post("/invoices/4/payments", body)
    assert (got_status, answer["error"]["message"]) == (status, message)
    assert dolibarr.payment_count() == 8 and dolibarr.payments(4) == []
    assert api.post("/invoices/999/payments", pay_body())[1]["error"]["message"] == "Not Found: Invoice not found"


@pytest.mark.parametrize("datepaye, shown", [
    (1770595200, "2026-02-09 00:00:00"),
    ("2026-02-09 12:30:00", "2026-02-09 12:30:00"),
    ("20/03/2026", "2026-03-20 00:00:00"),
    ("20260310", "2026-03-10 00:00:00"),
])
def test_payment_dates(api, dolibarr, datepaye, shown):
    api.post("/invoices/4/payments", pay_body(datepaye=datepaye))
    assert dolibarr.payments(4)[0]["date"] == shown
    assert dolibarr.payments(4)[0]["ref"] == f"PAY{shown[2:4]}{shown[5:7]}-0009"


# --- POST /invoices/paymentsdistributed ----------------------------------------------------------

def test_partial_payments_then_the_rest(api, dolibarr):
    body = pay_body(arrayofamounts={"16": share("300.00")}, num_payment="PM00016JYG207J", ref_ext="PM00016JYG207J")
    assert api.post("/invoices/paymentsdistributed", body) == (200, 9)
    invoice = dolibarr.invoice(16)
    assert (invoice["status"], invoice["totalpaid"], invoice["remaintopay"]) == ("1", 300, "600")
    assert dolibarr.payments(16)[0]["ref_ext"] == "PM00016JYG207J"
    assert api.post("/invoices/paymentsdistributed", pay_body(arrayofamounts={"16": share("599.99")}))[0] == 200
    assert dolibarr.invoice(16)["remaintopay"] == "0.01" and dolibarr.invoice(16)["totalpaid"] == 899.99
    assert api.post("/invoices/paymentsdistributed", pay_body(arrayofamounts={"16": share("remain")}))[0] == 200
    invoice = dolibarr.invoice(16)
    assert (invoice["status"], invoice["paye"], invoice["totalpaid"], invoice["remaintopay"]) == ("2", "1", 900, "0")
    assert [p["amount"] for p in dolibarr.payments(16)] == ["300.00000000", "599.99000000", "0.01000000"]


def test_one_payment_over_two_invoices(api, dolibarr):
    body = pay_body(arrayofamounts={"14": share("95"), "15": share("remain")}, num_payment="PM00015N02DPC9")
    assert api.post("/invoices/paymentsdistributed", body) == (200, 9)
    assert [(p["amount"], p["ref"]) for p in dolibarr.payments(14) + dolibarr.payments(15)] == [
        ("95.00000000", "PAY2602-0009"), ("30.00000000", "PAY2602-0009")]
    assert dolibarr.invoice(14)["status"] == dolibarr.invoice(15)["status"] == "2"
    assert dolibarr.payment_count() == 9


def test_no_duplicate_check(api, dolibarr):
    body = pay_body(arrayofamounts={"16": share("100")}, num_payment="PM00017MTGSR0D", ref_ext="PM00017MTGSR0D")
    assert [api.post("/invoices/paymentsdistributed", body)[1] for _ in range(2)] == [9, 10]
    assert [p["num"] for p in dolibarr.payments(16)] == ["PM00017MTGSR0D", "PM00017MTGSR0D"]
    assert dolibarr.invoice(16)["remaintopay"] == "700"


def test_negative_amount_is_accepted(api, dolibarr):
    assert api.post("/invoices/paymentsdistributed", pay_body(arrayofamounts={"18": share("-10")}))[0] == 200
    assert (dolibarr.invoice(18)["totalpaid"], dolibarr.invoice(18)["remaintopay"]) == (-10, "260")


@pytest.mark.parametrize("shares, status, message", [
    ({"4": share("90.00")}, 400, "Bad Request: Payment amount on invoice ID 4 (90) is higher than remain to pay (89.9)"),
    ({"999999": share("10")}, 404, "Not Found: Invoice ID 999999 not found"),
    ({"4": share("0")}, 400, "Bad Request: Payment error : TotalAmountEmpty"),
    ({"4": share("10"), "999": share("10")}, 404, "Not Found: Invoice ID 999 not found"),
])
def test_distributed_errors_write_nothing(api, dolibarr, shares, status, message):
    got_status, answer = api.post("/invoices/paymentsdistributed", pay_body(arrayofamounts=shares))
    assert (got_status, answer["error"]["message"]) == (status, message)
    assert dolibarr.payment_count() == 8


def test_flat_arrayofamounts_is_an_empty_500(api, dolibarr):
    answer = api.session.post(api.base + "/invoices/paymentsdistributed",
                              json=pay_body(arrayofamounts={"4": "10.00"}), timeout=5)
    assert (answer.status_code, answer.content) == (500, b"")
    assert dolibarr.payment_count() == 8


def test_validate_a_draft_then_304(api):
    status, invoice = api.post("/invoices/30/validate", {"notrigger": 0})
    assert (status, invoice["ref"], invoice["status"]) == (200, "FA2602-0023", "1")
    answer = api.session.post(api.base + "/invoices/30/validate", json={}, timeout=5)
    assert (answer.status_code, answer.content) == (304, b"")


# --- fault switches ----------------------------------------------------------------------------

def test_fail_next_answers_without_acting(api, dolibarr):
    dolibarr.fail_next(2, status=503)
    dolibarr.fail_next(1, status=429)
    assert [api.session.get(api.base + "/invoices/1", timeout=5).status_code for _ in range(4)] == [503, 503, 429, 200]
    dolibarr.fail_next(1)
    assert api.session.post(api.base + "/invoices/4/payments", json=pay_body(), timeout=5).status_code == 503
    assert dolibarr.payment_count() == 8
    assert [r[:2] for r in dolibarr.requests] == [("GET", "/invoices/1")] * 4 + [("POST", "/invoices/4/payments")]


def test_drop_after_write_records_then_closes_without_answer(api, dolibarr):
    dolibarr.drop_after_write_next()
    with pytest.raises(requests.ConnectionError):
        api.session.post(api.base + "/invoices/4/payments", json=pay_body(num_payment="PM000044QD929V"), timeout=5)
    assert dolibarr.payment_count() == 9
    assert dolibarr.payments(4)[0]["num"] == "PM000044QD929V" and dolibarr.invoice(4)["status"] == "2"
    assert api.get("/invoices/4")[0] == 200  # next requests are answered again


def test_concurrent_requests_are_served_in_parallel(dolibarr):
    """With a delay, four requests in flight all succeed, in about the time of one (the
    server is threaded; one at a time they would take four delays)."""
    dolibarr.delay = 0.2
    url = dolibarr.url + "/api/index.php/invoices"
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda p: requests.get(url, params={"limit": 8, "page": p, "properties": "id"},
                                                     headers={"DOLAPIKEY": "test-key"}, timeout=5).json(), range(4)))
    assert time.monotonic() - started < 3 * dolibarr.delay
    assert [row["id"] for page in pages for row in page] == ALL_IDS


# --- command line ----------------------------------------------------------------------------

def test_cli_runs_a_command_with_url_and_key_and_returns_its_status():
    probe = ("import os, sys, urllib.request; "
             "r = urllib.request.Request(os.environ['DOLIBARR_URL'] + '/api/index.php/invoices/1', "
             "headers={'DOLAPIKEY': os.environ['DOLIBARR_API_KEY']}); "
             "print(__import__('json').load(urllib.request.urlopen(r))['ref']); sys.exit(3)")
    done = subprocess.run([sys.executable, "-m", "emulator", "--data", str(DEMO), "--timezone", "Europe/Paris",
                           "--", sys.executable, "-c", probe],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert (done.returncode, done.stdout) == (3, "FA2601-0001\n")
    assert "demo-key" not in done.stderr


def test_cli_refuses_a_bad_dataset(tmp_path):
    done = subprocess.run([sys.executable, "-m", "emulator", "--data", str(tmp_path), "--", "true"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invoices.json: missing" in done.stderr and "Traceback" not in done.stderr
