"""The `fix:` settings of config.yaml, and the money format `make fix` prints and sends."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from recon.errors import InputError

@dataclass(frozen=True)
class FixSettings:
    allow_soft: bool
    allow_multi_invoice: bool
    payment_type_id: int
    bank_account_id: int
    clearing_account_id: int | None = None  # clearing mode when set
    require_payout_in_bank: bool = True
    allow_transfers: bool = False  # record customer transfers (pass 2 PAID_BY_TRANSFER)
    transfer_payment_type_id: int | None = None  # their payment mode, e.g. VIR
    transfer_bank_account_id: int | None = None  # the account of the bank they reached

    @property
    def payments_account_id(self) -> int:
        """Where customer payments are recorded: the clearing account in clearing mode."""
        return self.clearing_account_id or self.bank_account_id

    @property
    def transfers_account_id(self) -> int:
        """Where customer transfers are recorded: their bank's account, default the bank account."""
        return self.transfer_bank_account_id or self.bank_account_id


def fix_settings(config: dict, config_path: str) -> FixSettings:
    """The `fix:` section, checked: ids are whole numbers >= 1 (config.validate has made the
    switches booleans and the ids whole numbers; the environment's overrides are any integer)."""
    section = config.get("fix") or {}
    switches = {key: section.get(key, default)
                for key, default in (("allow_soft", False), ("allow_multi_invoice", False),
                                     ("require_payout_in_bank", True), ("allow_transfers", False))}
    ids = {}
    for key, variable in (("payment_type_id", "DOLIBARR_GC_PAYMENT_ID"),
                          ("bank_account_id", "DOLIBARR_BANK_ACCOUNT_ID")):
        value = section.get(key)
        if not _is_id(value):
            raise InputError(f"fix.{key} (or {variable}) must be a Dolibarr id, a whole "
                             "number of at least 1", file=config_path, value=value)
        ids[key] = value
    clearing = section.get("clearing_account_id")
    if clearing is not None:
        if not _is_id(clearing):
            raise InputError("fix.clearing_account_id (or DOLIBARR_CLEARING_ACCOUNT_ID) must be a "
                             "Dolibarr bank account id, a whole number of at least 1, or empty "
                             "(clearing mode off)", file=config_path, value=clearing)
        if clearing == ids["bank_account_id"]:
            raise InputError("fix.clearing_account_id must differ from fix.bank_account_id: "
                             "payouts are transfers from one to the other", file=config_path,
                             value=clearing)
    transfer_ids = {}
    for key in ("transfer_payment_type_id", "transfer_bank_account_id"):
        value = section.get(key)
        if value is not None and not _is_id(value):
            raise InputError(f"fix.{key} must be a Dolibarr id, a whole number of at least 1",
                             file=config_path, value=value)
        transfer_ids[key] = value
    if switches["allow_transfers"] and transfer_ids["transfer_payment_type_id"] is None:
        raise InputError("fix.allow_transfers needs fix.transfer_payment_type_id (the payment mode of "
                         "transfers, e.g. VIR)", file=config_path)
    return FixSettings(**switches, **ids, clearing_account_id=clearing, **transfer_ids)


def _is_id(value: object) -> bool:
    """A Dolibarr id: a whole number of at least 1 (YAML's true is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def money(cents: int) -> str:
    """Cents as the decimal string Dolibarr and people read: 123456 -> '1234.56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def to_cents(value: object) -> int | None:
    """A Dolibarr amount ('39.9', '1200.00000000', 55) as cents; None when unreadable."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
