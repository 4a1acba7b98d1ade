"""The Dolibarr client against the emulator (and one-answer servers for what it cannot fake):
paging (parallel and legacy), retries of GETs only, and one clear error per failure."""
import json
import time
from pathlib import Path

import pytest

from emulator import DolibarrEmulator
from recon.dolibarr import (ApiNotFoundError, AuthError, BadRequestError, DolibarrClient,
                            InvalidResponseError, NotFoundError, ServerError,
                            UnreachableError, WriteOutcomeUnknown, api_root, client_from_env,
                            display_url)
from recon.errors import StageError

KEY = "test-key"
DEMO = Path(__file__).resolve().parents[1] / "demo" / "dolibarr"  # served read-only
SLIM = {"properties": "id,ref,status", "withLines": "false"}


def client_for(emulator, key=KEY, **options):
    options.setdefault("backoff", 0.001)
    return DolibarrClient(emulator.url, key, **options)


def list_requests(emulator, path):
    return [query for method, p, query in emulator.requests if method == "GET" and p == path]


def write_dataset(folder, invoices, customers):
    """A slim Dolibarr dataset the emulator can serve: `invoices` invoices over `customers`."""
    folder.mkdir()
    day = 1767225600  # 2026-01-01, UTC midnight
    items = [{"id": str(i), "ref": f"FA2601-{i:04d}", "status": "1", "type": "0", "paye": "0",
              "socid": str(1 + i % customers), "total_ttc": "10.00000000", "totalpaid": 0,
              "remaintopay": "10", "date": day, "date_lim_reglement": day}
             for i in range(1, invoices + 1)]
    parties = [{"id": str(i), "name": f"Client {i}"} for i in range(1, customers + 1)]
    (folder / "invoices.json").write_text(json.dumps(items))
    (folder / "thirdparties.json").write_text(json.dumps(parties))
    return folder


# --- paging -------------------------------------------------------------------------------------

def test_pages_in_parallel_after_learning_the_total_from_the_first(dolibarr):
    with client_for(dolibarr) as client:
        everything = client.list_all("/invoices", SLIM, page_size=100)
        paged = client.list_all("/invoices", SLIM, page_size=7, parallel=3)
    assert paged == everything and len(everything) == 29  # the demo has no invoice 29
    assert [item["id"] for item in paged] == [str(i) for i in range(1, 29)] + ["30"]
    queries = list_requests(dolibarr, "/invoices")[1:]
    assert len(queries) == 5  # ceil(29 / 7): no request past the end
    assert queries[0]["pagination_data"] == "true"
    assert all("pagination_data" not in q for q in queries[1:])
    assert sorted(q["page"] for q in queries) == ["0", "1", "2", "3", "4"]


def test_legacy_server_is_paged_sequentially_and_an_empty_list_404_is_empty(dolibarr):
    dolibarr.legacy = True  # no pagination_data, 404 "No invoice found" on an empty page
    with client_for(dolibarr) as client:
        assert len(client.list_all("/invoices", SLIM, page_size=10)) == 29
        assert len(client.list_all("/invoices", SLIM, page_size=29)) == 29
        assert client.list_all("/invoices", {**SLIM, "sqlfilters": "(t.ref:=:'NOPE')"}) == []
    pages = [q["page"] for q in list_requests(dolibarr, "/invoices")]
    # until a short page; a full last page costs one more request, answered 404
    assert pages == ["0", "1", "2", "0", "1", "0"]


def test_thirdparties_404_past_the_end_is_the_end(dolibarr):
    with client_for(dolibarr) as client:
        parties = client.list_all("/thirdparties", {"properties": "id,name"}, page_size=4)
    assert len(parties) == 12
    assert parties[0] == {"id": "1", "name": "Marchand Élodie"}


def test_progress_reports_items_and_pages(dolibarr):
    seen = []
    with client_for(dolibarr) as client:
        client.list_all("/invoices", SLIM, page_size=10, progress=lambda *a: seen.append(a))
    assert seen == [(10, 1, 3), (20, 2, 3), (29, 3, 3)]


def test_four_pages_in_flight_take_well_under_half_the_sequential_time(tmp_path):
    data = write_dataset(tmp_path / "many", invoices=2000, customers=50)
    with DolibarrEmulator(data, api_key=KEY, delay=0.02) as emulator:
        with client_for(emulator) as client:
            started = time.perf_counter()
            sequential = client.list_all("/invoices", SLIM, page_size=100, parallel=1)
            middle = time.perf_counter()
            parallel = client.list_all("/invoices", SLIM, page_size=100, parallel=4)
            ended = time.perf_counter()
    assert parallel == sequential and len(parallel) == 2000
    assert ended - middle < 0.5 * (middle - started)


# --- retries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [503, 500, 429])
def test_a_burst_of_failures_on_a_get_is_retried(dolibarr, status):
    with client_for(dolibarr) as client:
        expected = client.list_all("/invoices", SLIM)
        dolibarr.fail_next(3, status=status)
        assert client.list_all("/invoices", SLIM) == expected
    assert len(list_requests(dolibarr, "/invoices")) == 1 + 3 + 1


def test_retries_run_out_into_a_server_error(dolibarr):
    dolibarr.fail_next(10)
    with client_for(dolibarr, retries=2) as client, pytest.raises(ServerError) as caught:
        client.get("/invoices/1")
    assert caught.value.status == 503
    assert "after 2 retries" in str(caught.value)
    assert len(dolibarr.requests) == 3


def test_a_post_is_never_retried(dolibarr):
    before = dolibarr.payment_count()
    dolibarr.fail_next(1, status=503)
    with client_for(dolibarr) as client, pytest.raises(ServerError):
        client.post("/invoices/4/payments", {"datepaye": "2026-01-20", "paymentid": 3,
                                             "closepaidinvoices": "yes", "accountid": 1})
    assert [r[0] for r in dolibarr.requests] == ["POST"]
    assert dolibarr.payment_count() == before


def test_a_post_whose_answer_is_lost_is_outcome_unknown(dolibarr):
    before = dolibarr.payment_count()
    dolibarr.drop_after_write_next(1)
    with client_for(dolibarr) as client, pytest.raises(WriteOutcomeUnknown) as caught:
        client.post("/invoices/4/payments", {"datepaye": "2026-01-20", "paymentid": 3,
                                             "closepaidinvoices": "yes", "accountid": 1})
    assert dolibarr.payment_count() == before + 1  # it was recorded; only the answer is gone
    assert len(dolibarr.requests) == 1
    assert "may or may not have recorded it" in str(caught.value)


def test_a_post_returns_the_bare_id(dolibarr):
    with client_for(dolibarr) as client:
        payment_id = client.post("/invoices/4/payments", {
            "datepaye": "2026-01-20", "paymentid": 3, "closepaidinvoices": "yes",
            "accountid": 1})
    assert isinstance(payment_id, int)


# --- errors -------------------------------------------------------------------------------------

def test_wrong_key_is_an_auth_error_naming_the_variable_not_the_key(dolibarr):
    dolibarr.wrong_key_delay = 0
    with client_for(dolibarr, key="s3cr3t-wrong-key", key_name="DOLIBARR_WRITE_API_KEY") as client:
        with pytest.raises(AuthError) as caught:
            client.get("/invoices")
    message = str(caught.value)
    assert caught.value.status == 401
    assert "Set DOLIBARR_WRITE_API_KEY" in message and "s3cr3t" not in message
    assert "Error user not valid" in message


def test_server_info_gives_version_and_timezone():
    with DolibarrEmulator(DEMO, api_key=KEY, timezone="Europe/Paris") as emulator:
        with client_for(emulator) as client:
            info = client.server_info()
    assert (info["version"], info["timezone"]) == ("23.0.0-beta", "Europe/Paris")


def test_404_400_and_sql_errors_keep_the_server_text(dolibarr):
    with client_for(dolibarr, retries=0) as client:
        with pytest.raises(NotFoundError, match="Not Found: Invoice not found"):
            client.get("/invoices/999")
        with pytest.raises(BadRequestError) as bad:
            client.get("/invoices/0")
        with pytest.raises(ServerError) as sql:
            client.get("/invoices", {"sqlfilters": "(t.nosuchcol:=:1)"})
    assert str(bad.value) == "Bad Request: No invoice with id=0 can exist"
    assert "database error" in str(sql.value) and "Unknown column 't.nosuchcol'" in str(sql.value)


def test_501_and_html_404_say_the_base_url_is_wrong(dolibarr):
    with client_for(dolibarr) as client, pytest.raises(ApiNotFoundError) as not_api:
        client.get("/nosuchthing")
    assert "501" in str(not_api.value) and "wrong base URL?" in str(not_api.value)
    with DolibarrClient(dolibarr.url + "/erp", KEY) as client:
        with pytest.raises(ApiNotFoundError) as html:
            client.get("/status")
    assert "404: 404 Not Found Not Found" in str(html.value)


def test_unreachable_url():
    with DolibarrClient("http://127.0.0.1:9", KEY, retries=1, backoff=0.001) as client:
        with pytest.raises(UnreachableError) as caught:
            client.get("/status")
    assert str(caught.value) == ("cannot reach Dolibarr at http://127.0.0.1:9 (connection "
                                 "refused after 1 retries): check DOLIBARR_URL and that the "
                                 "server is up")


@pytest.mark.parametrize("body", [b"<html><body>Login</body></html>"])
def test_a_200_that_is_not_json_is_an_invalid_response(body, one_answer_server):
    with DolibarrClient(one_answer_server(200, body, "text/html"), KEY) as client:
        with pytest.raises(InvalidResponseError) as caught:
            client.get("/invoices")
    assert "is not JSON (status 200" in str(caught.value)


def test_a_json_answer_cut_off_says_after_how_many_bytes(one_answer_server):
    """Issue 10 item 7: not "is DOLIBARR_URL the Dolibarr root?"."""
    with DolibarrClient(one_answer_server(200, b'[{"id": "1",'), KEY) as client:
        with pytest.raises(InvalidResponseError) as caught:
            client.get("/invoices")
    assert str(caught.value).startswith(
        "the answer to GET /invoices was cut off after 12 bytes (JSON that stops before its end")
    assert "Dolibarr root" not in str(caught.value)


def test_status_without_success_block_is_not_dolibarr(one_answer_server):
    with DolibarrClient(one_answer_server(200, b'{"hello": "world"}'), KEY) as client:
        with pytest.raises(InvalidResponseError, match="no 'success' object"):
            client.server_info()


# --- construction -------------------------------------------------------------------------------

def test_urls_are_normalised_and_shown_without_credentials():
    assert api_root("https://erp.example.com/dolibarr/") == \
        "https://erp.example.com/dolibarr/api/index.php"
    assert api_root("http://h/api/index.php") == "http://h/api/index.php"
    assert display_url("https://bob:pw@erp.example.com:8443/x/?DOLAPIKEY=k") == \
        "https://erp.example.com:8443/x"


def test_client_from_env_names_the_missing_variable(monkeypatch, capsys):
    monkeypatch.delenv("DOLIBARR_URL", raising=False)
    with pytest.raises(StageError, match="DOLIBARR_URL is not set"):
        client_from_env({})
    monkeypatch.setenv("DOLIBARR_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("DOLIBARR_API_KEY", raising=False)
    monkeypatch.delenv("DOLIBARR_WRITE_API_KEY", raising=False)
    with pytest.raises(StageError, match="DOLIBARR_API_KEY is not set"):
        client_from_env({})
    monkeypatch.setenv("DOLIBARR_API_KEY", "read-key")
    client = client_from_env({"dolibarr": {"read_timeout_seconds": 7}}, write=True)
    assert (client.key_name, client.timeout) == ("DOLIBARR_API_KEY", (5, 7))
    assert "DOLIBARR_WRITE_API_KEY is not set; writing with DOLIBARR_API_KEY" in \
        capsys.readouterr().err
    monkeypatch.setenv("DOLIBARR_WRITE_API_KEY", "write-key")
    assert client_from_env({}, write=True).key_name == "DOLIBARR_WRITE_API_KEY"
