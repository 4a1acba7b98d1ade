"""Snapshot JSON -> INVOICES: the real captured snapshot, both file layouts, money to cents
without floats, dates from any server timezone, and clear errors on bad input."""
import json
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from recon.errors import InputError
from recon.invoices import (INVOICE_PROPERTIES, calendar_date, cents, in_window,
                            load_snapshot)
from recon.schemas import INVOICES

CAPTURED = "dolibarr_captured"
SG, HD, BM = "Société Générale d'Études", "Hélène Dupré", "Boulangerie Martin SARL"
JF, AO, AC = "Jean-François Lefèvre", "Atelier Œuvre & Cie", "ACME Consulting Ltd"

# tests/data/dolibarr_captured/README.md, "The test dataset at the end".
# id, ref, type, status, paid, customer, date, total, paid, remaining, close_code, mode
EXPECTED = [
    (1, "FA2601-0001", 0, 2, True, SG, "2026-01-05", 120000, 120000, 0, None, "PRE"),
    (2, "FA2601-0002", 0, 2, True, HD, "2026-01-07", 6000, 6000, 0, None, "PRE"),
    (3, "FA2601-0003", 0, 1, False, BM, "2026-01-12", 24000, 0, 24000, None, "PRE"),
    (4, "FA2601-0004", 0, 1, False, JF, "2026-01-15", 9990, 6000, 3990, None, "PRE"),
    (5, "FA2601-0005", 0, 2, True, AO, "2026-01-20", 48000, 48000, 0, None, "PRE"),
    (6, "FA2602-0006", 0, 2, True, AO, "2026-02-02", 12000, 12000, 0, None, "PRE"),
    (7, "FA2602-0007", 0, 3, False, AC, "2026-02-03", 180000, 0, 180000, "abandon", "PRE"),
    (8, "FA2602-0009", 0, 1, False, SG, "2026-02-10", 36000, 0, 36000, None, "PRE"),
    (9, "FA2602-0008", 0, 2, False, HD, "2026-02-07", 6000, 5500, 500, "discount_vat", "PRE"),
    (10, "FA2603-0010", 0, 1, False, BM, "2026-03-02", 24000, 0, 24000, None, "PRE"),
    (11, "FA2603-0011", 0, 1, False, HD, "2026-03-07", 6000, 0, 6000, None, "PRE"),
    (12, "FA2603-0012", 0, 2, True, AO, "2026-03-09", 3334, 3334, 0, None, "PRE"),
    (13, "FA2603-0013", 0, 1, False, SG, "2026-03-10", 60000, 60000, 0, None, "PRE"),
    (14, "(PROV14)", 0, 0, False, JF, "2026-03-20", 15000, 0, 15000, None, "PRE"),
    (15, "(PROV15)", 0, 0, False, AC, "2026-03-25", 90000, 0, 90000, None, "PRE"),
    (16, "AV2602-0001", 2, 1, False, SG, "2026-02-15", -20000, 0, -20000, None, "VIR"),
    (17, "FA2603-0014", 0, 2, True, BM, "2026-03-15", 18000, 18000, 0, None, "PRE"),
    (18, "FA2603-0015", 0, 1, False, AC, "2026-03-16", 10800, 0, 10800, None, "PRE"),
]
SOCID = {SG: 1, HD: 2, BM: 3, JF: 4, AO: 5, AC: 6}
REF_CLIENT = {1: "PO-2026-001", 8: "PO-2026-017", 13: "PO-2026-031"}


def expected_frame() -> pl.DataFrame:
    columns = ("invoice_id", "invoice_ref", "type", "status", "paid", "customer_name",
               "invoice_date", "total_cents", "paid_cents", "remaining_cents", "close_code",
               "payment_mode")
    frame = pl.DataFrame([dict(zip(columns, row)) for row in EXPECTED])
    return frame.with_columns(
        pl.col("invoice_date").str.to_date(),
        socid=pl.col("customer_name").replace_strict(SOCID, return_dtype=pl.Int64),
        ref_client=pl.col("invoice_id").replace_strict(REF_CLIENT, default=None,
                                                       return_dtype=pl.String),
        currency=pl.lit("EUR"),
    )


@pytest.fixture
def captured(lazy_shared_datadir, tmp_path):
    """The captured full snapshot as a snapshot folder (pretty-printed, 131-key objects)."""
    folder = tmp_path / "captured_snapshot"
    folder.mkdir()
    (lazy_shared_datadir / CAPTURED / "GET_invoices_all_full_snapshot.json").rename(
        folder / "invoices.json")
    (lazy_shared_datadir / CAPTURED / "GET_thirdparties_all_full_snapshot.json").rename(
        folder / "thirdparties.json")
    return folder


def write_snapshot(folder, invoices, thirdparties=({"id": "1", "name": "Client"},),
                   layout="lines"):
    """A snapshot as fetch_dolibarr writes it (JSON Lines, `.jsonl`), or, with
    layout="array", a JSON array with one compact object per line (`.json`)."""
    folder.mkdir(exist_ok=True)
    for name, items in (("invoices", invoices), ("thirdparties", thirdparties)):
        lines = [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items]
        if layout == "lines":
            (folder / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in lines),
                                                   encoding="utf-8")
        else:
            text = "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"
            (folder / f"{name}.json").write_text(text, encoding="utf-8")
    return folder


def slim(invoice: dict, **changes) -> dict:
    return {**{k: invoice.get(k) for k in INVOICE_PROPERTIES}, **changes}


def an_invoice(**changes) -> dict:
    base = {"id": "1", "ref": "FA2601-0001", "ref_client": None, "socid": "1", "type": "0",
            "status": "1", "paye": "0", "close_code": None, "total_ttc": "60.00000000",
            "totalpaid": 0, "remaintopay": "60", "date": 1767744000,
            "date_lim_reglement": 1770336000, "multicurrency_code": "EUR",
            "mode_reglement_code": "PRE"}
    return {**base, **changes}


# --- the real captured snapshot ----------------------------------------------------------------

def test_captured_snapshot_all_18_invoices_exact(captured):
    invoices = load_snapshot(captured)
    assert invoices.schema == pl.Schema(INVOICES)
    wanted = [c for c in INVOICES if c != "due_date"]
    assert_frame_equal(invoices.select(wanted), expected_frame().select(wanted))
    assert invoices["due_date"][0] == date(2026, 2, 4)


def test_slim_one_per_line_and_full_pretty_printed_read_alike(captured, tmp_path):
    full = json.loads((captured / "invoices.json").read_text(encoding="utf-8"))
    parties = json.loads((captured / "thirdparties.json").read_text(encoding="utf-8"))
    folder = write_snapshot(tmp_path / "slim", [slim(i) for i in full],
                            [{"id": p["id"], "name": p["name"]} for p in parties])
    assert_frame_equal(load_snapshot(folder), load_snapshot(captured))


def test_a_page_saved_with_pagination_data_is_read_too(captured):
    items = json.loads((captured / "invoices.json").read_text(encoding="utf-8"))
    (captured / "invoices.json").write_text(json.dumps(
        {"data": items, "pagination": {"total": 18, "page": 0, "page_count": 1, "limit": 100}}))
    assert load_snapshot(captured).height == 18


@pytest.mark.parametrize("layout", ["lines", "array"])
def test_an_empty_snapshot_is_an_empty_frame(tmp_path, layout):
    folder = write_snapshot(tmp_path / "empty", [], [], layout=layout)
    assert load_snapshot(folder).schema == pl.Schema(INVOICES)
    assert load_snapshot(folder).height == 0


@pytest.mark.parametrize("layout, suffix", [("lines", ".jsonl"), ("array", ".json")])
def test_layout_variants_of_one_object_per_line_read_alike(tmp_path, layout, suffix):
    invoices = [an_invoice(id=str(i), ref=f"FA2601-{i:04d}", ref_client="PO 7, lot \"B\"/é"
                           if i == 2 else None) for i in range(1, 4)]
    plain = load_snapshot(write_snapshot(tmp_path / "plain", invoices, layout=layout))
    assert plain["ref_client"].to_list() == [None, 'PO 7, lot "B"/é', None]
    text = (tmp_path / "plain" / f"invoices{suffix}").read_text(encoding="utf-8")
    for name, variant in [("bom", "\ufeff" + text), ("crlf", text.replace("\n", "\r\n")),
                          ("blank_end", text + "\n \n"), ("no_newline", text.rstrip("\n"))]:
        folder = write_snapshot(tmp_path / name, [], layout=layout)
        (folder / f"invoices{suffix}").write_text(variant, encoding="utf-8")
        (folder / f"thirdparties{suffix}").write_bytes(
            (tmp_path / "plain" / f"thirdparties{suffix}").read_bytes())
        assert_frame_equal(load_snapshot(folder), plain)


def test_json_lines_are_read_before_a_json_array_of_the_same_folder(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice(ref="FA2601-0001")], layout="array")
    assert load_snapshot(folder)["invoice_ref"].to_list() == ["FA2601-0001"]
    write_snapshot(folder, [an_invoice(ref="FA2601-0002")])
    assert load_snapshot(folder)["invoice_ref"].to_list() == ["FA2601-0002"]


def test_invoices_come_out_in_id_order_whatever_the_file_order(tmp_path):
    invoices = [an_invoice(id=i, socid=str(int(i) % 2 + 1)) for i in ("3", "10", "1", "2")]
    parties = [{"id": "1", "name": "Un"}, {"id": "2", "name": "Deux"}]
    frame = load_snapshot(write_snapshot(tmp_path / "s", invoices, parties))
    assert frame.select("invoice_id", "customer_name").rows() == [
        (1, "Deux"), (2, "Un"), (3, "Deux"), (10, "Un")]


def test_dates_as_json_strings_read_like_json_integers(tmp_path):
    as_int = [an_invoice(), an_invoice(id="2", date_lim_reglement=None)]
    as_text = [an_invoice(date="1767744000", date_lim_reglement="1770336000"),
               an_invoice(id="2", date="1767744000", date_lim_reglement=None)]
    expected = load_snapshot(write_snapshot(tmp_path / "int", as_int))
    assert expected["due_date"].to_list() == [date(2026, 2, 6), None]
    assert_frame_equal(load_snapshot(write_snapshot(tmp_path / "text", as_text)), expected)


# --- money and dates --------------------------------------------------------------------------

def test_cents_from_decimal_text_never_through_float():
    texts = ["1200.00000000", "-200.00000000", "39.9", "0", "33.34", "0.30000000000000004",
             "33.339999999999996", "12.345", "-12.345", "0.004", "99999999999.99"]
    got = pl.DataFrame({"t": texts}).select(cents(pl.col("t")))["t"].to_list()
    assert got == [120000, -20000, 3990, 0, 3334, 30, 3334, 1235, -1235, 0, 9999999999999]


@pytest.mark.parametrize("text, expected", [
    ("123.45000000", 12345), ("-123.45000000", -12345), ("0.00500000", 1), ("-0.005", -1),
    ("0.00499999", 0), ("-0.00499999", 0), ("-0.00000001", 0), ("0.994", 99), ("0.995", 100),
    ("-0", 0), ("7", 700), ("-7.1", -710), ("1.999999995", 200), ("1.999999994", 200),
    ("999999999999999.99", 99999999999999999), ("-999999999999999.995", -100000000000000000),
    (None, None),
])
def test_cents_edges_round_half_away_from_zero_exactly(text, expected):
    got = pl.DataFrame({"t": [text]}, schema={"t": pl.String}).select(cents(pl.col("t")))
    assert got.dtypes == [pl.Int64] and got["t"][0] == expected


def test_totalpaid_json_numbers_int_or_float_become_exact_cents(tmp_path):
    invoices = [an_invoice(id="1", totalpaid=1200, total_ttc="1200.00000000", remaintopay="0"),
                an_invoice(id="2", totalpaid=33.34, total_ttc="33.34000000", remaintopay="0"),
                an_invoice(id="3", totalpaid=0.1 + 0.2, total_ttc="0.30000000", remaintopay="0"),
                an_invoice(id="4", totalpaid=55, remaintopay="5")]
    frame = load_snapshot(write_snapshot(tmp_path / "s", invoices))
    assert frame["paid_cents"].to_list() == [120000, 3334, 30, 5500]
    assert frame["remaining_cents"].to_list() == [0, 0, 0, 500]


def test_paris_and_utc_servers_give_the_same_dates(tmp_path):
    # invoice date 2026-01-07: UTC server 1767744000, Europe/Paris server 1767740400
    utc = write_snapshot(tmp_path / "utc", [an_invoice(date=1767744000,
                                                       date_lim_reglement=1770336000)])
    paris = write_snapshot(tmp_path / "paris", [an_invoice(date=1767740400,
                                                           date_lim_reglement=1770332400)])
    frames = [load_snapshot(utc), load_snapshot(utc, timezone="UTC"), load_snapshot(paris),
              load_snapshot(paris, timezone="Europe/Paris")]
    for frame in frames:
        assert frame.select("invoice_date", "due_date").row(0) == (date(2026, 1, 7),
                                                                   date(2026, 2, 6))


def test_known_timezone_is_exact_even_beyond_12_hours():
    # midnight 2026-01-07 in Pacific/Kiritimati (UTC+14) is 10:00 UTC the day before
    seconds = pl.DataFrame({"s": [1767693600]})
    assert seconds.select(calendar_date(pl.col("s"), "Pacific/Kiritimati"))["s"][0] == \
        date(2026, 1, 7)


def test_credit_note_stays_negative_and_unknown_customer_has_no_name(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice(
        ref="AV2601-0001", type="2", socid="9", total_ttc="-200.00000000",
        remaintopay="-200")])
    row = load_snapshot(folder).row(0, named=True)
    assert (row["type"], row["total_cents"], row["remaining_cents"]) == (2, -20000, -20000)
    assert row["customer_name"] is None


def test_window_keeps_dated_ones_and_every_unpaid_one(captured):
    kept = in_window(load_snapshot(captured), date(2026, 3, 1), date(2026, 3, 10), 0)
    # dated 03-01..03-10: 10, 11, 12, 13; plus status 1 whatever the date: 3, 4, 8, 16, 18
    assert kept["invoice_id"].to_list() == [3, 4, 8, 10, 11, 12, 13, 16, 18]


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("change, column, value, expected", [
    ({"total_ttc": "12,50"}, "total_ttc", "12,50", "a decimal amount"),
    ({"totalpaid": "lots"}, "totalpaid", "lots", "a number such as 1200"),
    ({"status": "open"}, "status", "open", "a whole number"),
    ({"date": "2026-01-07"}, "date", "2026-01-07", "a Unix timestamp"),
    ({"date": 1767744000.5}, "date", "1767744000.5", "a Unix timestamp"),
    ({"paye": "yes"}, "paye", "yes", '"0" or "1"'),
])
def test_a_bad_value_names_file_line_key_and_value(tmp_path, change, column, value, expected):
    folder = write_snapshot(tmp_path / "s", [an_invoice(), an_invoice(id="2", **change)])
    with pytest.raises(InputError) as caught:
        load_snapshot(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'invoices.jsonl'}, line 2, column '{column}': "
                              f"invoice #2 (id 2): unexpected {column}; found '{value}'")
    assert expected in message


def test_an_integer_date_beyond_15_digits_is_reported(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice(), an_invoice(id="2", date=10 ** 15)])
    with pytest.raises(InputError, match=r"line 2, column 'date': invoice #2 \(id 2\): "
                                         r"unexpected date; found 1000000000000000"):
        load_snapshot(folder)


def test_a_missing_key_is_reported(tmp_path):
    invoice = an_invoice()
    del invoice["remaintopay"]
    with pytest.raises(InputError, match="invoice #1 \\(id 1\\): missing remaintopay"):
        load_snapshot(write_snapshot(tmp_path / "s", [invoice]))


def test_invalid_json_lines_give_the_line(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice(), an_invoice(id="2")])
    lines = (folder / "invoices.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "invoices.jsonl").write_text(f"{lines[0]}\n{lines[1][:-1]}\n[1]\n")
    with pytest.raises(InputError, match=r"invoices.jsonl, line 2: not a JSON object "
                                         r"\(Expecting ',' delimiter"):
        load_snapshot(folder)
    (folder / "invoices.jsonl").write_text(f"{lines[0]}\n[1]\n")
    with pytest.raises(InputError, match=r"invoices.jsonl, line 2: not a JSON object "
                                         r"\(not an object\); found '\[1\]'"):
        load_snapshot(folder)


def test_invalid_json_gives_the_line(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice()], layout="array")
    (folder / "invoices.json").write_text('[\n  {"id": "1",\n  "ref": }\n]\n')
    with pytest.raises(InputError, match=r"invoices.json, line 3: not valid JSON at character"):
        load_snapshot(folder)


def test_not_an_array_of_objects(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice()], layout="array")
    (folder / "invoices.json").write_text('{"error": {"code": 401}}')
    with pytest.raises(InputError, match="not a JSON array of objects"):
        load_snapshot(folder)


def test_the_same_invoice_twice_is_refused(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice(), an_invoice()])
    with pytest.raises(InputError, match="the same invoice appears twice"):
        load_snapshot(folder)


def test_a_missing_file_says_what_a_snapshot_holds(tmp_path):
    folder = write_snapshot(tmp_path / "s", [an_invoice()])
    (folder / "thirdparties.jsonl").unlink()
    with pytest.raises(InputError, match="thirdparties.jsonl: file not found"):
        load_snapshot(folder)
