"""What the list endpoints share: filters, ORDER BY, LIMIT/OFFSET, properties, envelopes."""
from __future__ import annotations

from .params import boolean, integer, invalid
from .replies import ApiError, EmptyReply
from .sqlfilters import Column, FilterSyntaxError, SqlSyntaxError, UnknownColumn, coerce, compile_filter


def sql_error(what: str, message: str, source: str) -> ApiError:
    return ApiError(503, f"Error when retrieve {what} : {message}", source=source)


def apply_sqlfilters(rows: list, text: str, columns: dict[str, Column], what: str, source: str) -> list:
    """Rows matching `sqlfilters`; 400 for what Dolibarr rejects, 503 for what SQL rejects."""
    try:
        predicate = compile_filter(text, columns)
    except FilterSyntaxError as exc:
        raise ApiError(400, f"Error when validating parameter sqlfilters -> {exc}", source=source) from None
    except UnknownColumn as exc:
        raise sql_error(what, f"Unknown column '{exc.column}' in 'WHERE'", source) from None
    except SqlSyntaxError:
        raise sql_error(what, "You have an error in your SQL syntax; check the manual that corresponds "
                              "to your MariaDB server version", source) from None
    return rows if predicate is None else [row for row in rows if predicate(row)]


def filter_and_sort(rows: list, query: dict, columns: dict[str, Column], what: str, source: str) -> list:
    """`sqlfilters`, then `sortfield`/`sortorder` (default t.rowid ASC), as a list endpoint applies them."""
    rows = apply_sqlfilters(rows, query.get("sqlfilters") or "", columns, what, source)
    return sort_rows(rows, query.get("sortfield") or "t.rowid", query.get("sortorder") or "ASC",
                     columns, what, source)


def sort_rows(rows: list, sortfield: str, sortorder: str, columns: dict[str, Column], what: str, source: str) -> list:
    """ORDER BY as given (comma lists allowed); NULLs first ascending; ties keep id order."""
    fields = [f.strip() for f in sortfield.split(",") if f.strip()]
    orders = [o.strip().upper() for o in sortorder.split(",")]
    if [f.lower() for f in fields] == ["t.rowid"] and "t.rowid" in columns:  # rows come in id order
        return rows[::-1] if orders[0] == "DESC" else rows
    for position in range(len(fields) - 1, -1, -1):
        column = columns.get(fields[position].lower())
        if column is None:
            raise sql_error(what, f"Unknown column '{fields[position]}' in 'ORDER BY'", source)
        descending = (orders[position] if position < len(orders) else orders[-1]) == "DESC"
        rows = sorted(rows, key=sort_key(column), reverse=descending)
    return rows


def sort_key(column: Column):
    def key(row):
        cell = column.getter(row)
        return (0, coerce("str", "")) if cell is None else (1, coerce(column.kind, cell))
    return key


def page_window(query: dict) -> tuple[int, int]:
    limit = integer("limit", query.get("limit"), default=100)
    page = integer("page", query.get("page"), default=0)
    return limit, max(page, 0)


def page_of(rows: list, limit: int, page: int) -> list:
    return rows if limit <= 0 else rows[limit * page: limit * page + limit]


def select_properties(item: dict, properties: str | None) -> dict:
    """`properties=a,b`: only those keys, in the object's own order."""
    if not properties:
        return item
    wanted = {p.strip() for p in properties.split(",") if p.strip()}
    return {key: value for key, value in item.items() if key in wanted}


def envelope(items: list, total: int, limit: int, page: int) -> dict:
    if limit == 0:  # ceil(total / 0) is a PHP DivisionByZeroError: an empty 500
        raise EmptyReply(500)
    return {"data": items, "pagination": {"total": total, "page": page,
                                          "page_count": -(-total // limit), "limit": limit}}


def wants_pagination_data(query: dict) -> bool:
    return boolean(query.get("pagination_data"))


def csv_ids(name: str, value) -> set[int] | None:
    """`thirdparty_ids=2,5` (regex ^[0-9,]*$, else 400); empty means no filter."""
    if not value:
        return None
    if not all(c.isdigit() or c == "," for c in value):
        raise invalid(name)
    return {int(part) for part in value.split(",") if part}
