"""Read endpoints of /thirdparties: unlike /invoices, an empty page is a 404."""
from __future__ import annotations

from .listing import (envelope, filter_and_sort, page_of, page_window, select_properties,
                      wants_pagination_data)
from .params import Context, integer
from .replies import ApiError
from .sqlfilters import Column

SOURCE = "api_thirdparties.class.php:270"


def _field(name: str, kind: str) -> Column:
    return Column(kind, lambda obj: obj.get(name))


THIRDPARTY_COLUMNS: dict[str, Column] = {
    "t.rowid": Column("num", lambda obj: obj.get("id")),
    "t.nom": _field("name", "str"),
    "t.name_alias": _field("name_alias", "str"),
    "t.email": _field("email", "str"),
    "t.client": _field("client", "num"),
    "t.fournisseur": _field("fournisseur", "num"),
    "t.status": _field("status", "num"),
    "t.code_client": _field("code_client", "str"),
    "t.zip": _field("zip", "str"),
    "t.town": _field("town", "str"),
    "t.siren": _field("idprof1", "str"),
    "t.siret": _field("idprof2", "str"),
    "t.tva_intra": _field("tva_intra", "str"),
    "t.fk_typent": _field("typent_id", "num"),
    "t.entity": _field("entity", "num"),
}
# mode=1 customers, 2 prospects, 3 neither, 4 suppliers (llx_societe.client / fournisseur)
MODES = {
    1: lambda o: str(o.get("client")) in ("1", "3"),
    2: lambda o: str(o.get("client")) in ("2", "3"),
    3: lambda o: str(o.get("client")) == "0",
    4: lambda o: str(o.get("fournisseur")) == "1",
}


def list_thirdparties(ctx: Context, query: dict):
    """GET /thirdparties (api_thirdparties.class.php index())."""
    limit, page = page_window(query)
    mode = integer("mode", query.get("mode"), default=0)
    with ctx.lock:
        rows = list(ctx.data.thirdparties.values())
        if mode in MODES:
            rows = [o for o in rows if MODES[mode](o)]
        rows = filter_and_sort(rows, query, THIRDPARTY_COLUMNS, "thirdparties", SOURCE)
        items = [select_properties(dict(o), query.get("properties")) for o in page_of(rows, limit, page)]
    if not items:
        raise ApiError(404, "No third parties found", source=SOURCE)
    if wants_pagination_data(query):
        return envelope(items, len(rows), limit, page)
    return items


def get_thirdparty(ctx: Context, thirdparty_id: int) -> dict:
    with ctx.lock:
        party = ctx.data.thirdparties.get(thirdparty_id)
        if party is None:
            raise ApiError(404, "Thirdparty not found", source="api_thirdparties.class.php:2611")
        # get() adds the customer's available discounts (none are emulated)
        return {**party, "absolute_discount": "0", "absolute_creditnote": "0"}
