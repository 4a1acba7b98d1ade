"""Write the demo Dolibarr dataset (demo/dolibarr/) served by `make demo` and the tests.

It is the "Intended Dolibarr state" of tests/data/formats/GROUND_TRUTH.md: invoices 1..28 in
the table's order and the draft (PROV30) as id 30, one third party per distinct name, and a
payment for every paid invoice whose `num` is the GoCardless payment that paid it. Objects
are full API objects modelled on the ones captured from a real Dolibarr
(tests/data/dolibarr_captured/): same keys, string-typed numbers, 8-decimal amounts, dates
as UTC-midnight timestamps.

    .venv/bin/python demo/make_dolibarr_dataset.py [--out demo/dolibarr]
"""
from __future__ import annotations

import argparse
import copy
import json
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPTURED = ROOT / "tests" / "data" / "dolibarr_captured"
VAT = Decimal("1.20")

# (ref, third party, invoice date, total TTC, state, due date if not date + 30 days)
INVOICES = [
    ("FA2601-0001", "Marchand Élodie", "2026-01-02", "120.00", "paid", None),
    ("FA2601-0002", "BOULANGERIE LEFEVRE", "2026-01-02", "348.60", "paid", None),
    ("FA2601-0003", "Cabinet Dubois et Associés", "2026-01-02", "1250.00", "paid", None),
    ("FA2601-0004", "Nguyen Jérôme", "2026-01-05", "89.90", "unpaid", None),
    ("FA2601-0005", "Les Jardins de Chloé", "2026-01-07", "540.00", "unpaid", None),
    ("FA2601-0006", "Ferme Fontaine", "2026-01-05", "215.40", "paid", None),
    ("FA2601-0007", "Garage Perrin Frères", "2026-01-09", "780.00", "paid", None),
    ("FA2601-0008", "Roussel Hélène", "2026-01-14", "45.00", "unpaid", None),
    ("FA2601-0009", "SCI Garnier Oeuvres", "2026-01-09", "1800.00", "paid", None),
    ("FA2601-0010", "LAMBERT Zoé", "2026-01-12", "60.00", "unpaid", None),
    ("FA2601-0011", "Caron Electricite", "2026-01-19", "150.00", "unpaid", None),
    ("FA2601-0012", "Caron Electricite", "2026-01-20", "150.00", "unpaid", None),
    ("FA2601-0013", "Bistrot Chez Margaux", "2026-01-19", "72.50", "unpaid", None),
    ("FA2601-0014", "Marchand Élodie", "2026-01-21", "95.00", "unpaid", None),
    ("FA2601-0015", "Marchand Élodie", "2026-01-21", "30.00", "unpaid", None),
    ("FA2601-0016", "Cabinet Dubois et Associés", "2026-01-12", "900.00", "unpaid", None),
    ("FA2601-0017", "Nguyen Jérôme", "2026-01-23", "49.00", "unpaid", None),
    ("FA2601-0018", "Roussel Hélène", "2026-01-23", "250.00", "unpaid", None),
    ("FA2601-0019", "Ferme Fontaine", "2026-01-12", "400.00", "paid", None),
    ("AV2601-0001", "Ferme Fontaine", "2026-01-27", "-100.00", "credit_note", "2026-01-27"),
    ("FA2601-0020", "SCI Garnier Oeuvres", "2026-01-23", "1200.00", "unpaid", None),
    ("FA2601-0021", "Cabinet Dubois et Associés", "2026-01-23", "420.00", "paid", None),
    # due date typed by hand in Dolibarr (the only invoice without a GoCardless payment)
    ("FA2601-0022", "BOULANGERIE LEFEVRE", "2026-01-16", "66.00", "unpaid", "2026-01-31"),
    ("FA2602-0001", "Ferme Fontaine", "2026-02-02", "215.40", "unpaid", None),
    ("FA2602-0002", "Marchand Élodie", "2026-02-04", "120.00", "unpaid", None),
    ("FA2602-0003", "BOULANGERIE LEFEVRE", "2026-02-05", "348.60", "unpaid", None),
    ("FA2602-0004", "LAMBERT Zoé", "2026-02-03", "60.00", "unpaid", None),
    ("FA2602-0005", "Nguyen Jérôme", "2026-02-02", "89.90", "unpaid", None),
    ("(PROV30)", "Roussel Hélène", "2026-02-06", "45.00", "draft", None),
]
CREDITED = {"AV2601-0001": "FA2601-0019"}
# invoice → (GoCardless payment id, date the payment was recorded in Dolibarr)
PAYMENTS = {
    "FA2601-0001": ("PM00001D9EN5ZD", "2026-01-08"),
    "FA2601-0002": ("PM00002784FWY3", "2026-01-08"),
    "FA2601-0003": ("PM00003XQ3S8NX", "2026-01-08"),
    "FA2601-0009": ("PM00011BYWACBS", "2026-01-15"),
    "FA2601-0019": ("PM00021F9WF30C", "2026-01-16"),
    "FA2601-0007": ("PM00009WPREQ8J", "2026-01-21"),  # marked paid after payout PO_B
    "FA2601-0006": ("PM00008N79TGK1", "2026-01-23"),
    "FA2601-0021": ("PM00023CPMXABD", "2026-01-29"),
}
# name → (individual?, email, town, zip)
THIRDPARTIES = {
    "Marchand Élodie": (True, "elodie.marchand@example.fr", "Lyon", "69003"),
    "BOULANGERIE LEFEVRE": (False, "contact@boulangerie-lefevre.example", "Villeurbanne", "69100"),
    "Cabinet Dubois et Associés": (False, "compta@cabinet-dubois.example", "Lyon", "69002"),
    "Nguyen Jérôme": (True, "jerome.nguyen@example.fr", "Vénissieux", "69200"),
    "Les Jardins de Chloé": (False, "bonjour@jardins-chloe.example", "Écully", "69130"),
    "Ferme Fontaine": (False, "ferme.fontaine@example.fr", "Brignais", "69530"),
    "Garage Perrin Frères": (False, "atelier@garage-perrin.example", "Bron", "69500"),
    "Roussel Hélène": (True, "helene.roussel@example.fr", "Caluire-et-Cuire", "69300"),
    "SCI Garnier Oeuvres": (False, "gestion@sci-garnier.example", "Lyon", "69006"),
    "LAMBERT Zoé": (True, "zoe.lambert@example.fr", "Oullins", "69600"),
    "Caron Electricite": (False, "caron.elec@example.fr", "Décines-Charpieu", "69150"),
    "Bistrot Chez Margaux": (False, "margaux@bistrot.example", "Lyon", "69001"),
}
PAYMENT_URL = "http://localhost/dolibarr/public/payment/newpayment.php?source=invoice&ref="


def money(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.00000001")), "f")


def shortest(amount: Decimal) -> str:
    return "0" if amount == 0 else format(amount.quantize(Decimal("0.01")).normalize(), "f")


def utc_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def load_templates() -> tuple[dict, dict, dict]:
    invoices = json.loads((CAPTURED / "GET_invoices_all_full_snapshot.json").read_text(encoding="utf-8"))
    parties = json.loads((CAPTURED / "GET_thirdparties_all_full_snapshot.json").read_text(encoding="utf-8"))
    by_id = {p["id"]: p for p in parties}
    return next(i for i in invoices if i["id"] == "2"), by_id["1"], by_id["2"]


def invoice_ids() -> dict[str, int]:
    """Table order, 1..28; the draft keeps the id its ref names."""
    ids = {}
    for position, (ref, *_rest) in enumerate(INVOICES, start=1):
        ids[ref] = int(ref[5:-1]) if ref.startswith("(PROV") else position
    return ids


def build_thirdparties(company: dict, person: dict) -> tuple[list[dict], dict[str, int]]:
    parties, ids = [], {}
    for number, (name, (individual, email, town, zipcode)) in enumerate(THIRDPARTIES.items(), start=1):
        party = copy.deepcopy(person if individual else company)
        party.update({
            "id": str(number), "ref": name, "name": name, "name_alias": "", "email": email,
            "code_client": f"CU2512-{number:05d}", "town": town, "zip": zipcode,
            "address": f"{10 + number} rue de la République",
            "typent_id": "8" if individual else "4", "typent_code": "TE_PRIVATE" if individual else "TE_SMALL",
            "idprof2": "" if individual else f"8{number:02d}4567890{number:04d}"[:14],
            "tva_intra": "" if individual else f"FR{number:02d}8{number:02d}456789",
            "date_creation": utc_midnight(date(2025, 12, 1)) + 3600 * (8 + number),
        })
        parties.append(party)
        ids[name] = number
    return parties, ids


def build_line(template: dict, invoice_id: int, desc: str, ht: Decimal, tva: Decimal) -> dict:
    line = copy.deepcopy(template)
    line.update({
        "id": str(invoice_id), "rowid": str(invoice_id), "fk_facture": str(invoice_id),
        "desc": desc, "description": desc, "subprice": money(ht), "multicurrency_subprice": money(ht),
        "total_ht": money(ht), "total_tva": money(tva), "total_ttc": money(ht + tva),
        "multicurrency_total_ht": money(ht), "multicurrency_total_tva": money(tva),
        "multicurrency_total_ttc": money(ht + tva),
    })
    return line


def build_invoice(template: dict, row: tuple, ids: dict[str, int], party_ids: dict[str, int]) -> dict:
    ref, party, day_text, total_text, state, due_text = row
    invoice_id, day, total = ids[ref], date.fromisoformat(day_text), Decimal(total_text)
    due = date.fromisoformat(due_text) if due_text else day + timedelta(days=30)
    ht = (total / VAT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    tva = total - ht
    paid = state == "paid"
    created = utc_midnight(day) + 9 * 3600 + 30 * 60
    modified = utc_midnight(date.fromisoformat(PAYMENTS[ref][1])) + 10 * 3600 if paid else created + 300
    invoice = copy.deepcopy(template)
    invoice.update({
        "id": str(invoice_id), "ref": ref, "socid": str(party_ids[party]),
        "statut": {"paid": "2", "draft": "0"}.get(state, "1"), "paye": "1" if paid else "0",
        "type": "2" if state == "credit_note" else "0",
        "date": utc_midnight(day), "date_lim_reglement": utc_midnight(due),
        "date_creation": created, "date_modification": modified, "datem": modified,
        "date_validation": "" if state == "draft" else utc_midnight(day),
        "total_ht": money(ht), "total_tva": money(tva), "total_ttc": money(total),
        "multicurrency_total_ht": money(ht), "multicurrency_total_tva": money(tva),
        "multicurrency_total_ttc": money(total),
        "totalpaid": (int(total) if total == int(total) else float(total)) if paid else 0,
        "remaintopay": "0" if paid else shortest(total),
        "note_private": None, "ref_client": None, "ref_customer": None, "close_code": None,
        "creditnote_ids": [str(ids[c]) for c, source in CREDITED.items() if source == ref],
        "fk_facture_source": str(ids[CREDITED[ref]]) if ref in CREDITED else None,
        "last_main_doc": None if state == "draft" else f"facture/{ref}/{ref}.pdf",
        "online_payment_url": PAYMENT_URL + ref,
        "user_validation_id": None if state == "draft" else "1",
        "fk_user_valid": None if state == "draft" else "1",
        "lines": [build_line(template["lines"][0], invoice_id, description(ref, state), ht, tva)],
    })
    invoice["status"] = invoice["statut"]
    if state == "credit_note":
        invoice.update({"cond_reglement_id": "1", "cond_reglement_code": "RECEP",
                        "cond_reglement_doc": "Due upon receipt"})
    return invoice


def description(ref: str, state: str) -> str:
    if state == "credit_note":
        return f"Avoir - remboursement partiel {CREDITED[ref]}"
    return f"Prestation d'éclairage - facture {ref}" if state != "draft" else "Prestation d'éclairage - février"


def build_payments(ids: dict[str, int], totals: dict[str, Decimal]) -> dict[str, list[dict]]:
    """One PRE payment per paid invoice, refs PAY2601-nnnn numbered in date order."""
    ordered = sorted(PAYMENTS.items(), key=lambda item: (item[1][1], ids[item[0]]))
    payments = {}
    for number, (ref, (gocardless_id, day)) in enumerate(ordered, start=1):
        payments[str(ids[ref])] = [{
            "amount": money(totals[ref]), "type": "PRE", "typeline": "payment",
            "date": f"{day} 00:00:00", "num": gocardless_id, "ref": f"PAY{day[2:4]}{day[5:7]}-{number:04d}",
            "ref_ext": "", "fk_bank_line": str(number + 1),
        }]
    return dict(sorted(payments.items(), key=lambda item: int(item[0])))


def build_dataset() -> dict[str, list | dict]:
    invoice_template, company, person = load_templates()
    parties, party_ids = build_thirdparties(company, person)
    ids = invoice_ids()
    invoices = sorted((build_invoice(invoice_template, row, ids, party_ids) for row in INVOICES),
                      key=lambda invoice: int(invoice["id"]))
    totals = {row[0]: Decimal(row[3]) for row in INVOICES}
    return {"invoices.json": invoices, "thirdparties.json": parties, "payments.json": build_payments(ids, totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "dolibarr", help="output folder")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, content in build_dataset().items():
        (out / name).write_text(json.dumps(content, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
