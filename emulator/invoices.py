"""Read endpoints of /invoices: the list with its filters, one invoice, its payments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .listing import (csv_ids, envelope, filter_and_sort, page_of, page_window, select_properties,
                      wants_pagination_data)
from .params import Context, boolean
from .replies import ApiError
from .sqlfilters import Column

SOURCE = "api_invoices.class.php:319"
# status= takes exactly these strings; anything else filters nothing (observed live).
STATUS_FILTER = {"draft": 0, "unpaid": 1, "paid": 2, "cancelled": 3}


@dataclass
class InvoiceRow:
    """One row of the SQL the list runs: llx_facture t INNER JOIN llx_societe s.

    `obj` and `days` are the stored dicts themselves, so a row always shows the current
    state and the list of rows can be built once."""

    id: int
    obj: dict
    days: dict[str, date]
    names: dict[str, str]
    zone: ZoneInfo

    @property
    def customer_name(self) -> str | None:
        return self.names.get(str(self.obj.get("socid")))

    def local(self, *fields: str) -> datetime | None:
        """A DATETIME column: the first timestamp field present, as server-local time."""
        for name in fields:
            value = self.obj.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, self.zone).replace(tzinfo=None)
        return None


def invoice_status(obj: dict):
    return obj.get("status", obj.get("statut"))


def _field(name: str, kind: str) -> Column:
    return Column(kind, lambda row: row.obj.get(name))


INVOICE_COLUMNS: dict[str, Column] = {
    "t.rowid": Column("num", lambda row: row.id),
    "t.ref": _field("ref", "str"),
    "t.ref_client": _field("ref_client", "str"),
    "t.ref_ext": _field("ref_ext", "str"),
    "t.datef": Column("date", lambda row: row.days.get("date")),
    "t.date_lim_reglement": Column("date", lambda row: row.days.get("date_lim_reglement")),
    "t.date_valid": Column("date", lambda row: row.days.get("date_validation")),
    "t.fk_statut": Column("num", lambda row: invoice_status(row.obj)),
    "t.paye": _field("paye", "num"),
    "t.type": _field("type", "num"),
    "t.fk_soc": _field("socid", "num"),
    "t.total_ht": _field("total_ht", "num"),
    "t.total_tva": _field("total_tva", "num"),
    "t.total_ttc": _field("total_ttc", "num"),
    "t.close_code": _field("close_code", "str"),
    "t.fk_mode_reglement": _field("mode_reglement_id", "num"),
    "t.fk_cond_reglement": _field("cond_reglement_id", "num"),
    "t.fk_facture_source": _field("fk_facture_source", "num"),
    "t.entity": _field("entity", "num"),
    "t.tms": Column("datetime", lambda row: row.local("date_modification", "datem")),
    "t.datec": Column("datetime", lambda row: row.local("date_creation")),
    "s.nom": Column("str", lambda row: row.customer_name),
    "s.rowid": _field("socid", "num"),
}


def columns_for(ctx: Context) -> dict[str, Column]:
    """Older Dolibarr versions did not join llx_societe: no `s.` columns there."""
    if not ctx.legacy:
        return INVOICE_COLUMNS
    return {name: column for name, column in INVOICE_COLUMNS.items() if not name.startswith("s.")}


def rows_of(ctx: Context) -> list[InvoiceRow]:
    """All rows in t.rowid order (built on first use: invoices are never added or removed)."""
    if ctx.invoice_rows is None:
        data = ctx.data
        names = {str(i): party.get("name") for i, party in data.thirdparties.items()}
        ctx.invoice_rows = [InvoiceRow(i, o, data.days[i], names, ctx.zone) for i, o in data.invoices.items()]
    return ctx.invoice_rows


def list_invoices(ctx: Context, query: dict):
    """GET /invoices (api_invoices.class.php index())."""
    limit, page = page_window(query)
    wanted_customers = csv_ids("thirdparty_ids", query.get("thirdparty_ids"))
    status = STATUS_FILTER.get(query.get("status") or "")
    with ctx.lock:
        rows = rows_of(ctx)
        if wanted_customers is not None:
            rows = [r for r in rows if str(r.obj.get("socid", "")).isdigit() and int(r.obj["socid"]) in wanted_customers]
        if status is not None:
            rows = [r for r in rows if str(invoice_status(r.obj)) == str(status)]
        rows = filter_and_sort(rows, query, columns_for(ctx), "invoice list", SOURCE)
        with_lines = boolean(query.get("withLines"), default=True)
        items = [served_invoice(ctx, row.id, with_lines, query.get("properties")) for row in page_of(rows, limit, page)]
    if not items and ctx.legacy:
        raise ApiError(404, "No invoice found", source=SOURCE)
    if wants_pagination_data(query) and not ctx.legacy:
        return envelope(items, len(rows), limit, page)
    return items


def served_invoice(ctx: Context, invoice_id: int, with_lines: bool = True, properties: str | None = None) -> dict:
    view = ctx.data.invoice_view(invoice_id, ctx.zone)
    if not with_lines:
        view.pop("lines", None)
    return select_properties(view, properties)


def fetch_invoice(ctx: Context, invoice_id: int, source: str = "api_invoices.class.php:149") -> dict:
    if invoice_id not in ctx.data.invoices:
        raise ApiError(404, "Invoice not found", source=source)
    return ctx.data.invoices[invoice_id]


def get_invoice(ctx: Context, invoice_id: int) -> dict:
    """GET /invoices/{id}: always with lines; linkedObjectsIds is [] here, null in lists."""
    if invoice_id == 0:
        raise ApiError(400, "No invoice with id=0 can exist", source="api_invoices.class.php:145")
    with ctx.lock:
        fetch_invoice(ctx, invoice_id)
        view = served_invoice(ctx, invoice_id)
    if "linkedObjectsIds" in view and view["linkedObjectsIds"] is None:
        view["linkedObjectsIds"] = []
    return view


def get_invoice_by_ref(ctx: Context, ref: str) -> dict:
    """Broken in Dolibarr 23.0.0-beta: always this 400 (use sqlfilters on t.ref)."""
    raise ApiError(400, "No invoice with id=0 can exist", source="api_invoices.class.php:145")


def get_payments(ctx: Context, invoice_id: int) -> list[dict]:
    """GET /invoices/{id}/payments: this invoice's share of each payment, [] when none."""
    if invoice_id == 0:
        raise ApiError(400, "Invoice ID is mandatory", source="api_invoices.class.php:1636")
    with ctx.lock:
        fetch_invoice(ctx, invoice_id, source="api_invoices.class.php:1643")
        return [line.served(ctx.zone) for line in ctx.data.payments.get(invoice_id, [])]
