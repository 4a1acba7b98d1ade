"""Dolibarr's "universal search filter" (the `sqlfilters` parameter), evaluated in Python.

Mirrors `forgeSQLFromUniversalSearchCriteria()` (htdocs/core/lib/functions.lib.php): the
string is wrapped in parentheses when it is not already, the parenthesis balance is
checked, then every `(field:operator:value)` criterion is cut out and only parentheses,
`and`, `or` and spaces may remain. Those two checks give the API's 400 messages. The
criteria are then evaluated with SQL precedence (and before or) against columns the caller
declares; an undeclared column is the database's "Unknown column" error (503 in the API).

Comparisons follow MariaDB with the default utf8mb4_unicode_ci collation closely enough:
strings compare case- and accent-insensitively, NULL matches nothing but `is`, a DATE
column compared with something that is not a date compares with the zero date (so
`(t.datef:>=:1772323200)` matches every row, as observed live).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Callable

CRITERION = re.compile(r"\(([a-zA-Z0-9_.]+:[<>!=insotlke]+:[^()]+)\)", re.IGNORECASE)
OPERATORS = {"=", "!=", "<>", "<", ">", "<=", ">=", "LIKE", "NOTLIKE", "IN", "NOTIN", "IS", "ISNOT"}
ZERO_DATE = datetime.min
KINDS = ("num", "str", "date", "datetime")


class FilterSyntaxError(Exception):
    """Rejected before any query: the text after "Error when validating parameter sqlfilters -> "."""


class UnknownColumn(Exception):
    """A column the table does not have (the database error, not a syntax error)."""

    def __init__(self, column: str):
        super().__init__(column)
        self.column = column


class SqlSyntaxError(Exception):
    """Passed Dolibarr's checks but would not be valid SQL (e.g. "(a)andor(b)")."""


@dataclass(frozen=True)
class Column:
    kind: str  # one of KINDS
    getter: Callable[[object], object]


Predicate = Callable[[object], bool]


# --- checks that give the 400 messages -----------------------------------------------------

def wrapped(text: str) -> str:
    return text if re.fullmatch(r"\(.*\)", text) else f"({text})"


def balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth < 0:
            return False
    return depth == 0


def check_syntax(text: str) -> str:
    """The filter as Dolibarr sees it (wrapped), or FilterSyntaxError with the real message."""
    text = wrapped(text)
    if not balanced(text):
        raise FilterSyntaxError(f"Wrong balance of parenthesis in sqlfilters={text}")
    rest = CRITERION.sub("", text)
    for word in ("and", "or", " "):
        rest = re.sub(re.escape(word), "", rest, flags=re.IGNORECASE)
    bad_operator = any(operator_of(m.group(1)) not in OPERATORS for m in CRITERION.finditer(text))
    if re.search(r"[^()]", rest) or bad_operator:
        raise FilterSyntaxError(f"Bad syntax of the search string: {text}")
    return text


def operator_of(criterion: str) -> str:
    return re.sub(r"[^a-z<>!=]", "", criterion.split(":", 2)[1], flags=re.IGNORECASE).upper()


# --- parsing into a predicate ------------------------------------------------------------

def compile_filter(text: str, columns: dict[str, Column]) -> Predicate | None:
    """A predicate over rows for `text` ("" → None: no filter). Raises the errors above."""
    if text == "":
        return None
    text = check_syntax(text)
    tokens = tokenize(text, columns)
    predicate, position = parse_or(tokens, 0)
    if position != len(tokens):
        raise SqlSyntaxError(text)
    return predicate


def tokenize(text: str, columns: dict[str, Column]) -> list:
    tokens: list = []
    position = 0
    for match in CRITERION.finditer(text):
        tokens += gap_tokens(text[position:match.start()], text)
        tokens.append(criterion_predicate(match.group(1), columns))
        position = match.end()
    return tokens + gap_tokens(text[position:], text)


def gap_tokens(gap: str, text: str) -> list[str]:
    words = re.findall(r"\(|\)|and|or|\S", gap, flags=re.IGNORECASE)
    if any(word.lower() not in ("(", ")", "and", "or") for word in words):
        raise SqlSyntaxError(text)
    return [word.lower() for word in words]


def parse_or(tokens: list, position: int):
    left, position = parse_and(tokens, position)
    while position < len(tokens) and tokens[position] == "or":
        right, position = parse_and(tokens, position + 1)
        left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
    return left, position


def parse_and(tokens: list, position: int):
    left, position = parse_factor(tokens, position)
    while position < len(tokens) and tokens[position] == "and":
        right, position = parse_factor(tokens, position + 1)
        left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
    return left, position


def parse_factor(tokens: list, position: int):
    if position >= len(tokens):
        raise SqlSyntaxError("unexpected end")
    token = tokens[position]
    if callable(token):
        return token, position + 1
    if token == "(":
        inner, position = parse_or(tokens, position + 1)
        if position >= len(tokens) or tokens[position] != ")":
            raise SqlSyntaxError("missing )")
        return inner, position + 1
    raise SqlSyntaxError(f"unexpected {token}")


# --- one criterion -----------------------------------------------------------------------

def criterion_predicate(criterion: str, columns: dict[str, Column]) -> Predicate:
    field, _, raw_value = criterion.split(":", 2)
    field = re.sub(r"[^a-z0-9._]", "", field.strip(), flags=re.IGNORECASE)
    column = columns.get(field.lower())
    if column is None:
        raise UnknownColumn(field)
    operator = operator_of(criterion)
    if operator in ("IN", "NOTIN"):
        values = [literal(part) for part in raw_value.split(",")]
        return membership(column, values, negate=operator == "NOTIN")
    if operator in ("LIKE", "NOTLIKE"):
        pattern = raw_value[1:-1] if re.fullmatch(r"'[^']*'", raw_value) else raw_value
        return like(column, pattern, negate=operator == "NOTLIKE")
    value = literal(raw_value)
    if operator in ("IS", "ISNOT"):
        if value is not None:
            raise SqlSyntaxError(criterion)
        return (lambda row: column.getter(row) is not None) if operator == "ISNOT" else (
            lambda row: column.getter(row) is None)
    return comparison(column, operator, value)


def literal(raw: str) -> str | None:
    """A value as the SQL would hold it: quoted text kept, else only [A-Za-z0-9_]; NULL → None."""
    quoted = re.fullmatch(r"'(.*)'", raw, flags=re.DOTALL)
    if quoted:
        return quoted.group(1)
    if raw.strip().upper() == "NULL":
        return None
    return re.sub(r"[^A-Za-z0-9_]", "", raw)


COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


def comparison(column: Column, operator: str, value: str | None) -> Predicate:
    if value is None:  # "x = NULL" is never true in SQL
        return lambda row: False
    target = coerce(column.kind, value)
    test = COMPARE[operator]

    def predicate(row) -> bool:
        cell = column.getter(row)
        return cell is not None and test(coerce(column.kind, cell), target)
    return predicate


def membership(column: Column, values: list, negate: bool) -> Predicate:
    targets = {coerce(column.kind, v) for v in values if v is not None}

    def predicate(row) -> bool:
        cell = column.getter(row)
        return cell is not None and ((coerce(column.kind, cell) in targets) != negate)
    return predicate


def like(column: Column, pattern: str, negate: bool) -> Predicate:
    regex = re.compile(like_regex(fold(pattern)), re.DOTALL)

    def predicate(row) -> bool:
        cell = column.getter(row)
        return cell is not None and (bool(regex.fullmatch(fold(as_text(cell)))) != negate)
    return predicate


def like_regex(pattern: str) -> str:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
    return "".join(parts)


# --- values ------------------------------------------------------------------------------

def coerce(kind: str, value):
    if kind == "num":
        return number(value)
    if kind in ("date", "datetime"):
        return moment(value)
    return fold(as_text(value)).rstrip(" ")


def number(value) -> Decimal:
    """MySQL's string-to-number conversion: the leading numeric part, else 0."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    match = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)", str(value))
    try:
        return Decimal(match.group(0).strip()) if match else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y%m%d")


def moment(value) -> datetime:
    """A DATE/DATETIME cell or literal; anything that is not a date is the zero date."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(str(value).strip(), fmt)
        except ValueError:
            continue
    return ZERO_DATE


def as_text(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fold(text: str) -> str:
    """utf8mb4_unicode_ci, roughly: case- and accent-insensitive, œ/æ expanded."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
