"""The Dolibarr ids `make fix` writes with, checked before its first write (and by make check).

The payment mode and bank account of config `fix:` must exist (the account open); with
`fix.allow_transfers`, the transfers' mode and account too; in clearing mode, the clearing
account must be an open current account in the bank account's currency.
"""
from __future__ import annotations

from recon.errors import StageError
from recon.fix_settings import FixSettings
from recon.payment_posting import by_id


def clearing_account_problem(accounts: list[dict], wanted: int, bank_account_id) -> str | None:
    """The clearing account must exist, be open, be a current account (a cash account takes
    only cash lines) and share the bank account's currency (else transfers need amount_to)."""
    clearing = by_id(accounts, wanted)
    bank = by_id(accounts, bank_account_id) or {}
    where = f"clearing account id {wanted} (config fix.clearing_account_id or DOLIBARR_CLEARING_ACCOUNT_ID)"
    if clearing is None:
        return f"{where} does not exist in Dolibarr (accounts: {_known(accounts, 'ref')})"
    name = f"{where}, {clearing.get('ref')}"
    if str(clearing.get("clos")) == "1":
        return f"{name}, is closed in Dolibarr"
    kind = str(clearing.get("type", clearing.get("courant")))
    if kind != "1":
        what = {"0": "a savings account", "2": "a cash account"}.get(kind, f"of type {kind}")
        return f"{name}, is {what}; make it a current account (type 1)"
    if clearing.get("currency_code") != bank.get("currency_code"):
        return (f"{name}, is in {clearing.get('currency_code')}, the bank account "
                f"{bank.get('ref')} in {bank.get('currency_code')}: they must share a currency")
    return None


def check_reference_ids(client, settings: FixSettings) -> str:
    """What the writes will use, as a sentence; StageError naming the setting when it cannot."""
    modes = client.list_all("/setup/dictionary/payment_types", {})
    mode = by_id(modes, settings.payment_type_id)
    if mode is None:
        raise StageError(f"payment mode id {settings.payment_type_id} (config "
                         "fix.payment_type_id or DOLIBARR_GC_PAYMENT_ID) is not an active "
                         f"payment type in Dolibarr (active: {_known(modes, 'code')})")
    accounts = client.list_all("/bankaccounts", {})
    account = by_id(accounts, settings.bank_account_id)
    if account is None:
        raise StageError(f"bank account id {settings.bank_account_id} (config "
                         "fix.bank_account_id or DOLIBARR_BANK_ACCOUNT_ID) does not exist "
                         f"in Dolibarr (accounts: {_known(accounts, 'ref')})")
    if str(account.get("clos")) == "1":
        raise StageError(f"bank account id {settings.bank_account_id} "
                         f"({account.get('ref')}) is closed in Dolibarr")
    if settings.allow_transfers:
        check_transfer_ids(settings, modes, accounts)
    if settings.clearing_account_id:
        problem = clearing_account_problem(accounts, settings.clearing_account_id,
                                           settings.bank_account_id)
        if problem:
            raise StageError(problem)
    return (f"Payment mode {mode.get('id')} ({mode.get('code')}, {mode.get('label')}); "
            f"bank account {account.get('id')} ({account.get('ref')}, {account.get('label')}).")


def check_transfer_ids(settings: FixSettings, modes: list[dict], accounts: list[dict]) -> None:
    """fix.allow_transfers: their payment mode and bank account must exist too."""
    if by_id(modes, settings.transfer_payment_type_id) is None:
        raise StageError(f"payment mode id {settings.transfer_payment_type_id} (config "
                         "fix.transfer_payment_type_id) is not an active payment type in Dolibarr")
    if by_id(accounts, settings.transfers_account_id) is None:
        raise StageError(f"bank account id {settings.transfers_account_id} (config "
                         "fix.transfer_bank_account_id) does not exist in Dolibarr")


def _known(items: list[dict], name: str) -> str:
    """The ids Dolibarr has, each with its `name` field, for an error message."""
    return ", ".join(f"{i.get('id')} {i.get(name)}" for i in items) or "none"
