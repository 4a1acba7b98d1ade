"""A synthetic month of exports for the benchmark, at a chosen size, from a fixed seed.

`python bench/generate.py --invoices N --out DIR` writes, under DIR:

    raw/gocardless/  payments export (N rows), payouts export (N/10), payout breakdown
    raw/shine/       Shine export, current 18-column layout (N lines)
    dolibarr/        snapshot folder: invoices.jsonl (N), thirdparties.jsonl, meta.json

The files follow the real formats of tests/data/formats (same headers, quoting, encodings,
decimal commas) and the Dolibarr snapshot is in its slim form: only the properties
fetch_dolibarr asks for, typed as the API types them (string ids, 8-decimal string
amounts, `totalpaid` a JSON number, `remaintopay` a short decimal string, midnight
timestamps). The month tells a realistic story: most payments carry their invoice ref,
some only the customer and amount (soft), some failed and were re-billed, some pay two
invoices or an instalment, some match nothing; payouts group about ten payments and net
chargebacks and refunds of earlier ones; most payouts reach the bank with their
reference in the label, some without it, a few not at all; most bank lines are not
GoCardless.

Every random draw comes from one `random.Random(seed)` in a fixed order, and everything
else is polars expressions, so a size and a seed always give the same bytes.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from unidecode import unidecode

SEED = 20260131
WINDOW_FROM, WINDOW_TO = date(2026, 1, 1), date(2026, 1, 31)
# The exports were downloaded the morning of this day; the bank export stops the day before.
EXPORT_DATE = date(2026, 2, 3)
FIRST_INVOICE_DATE = date(2025, 12, 20)  # a tail of the month before: lookback
IBAN = "FR7617418000010001234567828"
CREDITOR = "CR000A6PYFG4D3"
CREDITOR_BANK_ACCOUNT = "BA000BDK6AHFGP"
PAYOUT_STUB = "BENCHMARKCO"  # merchant stub of payout references, as `ATELIERLUMI`
COMPANY = "BENCHMARK CO SAS"

EPOCH = date(1970, 1, 1)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HEX = "0123456789abcdef"

GIVEN = [
    "Élodie", "François", "Anaïs", "Jérôme", "Chloé", "Noël", "Hélène", "Zoé", "Léa",
    "Mathéo", "Camille", "Louis", "Manon", "Hugo", "Inès", "Lucas", "Sarah", "Gabriel",
    "Jade", "Raphaël", "Louise", "Arthur", "Emma", "Jules", "Alice", "Adam", "Lina",
    "Maël", "Rose", "Paul", "Anna", "Nathan", "Julia", "Théo", "Agathe", "Victor",
    "Céline", "Benoît", "Aurélie", "Grégoire",
]
FAMILY = [
    "Marchand", "Lefèvre", "Dubois", "Nguyen", "Bérenger", "Perrin", "Roussel", "Lambert",
    "Fontaine", "Garnier", "Caron", "Martin", "Bernard", "Thomas", "Petit", "Robert",
    "Richard", "Durand", "Moreau", "Laurent", "Simon", "Michel", "Leroy", "Roux", "David",
    "Bertrand", "Morel", "Girard", "André", "Mercier", "Dupont", "Bonnet", "François",
    "Legrand", "Gauthier", "Garcia", "Chevalier", "Lemaire", "Faure", "Rousseau", "Blanc",
    "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrot", "Mathieu", "Clément",
    "Gaillard", "Boyer", "Lemoine", "Da Silva", "Lopez", "Fabre", "Renaud", "Brun",
    "Schmitt", "Meyer", "Barbier", "Arnaud", "Aubert", "Colin", "Vidal", "Picard",
    "Roger", "Dumas", "Lucas", "Joly", "Rivière", "Gérard", "Dufour", "Lacroix",
    "Bouvier", "Renard", "Leclerc", "Marie", "Poirier", "Lebrun", "Hubert", "Noël",
    "Royer", "Boucher", "Carpentier", "Collet", "Charpentier", "Masson", "Hoarau",
    "Prévost", "Lecomte", "Huet", "Besson", "Jacquet", "Maillard", "Cordier", "Rolland",
    "Benoît", "Millet", "Pelletier", "Marty",
]
TRADES = [
    "Boulangerie", "Cabinet", "Garage", "Ferme", "SCI", "Atelier", "Bistrot", "Pharmacie",
    "Librairie", "Fromagerie", "Menuiserie", "Plomberie", "Imprimerie", "Studio",
    "Transports", "Électricité", "Jardins", "Hôtel", "Restaurant", "Agence", "Conseil",
    "Architectes", "Cave", "Boucherie", "Maçonnerie", "Toiture", "Optique", "Fleurs",
    "Informatique", "Clinique vétérinaire",
]
LEGAL_FORMS = ["", "", " SARL", " SAS", " EURL", " SA"]
CITIES = ["Lyon", "Villeurbanne", "Bron", "Écully", "Vénissieux", "Caluire", "Oullins"]
UNMATCHED_DESCRIPTIONS = [
    "Acompte chantier", "Abonnement mensuel", "Régularisation", "Cotisation annuelle", "",
]
VENDORS = [  # everyday non-GoCardless lines: type, label, counterparty, cents from, to
    ("Carte", "ADOBE *CREATIVE CLOUD", "ADOBE", -7199, -2399),
    ("Carte", "AMAZON PAYMENTS EUROPE", "AMAZON", -25000, -999),
    ("Carte", "FREE PRO", "FREE PRO", -3999, -2999),
    ("Carte", "SNCF INTERNET", "SNCF", -18000, -2500),
    ("Carte", "TOTALENERGIES STATION", "TOTALENERGIES", -12000, -3000),
    ("Carte", "RESTAURANT LE COMPTOIR", "LE COMPTOIR", -9000, -1500),
    ("Prélèvement", "Prélèvement URSSAF RHONE-ALPES - Cotisations", "URSSAF RHONE-ALPES", -300000, -20000),
    ("Prélèvement", "Prélèvement AXA FRANCE - RC Pro 2026", "AXA FRANCE IARD", -30000, -18900),
    ("Prélèvement", "Prélèvement SCI Les Tilleuls - Loyer", "SCI LES TILLEULS", -150000, -90000),
    ("Prélèvement", "Prélèvement EDF - Facture électricité", "EDF", -40000, -5000),
    ("Virement", "Virement vers Fournitures Pro - Facture", "FOURNITURES PRO", -500000, -5000),
    ("Virement", "Virement instantané vers Martin Dupuis - Remboursement note de frais; repas client", "Martin Dupuis", -15000, -1000),
    ("Virement", "Abonnement Shine", "Shine", -948, -948),
    ("Virement", "Virement de {client} - Creditor Name SEPA : BENCHMARK CO SAS - De: {client}", "{client}", 1000, 300000),
    ("Virement", "Virement de {client} - règlement facture", "{client}", 1000, 300000),
    ("Commission", "Commission virement instantané", "Shine", -50, -50),
]
# The slim snapshot holds exactly the properties fetch_dolibarr asks for, in the order the
# API puts them in an object (API_FACTS.md §5: `properties=` keeps the object's own order).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stages"))
from recon.invoices import (INVOICE_PROPERTIES, INVOICES_FILE, THIRDPARTIES_FILE,  # noqa: E402
                            THIRDPARTY_PROPERTIES)
from recon.stamps import sha256_of  # noqa: E402

API_INVOICE_ORDER = (
    "id", "ref", "statut", "status", "multicurrency_code", "total_ttc", "totalpaid", "type",
    "socid", "paye", "date", "date_lim_reglement", "mode_reglement_code", "totaldeposits",
    "totalcreditnotes", "remaintopay", "ref_client", "close_code",
)
API_THIRDPARTY_ORDER = ("id", "name", "name_alias", "email")
INVOICE_JSON_KEYS = tuple(k for k in API_INVOICE_ORDER if k in INVOICE_PROPERTIES)
THIRDPARTY_JSON_KEYS = tuple(k for k in API_THIRDPARTY_ORDER if k in THIRDPARTY_PROPERTIES)
assert set(INVOICE_JSON_KEYS) == set(INVOICE_PROPERTIES), "fetch_dolibarr asks for a key the bench does not write"
assert set(THIRDPARTY_JSON_KEYS) == set(THIRDPARTY_PROPERTIES), "fetch_dolibarr asks for a key the bench does not write"

GC_PAYMENT_COLUMNS = [
    "id", "created_at", "charge_date", "amount", "description", "currency", "status",
    "amount_refunded", "reference", "transaction_fee", "payout_date", "app_fee",
    "links.mandate", "links.creditor", "links.customer", "links.payout",
    "links.subscription", "customers.id", "customers.created_at", "customers.email",
    "customers.given_name", "customers.family_name", "customers.company_name",
    "customers.address_line1", "customers.address_line2", "customers.address_line3",
    "customers.city", "customers.region", "customers.postal_code",
    "customers.country_code", "customers.language", "customers.swedish_identity_number",
    "customers.active_mandates", "transaction_fee_tax",
]
GC_BREAKDOWN_COLUMNS = [
    "customers.id", "customers.given_name", "customers.family_name",
    "customers.company_name", "customers.email", "resources.type",
    "resources.description", "resources.created_at", "resources.charge_date",
    "resources.status", "resources.reference", "gross_amount", "gocardless_fees",
    "app_fees", "net_amount", "currency", "payouts.id", "payouts.arrival_date",
    "creditors.id", "payments.id", "refunds.id", "mandates.id", "subscriptions.id",
]
SHINE_COLUMNS = [
    "Transaction ID", "Date de la valeur", "Date d'opération", "IBAN",
    "Type de transaction", "Transaction personnelle", "Category", "Débit", "Crédit",
    "Solde mouvement", "Solde bancaire", "Libellé", "Nom de la contrepartie", "Montant HT",
    "Montant de TVA total", "Pièces", "Date d'ajout pièces", "Commentaire",
]

# Statuses of a payment expected to collect its invoice, with their weights.
PAYMENT_STATUSES = [
    ("paid_out", 80), ("confirmed", 3), ("submitted", 2), ("pending_submission", 3),
    ("pending_customer_approval", 1), ("failed", 4), ("cancelled", 2),
    ("customer_approval_denied", 1), ("charged_back", 2),
]
COLLECTED = ("confirmed", "paid_out", "charged_back")


# --- random draws (the only source of randomness) ---------------------------------------
class Draws:
    """Seeded draws returned as polars Series; the order of calls fixes the output."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def ints(self, n: int, low: int, high: int) -> pl.Series:
        """n integers uniform in [low, high]."""
        r, span = self.rng.random, high - low + 1
        return pl.Series([low + int(r() * span) for _ in range(n)], dtype=pl.Int64)

    def chance(self, n: int, p: float) -> pl.Series:
        r = self.rng.random
        return pl.Series([r() < p for _ in range(n)], dtype=pl.Boolean)

    def pick(self, n: int, weighted: list[tuple[str, int]]) -> pl.Series:
        values, weights = zip(*weighted)
        return pl.Series(self.rng.choices(values, weights, k=n), dtype=pl.String)

    def permutation(self, n: int) -> pl.Series:
        order = list(range(n))
        self.rng.shuffle(order)
        return pl.Series(order, dtype=pl.Int64)


# --- expression helpers ------------------------------------------------------------------
def scramble(index: pl.Expr, salt: int, bits: int = 60) -> pl.Expr:
    """A bijection of [0, 2**bits) seeded by salt, well mixed: distinct indexes give distinct ids.

    Additions, odd multiplications and right xorshifts are each invertible modulo 2**bits;
    UInt64 arithmetic wraps, which leaves the result modulo 2**bits unchanged.
    """
    space = pl.lit(2**bits, pl.UInt64)
    u64 = lambda value: pl.lit(value % 2**64, pl.UInt64)  # noqa: E731
    x = (index.cast(pl.UInt64) + u64(salt * 0x9E3779B97F4A7C15)) % space
    x = (x * u64(0xBF58476D1CE4E5B9)) % space
    x = x.xor(x // u64(2 ** (bits // 2 - 1)))
    x = (x * u64(0x94D049BB133111EB)) % space
    x = x.xor(x // u64(2 ** (bits // 2 + 2)))
    return x.cast(pl.Int64)


def encode(value: pl.Expr, alphabet: str, width: int) -> pl.Expr:
    """`value` written in base len(alphabet) with `width` digits, most significant first.

    Digits go two at a time through a table of all digit pairs: half the gathers.
    """
    base = len(alphabet)
    pairs = pl.Series([a + b for a in alphabet for b in alphabet], dtype=pl.String)
    parts = []
    if width % 2:
        parts.append(pl.lit(pl.Series(list(alphabet), dtype=pl.String)).gather((value // base ** (width - 1)) % base))
    for k in reversed(range(0, width - width % 2, 2)):
        parts.append(pl.lit(pairs).gather((value // base**k) % base**2))
    return pl.concat_str(parts)


def opaque_id(prefix: str, index: pl.Expr, salt: int) -> pl.Expr:
    """A GoCardless-looking id (`PM00001D9EN5ZD`): prefix + 12 Crockford digits."""
    return pl.lit(prefix) + encode(scramble(index, salt), CROCKFORD, 12)


def uuid(index: pl.Expr, salt: int) -> pl.Expr:
    """A version-4-shaped UUID, distinct for distinct indexes."""
    high = encode(scramble(index, salt), HEX, 15)
    low = encode(scramble(index, salt + 7), HEX, 15)
    variant = pl.lit("89ab").str.slice(index % 4, 1)
    return pl.concat_str(
        [high.str.slice(0, 8), pl.lit("-"), high.str.slice(8, 4), pl.lit("-4"),
         high.str.slice(12, 3), pl.lit("-"), variant, low.str.slice(0, 3), pl.lit("-"),
         low.str.slice(3, 12)]
    )


def days(value: date) -> int:
    return (value - EPOCH).days


def as_date(day_number: pl.Expr) -> pl.Expr:
    return day_number.cast(pl.Int32).cast(pl.Date)


def euros(cents: pl.Expr, point: str = ".") -> pl.Expr:
    """Integer cents as `-12.34` (or `-12,34`); null stays null."""
    magnitude = cents.abs()
    return pl.concat_str(
        [pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
         (magnitude // 100).cast(pl.String), pl.lit(point),
         (magnitude % 100).cast(pl.String).str.zfill(2)]
    )


def short_decimal(cents: pl.Expr) -> pl.Expr:
    """Dolibarr's shortest form: `0`, `39.9`, `33.34`, `-200`."""
    magnitude, fraction = cents.abs(), cents.abs() % 100
    decimals = (
        pl.when(fraction == 0).then(pl.lit(""))
        .when(fraction % 10 == 0).then(pl.lit(".") + (fraction // 10).cast(pl.String))
        .otherwise(pl.lit(".") + fraction.cast(pl.String).str.zfill(2))
    )
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, (magnitude // 100).cast(pl.String), decimals])


def timestamp_text(day_number: pl.Expr, seconds: pl.Expr) -> pl.Expr:
    """GoCardless timestamps: `2026-01-02T09:15:31.000Z` (seconds: within the day)."""
    two = lambda part: part.cast(pl.String).str.zfill(2)  # noqa: E731
    return pl.concat_str(
        [date_text(day_number), pl.lit("T"), two(seconds // 3600), pl.lit(":"),
         two(seconds // 60 % 60), pl.lit(":"), two(seconds % 60), pl.lit(".000Z")]
    )


def json_value(text: pl.Expr) -> pl.Expr:
    """A JSON string literal, or `null`."""
    escaped = text.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    return pl.when(text.is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + escaped + pl.lit('"'))


def gather(values: list[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index)


# --- customers ---------------------------------------------------------------------------
def make_customers(draws: Draws, count: int) -> pl.DataFrame:
    """Third parties, with their name as GoCardless and as Dolibarr spell it."""
    frame = pl.DataFrame(
        {
            "is_company": draws.chance(count, 0.6),
            "given": draws.ints(count, 0, len(GIVEN) - 1),
            "family": draws.ints(count, 0, len(FAMILY) - 1),
            "trade": draws.ints(count, 0, len(TRADES) - 1),
            "legal": draws.ints(count, 0, len(LEGAL_FORMS) - 1),
            "spelling": draws.ints(count, 0, 3),  # how the Dolibarr user typed the name
            "city": draws.ints(count, 0, len(CITIES) - 1),
        }
    ).with_row_index("row")
    given, family = gather(GIVEN, pl.col("given")), gather(FAMILY, pl.col("family"))
    family_ascii = gather([unidecode(f) for f in FAMILY], pl.col("family"))
    given_ascii = gather([unidecode(g) for g in GIVEN], pl.col("given"))
    company = gather(TRADES, pl.col("trade")) + pl.lit(" ") + family + gather(LEGAL_FORMS, pl.col("legal"))
    company_bare = gather(TRADES, pl.col("trade")) + pl.lit(" ") + family
    person_dolibarr = (
        pl.when(pl.col("spelling") < 2).then(family_ascii.str.to_uppercase() + pl.lit(" ") + given)
        .otherwise(given + pl.lit(" ") + family)
    )
    company_dolibarr = (
        pl.when(pl.col("spelling") == 0).then(company_bare.map_batches(ascii_upper, return_dtype=pl.String))
        .when(pl.col("spelling") == 1).then(company_bare)
        .otherwise(company)
    )
    email_local = (given_ascii + pl.lit(".") + family_ascii).str.to_lowercase().str.replace_all(" ", "")
    return frame.select(
        socid=pl.col("row").cast(pl.Int64) + 1,
        gc_customer_id=opaque_id("CU", pl.col("row"), 11),
        mandate_id=opaque_id("MD", pl.col("row"), 12),
        given_name=given,
        family_name=family,
        company_name=pl.when(pl.col("is_company")).then(company).otherwise(pl.lit("")),
        dolibarr_name=pl.when(pl.col("is_company")).then(company_dolibarr).otherwise(person_dolibarr),
        email=email_local + pl.lit("@exemple.fr"),
        city=gather(CITIES, pl.col("city")),
    )


def ascii_upper(names: pl.Series) -> pl.Series:
    """Accents stripped and upper-cased, as typed in a hurry (`BOULANGERIE LEFEVRE`)."""
    distinct = names.unique()
    mapping = dict(zip(distinct.to_list(), [unidecode(n).upper() for n in distinct.to_list()]))
    return names.replace_strict(mapping, return_dtype=pl.String)


# --- Dolibarr invoices -------------------------------------------------------------------
def make_invoices(draws: Draws, count: int, customers: int) -> pl.DataFrame:
    """Invoices of the month and the one before, numbered as Dolibarr numbers them."""
    frame = pl.DataFrame(
        {
            "kind": draws.pick(count, [("standard", 975), ("credit", 10), ("draft", 8), ("abandoned", 7)]),
            "day": draws.ints(count, days(FIRST_INVOICE_DATE), days(WINDOW_TO)),
            "socid": draws.ints(count, 1, customers),
            "base": draws.ints(count, 1000, 30000),
            "scale": draws.pick(count, [("1", 60), ("4", 30), ("12", 10)]).cast(pl.Int64),
            "whole_euros": draws.chance(count, 0.3),
            "ref_client": draws.chance(count, 0.05),
        }
    )
    cents = pl.col("base") * pl.col("scale")
    cents = pl.when(pl.col("whole_euros")).then(cents // 100 * 100).otherwise(cents)
    total = pl.when(pl.col("kind") == "credit").then(-(cents // 10).clip(lower_bound=100)).otherwise(cents)
    frame = (
        frame.with_columns(total_cents=total)
        .with_row_index("draw")
        .sort("day", "draw")  # ids and counters follow the order of creation
        .with_row_index("row")
        .with_columns(invoice_id=pl.col("row").cast(pl.Int64) + 1)
    )
    numbered = pl.col("kind") != "draft"
    prefix = pl.when(pl.col("kind") == "credit").then(pl.lit("AV")).otherwise(pl.lit("FA"))
    counter = pl.int_range(1, pl.len() + 1).over(numbered, prefix)
    ref = (
        prefix + as_date(pl.col("day")).dt.strftime("%y%m") + pl.lit("-")
        + counter.cast(pl.String).str.zfill(4)
    )
    return frame.select(
        "row", "invoice_id", "kind", "day", "socid", "total_cents",
        ref=pl.when(numbered).then(ref).otherwise(pl.lit("(PROV") + pl.col("invoice_id").cast(pl.String) + pl.lit(")")),
        ref_client=pl.when(pl.col("ref_client")).then(pl.lit("PO-2026-") + pl.col("row").cast(pl.String).str.zfill(6)),
    )


def dolibarr_state(draws: Draws, invoices: pl.DataFrame, outcome: pl.DataFrame) -> pl.DataFrame:
    """What Dolibarr shows for each invoice, given what happened on the GoCardless side.

    `outcome` has one row per invoice with a payment: `plan` (single, retry, instalment,
    multi) and `last_status` (status of its last payment). Collected invoices are mostly
    paid in Dolibarr, some still open (the fix candidates), a few paid but not closed or
    closed with a write-off; invoices without GoCardless are mostly open.
    """
    roll = draws.ints(invoices.height, 0, 99)
    frame = invoices.with_columns(roll=roll).join(outcome, on="invoice_id", how="left")
    kind, plan, status, r = pl.col("kind"), pl.col("plan"), pl.col("last_status"), pl.col("roll")
    total = pl.col("total_cents")
    collected = plan.is_in(["single", "retry"]) & status.is_in(["confirmed", "paid_out"])
    verdict = (
        pl.when(kind == "draft").then(pl.lit("draft"))
        .when(kind == "abandoned").then(pl.lit("abandoned"))
        .when(kind == "credit").then(pl.lit("open"))
        .when(status == "charged_back").then(pl.lit("paid"))
        .when(collected & (r < 65)).then(pl.lit("paid"))
        .when(collected & (r < 95)).then(pl.lit("open"))
        .when(collected & (r < 98)).then(pl.lit("paid_not_closed"))
        .when(collected).then(pl.lit("written_off"))
        .when(plan.is_null() & (r >= 75)).then(pl.lit("paid"))
        .otherwise(pl.lit("open"))
    )
    frame = frame.with_columns(verdict=verdict)
    v = pl.col("verdict")
    write_off = (total // 20).clip(upper_bound=500).clip(lower_bound=1)
    paid = (
        pl.when(v.is_in(["paid", "paid_not_closed"])).then(total)
        .when(v == "written_off").then(total - write_off)
        .otherwise(0)
    )
    return frame.with_columns(
        status=pl.when(v == "draft").then(0).when(v == "abandoned").then(3)
        .when(v.is_in(["paid", "written_off"])).then(2).otherwise(1),
        paye=pl.when(v == "paid").then(1).otherwise(0),
        close_code=pl.when(v == "abandoned").then(pl.lit("abandon"))
        .when(v == "written_off").then(pl.lit("discount_vat")),
        paid_cents=paid,
    ).with_columns(remaining_cents=total - pl.col("paid_cents"))


# --- GoCardless payments -----------------------------------------------------------------
def plan_payments(draws: Draws, invoices: pl.DataFrame, count: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Which payments exist and which invoice each is for (before ids, fees and payouts).

    Returns the payments and the invoices with `socid` adjusted so that the two invoices
    paid by one multi-invoice payment belong to the same customer.
    """
    retries, instalments = count * 2 // 100, count // 100
    multis, unmatched = count // 200, count * 3 // 100
    singles = count - 2 * retries - 2 * instalments - multis - unmatched
    standard = invoices.filter(pl.col("kind") == "standard")
    needed = singles + retries + instalments + 2 * multis
    if standard.height < needed:
        raise SystemExit(f"--invoices {count} is too small to draw a realistic month")
    shuffled = standard.select("invoice_id").with_columns(order=draws.permutation(standard.height)).sort("order")
    ids = shuffled["invoice_id"]
    cut = [0, singles, singles + retries, singles + retries + instalments]
    single_ids, retry_ids = ids[cut[0]:cut[1]], ids[cut[1]:cut[2]]
    instalment_ids, multi_ids = ids[cut[2]:cut[3]], ids[cut[3]:cut[3] + 2 * multis]
    first_of_pair, second_of_pair = multi_ids[0::2], multi_ids[1::2]
    invoices = same_customer(invoices, first_of_pair, second_of_pair)
    info = invoices.select("invoice_id", "ref", "day", "socid", "total_cents")

    parts = [
        single_payments(draws, info.join(pl.DataFrame({"invoice_id": single_ids}), on="invoice_id")),
        *retry_payments(draws, info.join(pl.DataFrame({"invoice_id": retry_ids}), on="invoice_id")),
        *instalment_payments(draws, info.join(pl.DataFrame({"invoice_id": instalment_ids}), on="invoice_id")),
        multi_payments(draws, info, first_of_pair, second_of_pair),
        unmatched_payments(draws, unmatched, int(info["socid"].max())),
    ]
    payments = pl.concat([p.select(list(PLANNED)).cast(PLANNED) for p in parts], how="vertical")
    invoices = invoices.with_columns(by_gocardless=pl.col("invoice_id").is_in(ids[:cut[3] + 2 * multis].implode()))
    return payments, invoices


PLANNED = {
    "invoice_id": pl.Int64, "plan": pl.String, "socid": pl.Int64, "amount_cents": pl.Int64,
    "description": pl.String, "reference": pl.String, "status": pl.String, "charge_day": pl.Int64,
}


def same_customer(invoices: pl.DataFrame, first: pl.Series, second: pl.Series) -> pl.DataFrame:
    owner = invoices.join(pl.DataFrame({"invoice_id": first, "partner": second}), on="invoice_id")
    moved = owner.select(invoice_id="partner", new_socid="socid")
    return (
        invoices.join(moved, on="invoice_id", how="left")
        .with_columns(socid=pl.coalesce("new_socid", "socid"))
        .drop("new_socid")
    )


def single_payments(draws: Draws, invoices: pl.DataFrame) -> pl.DataFrame:
    """One payment per invoice; the description carries the ref in one of the real shapes."""
    n = invoices.height
    shape = draws.pick(n, [("exact", 78), ("sentence", 5), ("messy", 3), ("reference", 3), ("soft", 11)])
    mismatch = draws.chance(n, 0.01)
    shortfall = draws.ints(n, 1, 5000)
    soft_delay, delay = draws.ints(n, 0, 7), draws.ints(n, 2, 12)
    status = draws.pick(n, PAYMENT_STATUSES)
    ref, s = pl.col("ref"), pl.col("shape")
    description = (
        pl.when(s == "exact").then(ref)
        .when(s == "sentence").then(pl.lit("Facture ") + ref + pl.lit(" - prestation du mois"))
        .when(s == "messy").then(ref.str.to_lowercase() + pl.lit(" "))
        .when(s == "reference").then(pl.lit("Facture mensuelle"))
    )
    amount = pl.col("total_cents")
    return invoices.with_columns(
        shape=shape, mismatch=mismatch, shortfall=shortfall, soft_delay=soft_delay,
        delay=delay, status=status,
    ).with_columns(
        plan=pl.lit("single"),
        amount_cents=pl.when(pl.col("mismatch") & (s != "soft") & (amount > pl.col("shortfall") + 100))
        .then(amount - pl.col("shortfall")).otherwise(amount),
        description=description,
        reference=pl.when(s == "reference").then(ref),
        charge_day=pl.col("day") + pl.when(s == "soft").then(pl.col("soft_delay")).otherwise(pl.col("delay")),
    )


def retry_payments(draws: Draws, invoices: pl.DataFrame) -> list[pl.DataFrame]:
    """A failed collection re-billed under a new payment id with the same description."""
    n = invoices.height
    first_delay, retry_delay = draws.ints(n, 2, 6), draws.ints(n, 7, 14)
    retry_status = draws.pick(n, [("paid_out", 85), ("confirmed", 5), ("pending_submission", 5), ("failed", 5)])
    base = invoices.with_columns(
        plan=pl.lit("retry"), amount_cents=pl.col("total_cents"), description=pl.col("ref"),
        reference=pl.lit(None, pl.String), first_day=pl.col("day") + first_delay,
    )
    failed = base.with_columns(status=pl.lit("failed"), charge_day=pl.col("first_day"))
    retried = base.with_columns(status=retry_status, charge_day=pl.col("first_day") + retry_delay)
    return [failed, retried]


def instalment_payments(draws: Draws, invoices: pl.DataFrame) -> list[pl.DataFrame]:
    """Two instalments: the first collected, the second collected or still pending."""
    n = invoices.height
    first_delay, gap = draws.ints(n, 2, 6), draws.ints(n, 10, 20)
    second_status = draws.pick(n, [("paid_out", 50), ("pending_submission", 50)])
    half = pl.col("total_cents") // 2
    base = invoices.with_columns(plan=pl.lit("instalment"), reference=pl.lit(None, pl.String),
                                 first_day=pl.col("day") + first_delay)
    first = base.with_columns(
        amount_cents=half, description=pl.col("ref") + pl.lit(" (1/2)"),
        status=pl.lit("paid_out"), charge_day=pl.col("first_day"),
    )
    second = base.with_columns(
        amount_cents=pl.col("total_cents") - half, description=pl.col("ref") + pl.lit(" (2/2)"),
        status=second_status, charge_day=pl.col("first_day") + gap,
    )
    return [first, second]


def multi_payments(draws: Draws, info: pl.DataFrame, first: pl.Series, second: pl.Series) -> pl.DataFrame:
    """One payment for two invoices of one customer, naming both (`FA…, FA…`)."""
    pairs = (
        pl.DataFrame({"invoice_id": first, "partner": second})
        .join(info, on="invoice_id")
        .join(info.select(partner="invoice_id", partner_ref="ref", partner_day="day",
                          partner_total="total_cents"), on="partner")
    )
    delay = draws.ints(pairs.height, 2, 8)
    return pairs.with_columns(
        invoice_id=pl.col("invoice_id"), plan=pl.lit("multi"),
        amount_cents=pl.col("total_cents") + pl.col("partner_total"),
        description=pl.col("ref") + pl.lit(", ") + pl.col("partner_ref"),
        reference=pl.lit(None, pl.String), status=pl.lit("paid_out"),
        charge_day=pl.max_horizontal("day", "partner_day") + delay,
    )


def unmatched_payments(draws: Draws, n: int, customers: int) -> pl.DataFrame:
    """Payments for which Dolibarr has no invoice (deposits, subscriptions billed elsewhere)."""
    description = draws.pick(n, [(d, 1) for d in UNMATCHED_DESCRIPTIONS])
    return pl.DataFrame(
        {
            "invoice_id": pl.Series([None] * n, dtype=pl.Int64),
            "plan": pl.Series(["unmatched"] * n, dtype=pl.String),
            "socid": draws.ints(n, 1, customers),
            "amount_cents": draws.ints(n, 1000, 150000),
            "description": description.replace("", None),
            "reference": pl.Series([None] * n, dtype=pl.String),
            "status": draws.pick(n, PAYMENT_STATUSES),
            "charge_day": draws.ints(n, days(WINDOW_FROM), days(WINDOW_TO)),
        }
    )


def settle_statuses(payments: pl.DataFrame) -> pl.DataFrame:
    """Make each status possible on the export date: nothing is collected in the future."""
    day, status, export = pl.col("charge_day"), pl.col("status"), days(EXPORT_DATE)
    decided = status.is_in(["paid_out", "confirmed", "charged_back", "failed"])
    return payments.with_columns(
        status=pl.when(decided & (day >= export + 3)).then(pl.lit("pending_submission"))
        .when(decided & (day >= export)).then(pl.lit("submitted"))
        .when((status == "paid_out") & (day >= export - 3)).then(pl.lit("confirmed"))
        .when((status == "charged_back") & (day >= export - 12)).then(pl.lit("paid_out"))
        .otherwise(status)
    )


def finish_payments(draws: Draws, planned: pl.DataFrame) -> pl.DataFrame:
    """Ids, creation times, fees and refunds; rows in charge-date order."""
    n = planned.height
    frame = planned.with_columns(
        created_back=draws.ints(n, 3, 6), created_second=draws.ints(n, 8 * 3600, 18 * 3600),
        refunded=draws.chance(n, 0.01), tiebreak=draws.permutation(n),
    )
    frame = settle_statuses(frame).sort("charge_day", "tiebreak").with_row_index("row")
    amount, collected = pl.col("amount_cents"), pl.col("status").is_in(COLLECTED)
    fee = pl.min_horizontal((amount + 50) // 100 + 20, pl.lit(400))
    return frame.with_columns(
        gc_payment_id=opaque_id("PM", pl.col("row"), 21),
        created_day=pl.col("charge_day") - pl.col("created_back"),
        fee_cents=pl.when(collected).then(fee),
        amount_refunded_cents=pl.when(pl.col("refunded") & (pl.col("status") == "paid_out"))
        .then((amount // 4 // 100 * 100).clip(lower_bound=100)).otherwise(0),
    ).with_columns(
        fee_tax_cents=(pl.col("fee_cents") * 20 + 50) // 100,
    )


# --- GoCardless payouts ------------------------------------------------------------------
def make_payouts(draws: Draws, payments: pl.DataFrame, count: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Group paid-out payments into `count` payouts; net debits of earlier payments into later ones.

    Returns (payments with payout links, payouts, breakdown items).
    """
    paid = payments.filter(pl.col("status").is_in(["paid_out", "charged_back"])).select("row", "charge_day")
    paid = paid.with_columns(payout_index=pl.int_range(pl.len()) * count // pl.len())
    groups = paid.group_by("payout_index").agg(created_day=pl.col("charge_day").max() + 2)
    groups = groups.sort("payout_index").with_columns(
        created_second=draws.ints(groups.height, 7 * 3600, 9 * 3600),
    ).with_columns(
        payout_id=opaque_id("PO", pl.col("payout_index"), 31),
        reference=pl.lit(PAYOUT_STUB + "-") + encode(
            scramble(pl.col("payout_index"), 32, bits=30), CROCKFORD, 6),
        arrival_day=pl.col("created_day") + 1,
    ).with_columns(
        status=pl.when(pl.col("arrival_day") >= days(EXPORT_DATE)).then(pl.lit("pending")).otherwise(pl.lit("paid")),
    )
    payments = (
        payments.join(paid.select("row", "payout_index"), on="row", how="left")
        .join(groups.select("payout_index", "payout_id", payout_day="created_day"), on="payout_index", how="left")
    )
    items = payout_items(payments, groups, count)
    payouts = payout_totals(groups, items)
    return payments, payouts, items


def payout_items(payments: pl.DataFrame, groups: pl.DataFrame, count: int) -> pl.DataFrame:
    """The breakdown: each paid-out payment in its payout, and each debit three payouts later.

    A debit that would leave its payout negative is left out (not netted yet).
    """
    fees = pl.col("fee_cents") + pl.col("fee_tax_cents")
    linked = payments.filter(pl.col("payout_index").is_not_null())
    credits = linked.select(
        "row", "payout_index", resource=pl.lit("payment"), gross=pl.col("amount_cents"),
        fees=fees, refund_id=pl.lit(None, pl.String),
    )
    later = (pl.col("payout_index") + 3)
    chargebacks = linked.filter(pl.col("status") == "charged_back").select(
        "row", payout_index=later, resource=pl.lit("payment"), gross=-pl.col("amount_cents"),
        fees=-fees, refund_id=pl.lit(None, pl.String),
    )
    refunds = linked.filter(pl.col("amount_refunded_cents") > 0).select(
        "row", payout_index=later, resource=pl.lit("refund"), gross=-pl.col("amount_refunded_cents"),
        fees=pl.lit(0, pl.Int64), refund_id=opaque_id("RF", pl.col("row"), 41),
    )
    debits = pl.concat([chargebacks, refunds]).filter(pl.col("payout_index") < count)
    base = credits.group_by("payout_index").agg(base=(pl.col("gross") - pl.col("fees")).sum())
    debits = (
        debits.join(base, on="payout_index")
        .with_columns(running=(pl.col("gross") - pl.col("fees")).cum_sum().over("payout_index"))
        .filter(pl.col("base") + pl.col("running") > 0)
        .drop("base", "running")
    )
    return pl.concat([credits, debits]).with_columns(net=pl.col("gross") - pl.col("fees"))


def payout_totals(groups: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Net amount and fee columns of each payout, from its breakdown."""
    is_payment_credit = (pl.col("resource") == "payment") & (pl.col("gross") > 0)
    sums = items.group_by("payout_index").agg(
        amount_cents=pl.col("net").sum(),
        gross_cents=pl.col("gross").filter(is_payment_credit).sum(),
        fee_debit_cents=pl.col("fees").filter(pl.col("fees") > 0).sum(),
        fee_credit_cents=-pl.col("fees").filter(pl.col("fees") < 0).sum(),
    )
    return groups.join(sums, on="payout_index").sort("payout_index")


# --- Shine bank lines --------------------------------------------------------------------
VENDOR_WEIGHTS = [8, 8, 2, 4, 6, 8, 3, 1, 1, 2, 6, 3, 1, 10, 10, 3]
GC_LABELS = [  # how a payout credit reads in the bank; the last one has lost its reference
    ("Virement de GOCARDLESS SAS - {ref}", "GOCARDLESS SAS", 70),
    ("Virement de GoCardless SAS - Creditor Name SEPA : " + COMPANY + " - De: GOCARDLESS SAS - {ref}", "GoCardless SAS", 15),
    ("Virement de GOCARDLESS SAS", "GOCARDLESS SAS", 15),
]


def make_bank(draws: Draws, payouts: pl.DataFrame, customers: pl.DataFrame, count: int,
              transfers: pl.DataFrame) -> pl.DataFrame:
    """`count` bank lines: the payouts that arrived, a few stray GoCardless credits, the
    customers' transfers paying invoices, everyday lines."""
    credits = payout_credits(draws, payouts)
    strays = stray_gocardless_credits(draws, max(1, payouts.height // 1000))
    everyday = everyday_lines(draws, count - credits.height - strays.height - transfers.height,
                              customers)
    lines = pl.concat([credits, strays, transfers, everyday]).with_columns(
        tiebreak=draws.permutation(count))
    lines = lines.sort("operation_day", "tiebreak").with_row_index("row")
    running = pl.col("amount_cents").cum_sum()
    opening = 5_000_00 - min(0, int(lines.select(running.min()).item()))
    return lines.with_columns(balance_cents=running + opening)


def payout_credits(draws: Draws, payouts: pl.DataFrame) -> pl.DataFrame:
    """Paid payouts as bank credits: 97 % arrive, some a day late, some without the reference."""
    paid = payouts.filter(pl.col("status") == "paid")
    n = paid.height
    style = draws.pick(n, [(str(i), w) for i, (_, _, w) in enumerate(GC_LABELS)]).cast(pl.Int64)
    arrived, late = draws.chance(n, 0.97), draws.chance(n, 0.1)
    labels = [label for label, _, _ in GC_LABELS]
    template = gather(labels, pl.col("style"))
    return (
        paid.with_columns(style=style, arrived=arrived, late=late)
        .filter(pl.col("arrived"))
        .select(
            operation_day=pl.col("arrival_day") + pl.col("late").cast(pl.Int64),
            value_day=pl.col("arrival_day") + pl.col("late").cast(pl.Int64),
            transaction_type=pl.lit("Virement"), personal=pl.lit(False),
            amount_cents="amount_cents",
            label=template.str.replace("{ref}", pl.col("reference"), literal=True),
            counterparty=gather([c for _, c, _ in GC_LABELS], pl.col("style")),
        )
    )


TRANSFER_LABELS = [  # how a customer's transfer paying an invoice reads in the bank
    "Virement de {client} - Creditor Name SEPA : " + COMPANY + " - De: {client} - {ref}",
    "Virement de {client} - Facture {ref}",
    "VIR SEPA {client} REF {ref} REGLEMENT",
    "Virement de {client} - règlement facture",  # no ref: the soft rule
]


def customer_transfers(draws: Draws, invoices: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Invoices no GoCardless payment is for, paid by the customer's own transfer.

    Of them, 45 % by a transfer naming the invoice, 5 % by one naming it for half the
    amount, 20 % by one naming nothing (amount and customer only: the soft rule), the rest
    not at all. The transfer comes 0-40 days after the invoice, so some arrive after the
    window or after the export; Dolibarr shows the invoice as before (mostly still open).
    """
    unplanned = invoices.filter((pl.col("kind") == "standard") & ~pl.col("by_gocardless"))
    n = unplanned.height
    how = draws.pick(n, [("ref", 45), ("partial", 5), ("soft", 20), ("none", 30)])
    style = draws.ints(n, 0, len(TRANSFER_LABELS) - 2)
    lag = draws.ints(n, 0, 40)
    client = pl.lit(customers["dolibarr_name"].str.to_uppercase()).gather(pl.col("socid") - 1)
    owed = pl.when(pl.col("remaining_cents") > 0).then("remaining_cents").otherwise("total_cents")
    template = gather(TRANSFER_LABELS, pl.when(pl.col("how") == "soft")
                      .then(len(TRANSFER_LABELS) - 1).otherwise(pl.col("style")))
    day = pl.min_horizontal(pl.col("day") + pl.col("lag"), pl.lit(days(EXPORT_DATE) - 1))
    return (
        unplanned.with_columns(how=how, style=style, lag=lag)
        .filter(pl.col("how") != "none")
        .select(
            operation_day=day, value_day=day, transaction_type=pl.lit("Virement"),
            personal=pl.lit(False),
            amount_cents=pl.when(pl.col("how") == "partial").then(owed // 2).otherwise(owed),
            label=template.str.replace_all("{client}", client, literal=True)
            .str.replace("{ref}", pl.col("ref"), literal=True),
            counterparty=client,
            how="how",
        )
    )


def stray_gocardless_credits(draws: Draws, n: int) -> pl.DataFrame:
    """GoCardless credits of payouts the export does not hold (an earlier month's)."""
    reference = pl.lit(PAYOUT_STUB + "-") + encode(scramble(pl.int_range(n), 77, bits=30), CROCKFORD, 6)
    return pl.DataFrame(
        {"operation_day": draws.ints(n, days(WINDOW_FROM), days(WINDOW_FROM) + 3),
         "amount_cents": draws.ints(n, 1000, 500000)}
    ).select(
        "operation_day", value_day="operation_day", transaction_type=pl.lit("Virement"),
        personal=pl.lit(False), amount_cents="amount_cents",
        label=pl.lit("Virement de GOCARDLESS SAS - ") + reference, counterparty=pl.lit("GOCARDLESS SAS"),
    )


def everyday_lines(draws: Draws, n: int, customers: pl.DataFrame) -> pl.DataFrame:
    """Card payments, direct debits, transfers out and in, Shine's fees, a few personal lines."""
    vendor = draws.pick(n, [(str(i), w) for i, w in enumerate(VENDOR_WEIGHTS)]).cast(pl.Int64)
    frame = pl.DataFrame(
        {
            "vendor": vendor,
            "day": draws.ints(n, days(FIRST_INVOICE_DATE), days(EXPORT_DATE) - 1),
            "lag": draws.ints(n, 0, 3),
            "fraction": draws.ints(n, 0, 999_999),
            "client": draws.ints(n, 0, customers.height - 1),
            "personal": draws.chance(n, 0.03),
        }
    )
    low, high = gather_int([v[3] for v in VENDORS]), gather_int([v[4] for v in VENDORS])
    kind = gather([v[0] for v in VENDORS], pl.col("vendor"))
    client = pl.lit(customers["dolibarr_name"].str.to_uppercase()).gather(pl.col("client"))
    card = kind == "Carte"
    return frame.select(
        operation_day="day",
        value_day=pl.col("day") + pl.when(card).then(pl.col("lag")).otherwise(0),
        transaction_type=kind,
        personal=card & pl.col("personal"),
        amount_cents=low + (pl.col("fraction") * (high - low + 1)) // 1_000_000,
        label=gather([v[1] for v in VENDORS], pl.col("vendor")).str.replace_all("{client}", client, literal=True),
        counterparty=gather([v[2] for v in VENDORS], pl.col("vendor")).str.replace_all("{client}", client, literal=True),
    )


def gather_int(values: list[int]) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.Int64)).gather(pl.col("vendor"))


# --- writers -----------------------------------------------------------------------------
def date_text(day_number: pl.Expr, fmt: str = "%Y-%m-%d") -> pl.Expr:
    """A day as `2026-01-02` or, for Shine, `02/01/2026` (string slicing beats strftime)."""
    iso = as_date(day_number).cast(pl.String)
    if fmt == "%Y-%m-%d":
        return iso
    assert fmt == "%d/%m/%Y", fmt
    return pl.concat_str([iso.str.slice(8, 2), pl.lit("/"), iso.str.slice(5, 2), pl.lit("/"), iso.str.slice(0, 4)])


def write_gc_payments(payments: pl.DataFrame, customers: pl.DataFrame, path: Path) -> None:
    frame = payments.join(customers, on="socid", how="left")
    pending = pl.col("status").is_in(["confirmed", "submitted", "pending_submission", "pending_customer_approval"])
    payout_day = pl.when(pl.col("payout_day").is_not_null()).then(pl.col("payout_day")).when(pending).then(pl.col("charge_day") + 2)
    socid = pl.col("socid")
    columns = [
        pl.col("gc_payment_id"),
        timestamp_text(pl.col("created_day"), pl.col("created_second")),
        date_text(pl.col("charge_day")),
        euros(pl.col("amount_cents")),
        pl.col("description"),
        pl.lit("EUR"),
        pl.col("status"),
        euros(pl.col("amount_refunded_cents")),
        pl.col("reference"),
        euros(pl.col("fee_cents")),
        date_text(payout_day),
        pl.lit(None, pl.String),
        pl.col("mandate_id"),
        pl.lit(CREDITOR),
        pl.col("gc_customer_id"),
        pl.col("payout_id"),
        pl.lit(None, pl.String),
        pl.col("gc_customer_id"),
        timestamp_text(socid % 700 + days(date(2023, 1, 1)), socid * 37 % 86400),
        pl.col("email"),
        pl.col("given_name"),
        pl.col("family_name"),
        pl.col("company_name").replace("", None),
        (socid % 90 + 1).cast(pl.String) + pl.lit(" rue des Lilas"),
        pl.lit(None, pl.String),
        pl.lit(None, pl.String),
        pl.col("city"),
        pl.lit(None, pl.String),
        pl.lit("69003"),
        pl.lit("FR"),
        pl.lit("fr"),
        pl.lit(None, pl.String),
        pl.lit("true"),
        euros(pl.col("fee_tax_cents")),
    ]
    out = frame.select([c.alias(name) for c, name in zip(columns, GC_PAYMENT_COLUMNS)])
    out.write_csv(path)


def write_gc_payouts(payouts: pl.DataFrame, path: Path) -> None:
    paid = pl.col("status") == "paid"
    out = payouts.sort("created_day", "payout_index", descending=True).select(
        id="payout_id",
        amount=euros(pl.col("amount_cents")),
        currency=pl.lit("EUR"),
        created_at=timestamp_text(pl.col("created_day"), pl.col("created_second")),
        reference="reference",
        status="status",
        arrival_date=pl.when(paid).then(date_text(pl.col("arrival_day"))),
        transaction_fee_debit=euros(pl.col("fee_debit_cents")),
        transaction_fee_credit=euros(pl.col("fee_credit_cents")),
        app_fee_debit=pl.lit("0.00"),
        app_fee_credit=pl.lit("0.00"),
        total_payment_amount=euros(pl.col("gross_cents")),
        **{"links.creditor_bank_account": pl.lit(CREDITOR_BANK_ACCOUNT), "links.creditor": pl.lit(CREDITOR)},
    )
    out.write_csv(path)


def write_gc_breakdown(items: pl.DataFrame, payments: pl.DataFrame, payouts: pl.DataFrame,
                       customers: pl.DataFrame, path: Path) -> None:
    frame = (
        items.join(payments.drop("payout_index", "payout_id"), on="row", how="left")
        .join(payouts.select("payout_index", "payout_id", "arrival_day", payout_status="status"),
              on="payout_index", how="left")
        .join(customers, on="socid", how="left")
        .sort("payout_index", "row")
    )
    refund = pl.col("resource") == "refund"
    columns = [
        pl.col("gc_customer_id"), pl.col("given_name"), pl.col("family_name"),
        pl.col("company_name").replace("", None), pl.col("email"), pl.col("resource"),
        pl.when(refund).then(pl.lit("Remboursement ") + pl.coalesce("description", pl.lit(""))).otherwise(pl.col("description")),
        timestamp_text(pl.col("created_day"), pl.col("created_second")),
        pl.when(~refund).then(date_text(pl.col("charge_day"))),
        pl.when(refund).then(pl.lit("paid")).otherwise(pl.col("status")),
        pl.col("reference"),
        euros(pl.col("gross")), euros(pl.col("fees")), pl.lit("0.00"), euros(pl.col("net")),
        pl.lit("EUR"), pl.col("payout_id"),
        pl.when(pl.col("payout_status") == "paid").then(date_text(pl.col("arrival_day"))),
        pl.lit(CREDITOR), pl.col("gc_payment_id"), pl.col("refund_id"), pl.col("mandate_id"),
        pl.lit(None, pl.String),
    ]
    frame.select([c.alias(name) for c, name in zip(columns, GC_BREAKDOWN_COLUMNS)]).write_csv(path)


def write_shine(bank: pl.DataFrame, path: Path) -> None:
    """Current layout: `;`, every field quoted, UTF-8 with BOM, CRLF, decimal commas."""
    amount = pl.col("amount_cents")
    card = pl.col("transaction_type") == "Carte"
    vat = pl.when(card).then((amount.abs() + 3) // 6).otherwise(0)
    receipt = card & (pl.col("row") % 2 == 0)
    bank = bank.with_columns(transaction_id=uuid(pl.col("row"), 51))
    transaction_id = pl.col("transaction_id")
    previous = pl.concat_str(
        [pl.lit("Liée à "), pl.col("label").shift(1), pl.lit(" au "),
         date_text(pl.col("operation_day").shift(1), "%d/%m/%Y"), pl.lit(" - ID: "), transaction_id.shift(1)]
    )
    slug = pl.col("counterparty").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
    columns = [
        transaction_id,
        date_text(pl.col("value_day"), "%d/%m/%Y"),
        date_text(pl.col("operation_day"), "%d/%m/%Y"),
        pl.lit(IBAN),
        pl.col("transaction_type"),
        pl.when(pl.col("personal")).then(pl.lit("Oui")).otherwise(pl.lit("Non")),
        pl.lit("DEFAULT"),
        euros(pl.when(amount < 0).then(-amount).otherwise(0), ","),
        euros(pl.when(amount > 0).then(amount).otherwise(0), ","),
        euros(amount, ","),
        euros(pl.col("balance_cents"), ","),
        pl.col("label"),
        pl.col("counterparty"),
        euros(amount.abs() - vat, ","),
        euros(vat, ","),
        pl.when(receipt).then(pl.concat_str([pl.lit("ACH_"), date_text(pl.col("operation_day")), pl.lit("_"), slug,
                                              pl.lit("_"), uuid(pl.col("row"), 61), pl.lit(".pdf")])).otherwise(pl.lit("")),
        pl.when(receipt).then(date_text(pl.col("value_day"), "%d/%m/%Y")).otherwise(pl.lit("")),
        pl.when(pl.col("transaction_type") == "Commission").then(previous).otherwise(pl.lit("")),
    ]
    out = bank.select([c.alias(name) for c, name in zip(columns, SHINE_COLUMNS)])
    out.write_csv(path, separator=";", quote_style="always", line_terminator="\r\n", include_bom=True)


def write_json_lines(objects: pl.Series, path: Path) -> None:
    """JSON Lines, one compact object per line, written by polars (no Python loop over rows)."""
    objects.to_frame("object").write_csv(path, include_header=False, quote_style="never")


def json_object(fields: dict[str, pl.Expr], keys: tuple[str, ...]) -> pl.Expr:
    parts: list[pl.Expr] = []
    for i, key in enumerate(keys):
        parts += [pl.lit(("{" if i == 0 else ",") + json.dumps(key) + ":"), fields[key]]
    return pl.concat_str(parts + [pl.lit("}")])


def write_snapshot(invoices: pl.DataFrame, customers: pl.DataFrame, folder: Path) -> None:
    """The Dolibarr snapshot folder, slim: only the properties fetch_dolibarr requests."""
    text = lambda e: json_value(e.cast(pl.String))  # noqa: E731 - one-line helper
    credit = pl.col("kind") == "credit"
    midnight = pl.col("day") * 86400
    invoice_fields = {
        "id": text(pl.col("invoice_id")),
        "ref": json_value(pl.col("ref")),
        "statut": text(pl.col("status")),
        "status": text(pl.col("status")),
        "multicurrency_code": pl.lit('"EUR"'),
        "total_ttc": json_value(euros(pl.col("total_cents")) + pl.lit("000000")),
        "totalpaid": short_decimal(pl.col("paid_cents")),
        "type": pl.when(credit).then(pl.lit('"2"')).otherwise(pl.lit('"0"')),
        "socid": text(pl.col("socid")),
        "paye": text(pl.col("paye")),
        "date": midnight.cast(pl.String),
        "date_lim_reglement": (midnight + pl.when(credit).then(86400).otherwise(30 * 86400)).cast(pl.String),
        "mode_reglement_code": pl.when(credit).then(pl.lit('"VIR"')).otherwise(pl.lit('"PRE"')),
        "totaldeposits": pl.lit("null"),
        "totalcreditnotes": pl.lit("null"),
        "remaintopay": json_value(short_decimal(pl.col("remaining_cents"))),
        "ref_client": json_value(pl.col("ref_client")),
        "close_code": json_value(pl.col("close_code")),
    }
    thirdparty_fields = {
        "id": text(pl.col("socid")),
        "name": json_value(pl.col("dolibarr_name")),
        "name_alias": pl.lit('""'),
        "email": json_value(pl.col("email")),
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_json_lines(invoices.sort("invoice_id").select(json_object(invoice_fields, INVOICE_JSON_KEYS)).to_series(),
                     folder / INVOICES_FILE)
    write_json_lines(customers.select(json_object(thirdparty_fields, THIRDPARTY_JSON_KEYS)).to_series(),
                     folder / THIRDPARTIES_FILE)
    meta = {  # as fetch_dolibarr writes meta.json beside a fetched snapshot
        "from": WINDOW_FROM.isoformat(), "to": WINDOW_TO.isoformat(),
        "dolibarr_version": "23.0.0-beta", "timezone": "UTC",
        "fetched_at": f"{EXPORT_DATE.isoformat()}T08:00:00+00:00",
        "invoices": invoices.height, "thirdparties": customers.height,
        "sha256": {name: sha256_of(folder / name) for name in (INVOICES_FILE, THIRDPARTIES_FILE)},
        "source": "bench/generate.py (synthetic)",
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


# --- the whole month ---------------------------------------------------------------------
def generate(count: int, seed: int, folder: Path) -> dict:
    """Write the month for `count` invoices into `folder`; return its manifest (row counts)."""
    draws = Draws(seed)
    customers = make_customers(draws, max(10, count // 5))
    invoices = make_invoices(draws, count, customers.height)
    planned, invoices = plan_payments(draws, invoices, count)
    payments = finish_payments(draws, planned)
    payments, payouts, items = make_payouts(draws, payments, max(1, count // 10))
    outcome = (
        payments.filter(pl.col("invoice_id").is_not_null()).sort("charge_day", "row")
        .group_by("invoice_id").agg(plan=pl.col("plan").first(), last_status=pl.col("status").last())
    )
    invoices = dolibarr_state(draws, invoices, outcome)
    transfers = customer_transfers(draws, invoices, customers)
    bank = make_bank(draws, payouts, customers, count, transfers.drop("how"))

    gocardless, shine = folder / "raw" / "gocardless", folder / "raw" / "shine"
    gocardless.mkdir(parents=True)
    shine.mkdir(parents=True)
    write_gc_payments(payments, customers, gocardless / "payments_index-export-EXBENCH.csv")
    write_gc_payouts(payouts, gocardless / "payouts_index-export-EXBENCH.csv")
    write_gc_breakdown(items, payments, payouts, customers, gocardless / "payout_transactions-export-EXBENCH.csv")
    last_bank_day = EXPORT_DATE - timedelta(days=1)
    write_shine(bank, shine / f"BQ_{FIRST_INVOICE_DATE.isoformat()}_{last_bank_day.isoformat()}.csv")
    write_snapshot(invoices, customers, folder / "dolibarr")
    return manifest(count, seed, invoices, customers, payments, payouts, items, bank, transfers)


def manifest(count, seed, invoices, customers, payments, payouts, items, bank, transfers) -> dict:
    tally = lambda frame, column: dict(sorted(frame[column].value_counts().iter_rows()))  # noqa: E731
    return {
        "invoices_requested": count,
        "seed": seed,
        "from": WINDOW_FROM.isoformat(),
        "to": WINDOW_TO.isoformat(),
        "rows": {
            "invoices": invoices.height,
            "thirdparties": customers.height,
            "payments": payments.height,
            "payouts": payouts.height,
            "payout_items": items.height,
            "bank_lines": bank.height,
        },
        "invoice_kinds": tally(invoices, "kind"),
        "payment_plans": tally(payments, "plan"),
        "payment_statuses": tally(payments, "status"),
        "payout_statuses": tally(payouts, "status"),
        "customer_transfers": tally(transfers, "how"),
        "gocardless_bank_credits": bank.filter(pl.col("counterparty").str.to_lowercase().str.contains("gocardless")).height,
    }


def build(count: int, seed: int, folder: Path) -> dict:
    """Generate into a sibling folder and rename it into place, so a cache is never half-written."""
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    result = generate(count, seed, partial)
    (partial / "manifest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    partial.rename(folder)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000,
                        help="invoices and payments; payouts are a tenth, bank lines as many (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced if present)")
    args = parser.parse_args(argv)
    if args.invoices < 100:
        parser.error("--invoices must be at least 100")
    result = build(args.invoices, args.seed, args.out)
    print(json.dumps(result["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
