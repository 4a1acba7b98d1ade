"""Restler's parameter validation (the 400s of the "validate" stage) and shared state."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .dataset import Dataset
from .replies import ApiError


@dataclass
class Context:
    """What every handler may read: the data, its lock and the server's settings."""

    data: Dataset
    zone: ZoneInfo
    legacy: bool = False
    production: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    invoice_rows: list | None = None  # cache of invoices.rows_of()

    @property
    def version(self) -> str:
        return "17.0.4" if self.legacy else "23.0.0-beta"


def invalid(name: str, detail: str = "") -> ApiError:
    text = f"Invalid value specified for `{name}`" + (f". {detail}" if detail else "")
    return ApiError(400, text, stage="validate", source="Validator.php:718")


def required(name: str) -> ApiError:
    return ApiError(400, f"`{name}` is required.", stage="validate", source="Validator.php:436")


def is_missing(value) -> bool:
    return value is None or value == ""


def integer(name: str, value, default: int | None = None, minimum: int | None = None) -> int | None:
    """An int parameter: numeric text or a JSON number with no fraction."""
    if is_missing(value):
        return default
    if isinstance(value, bool) or not re.fullmatch(r"\s*-?\d+(\.0*)?\s*", str(value)):
        raise invalid(name, "Expecting integer value")
    number = int(float(str(value))) if "." in str(value) else int(str(value))
    if minimum is not None and number < minimum:
        raise invalid(name, f"Minimum required value is {minimum}.")
    return number


def boolean(value, default: bool = False) -> bool:
    if is_missing(value):
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def choice(name: str, value, options: tuple[str, ...]) -> str:
    if value not in options:
        raise invalid(name, f"Expected one of ({','.join(options)}).")
    return value


def route_id(name: str, text: str) -> int:
    """A path parameter declared int: Restler refuses anything else at the route stage."""
    if not re.fullmatch(r"-?\d+", text):
        raise ApiError(400, f"invalid value specified for `{name}`", stage="route", source="Routes.php:457")
    return int(text)
