"""`make check`: is the Dolibarr of DOLIBARR_URL usable, with these keys and these ids?

One verdict per line, then a summary; exit status 0 only when every check passed:

- reachable: DOLIBARR_URL answers like a Dolibarr REST API (GET /status);
- its version and PHP timezone (dates come back as midnight in that timezone);
- the read key (DOLIBARR_API_KEY) is accepted, which user it belongs to (login, never the
  key), and that user can list invoices and third parties;
- when DOLIBARR_WRITE_API_KEY is set: it is accepted too, and whose it is;
- when config `fix.payment_type_id` / `fix.bank_account_id` are set (or their overrides
  DOLIBARR_GC_PAYMENT_ID / DOLIBARR_BANK_ACCOUNT_ID): the payment type exists and is
  active, the bank account exists and is open (checked with the key `make fix` uses);
- in clearing mode (`fix.clearing_account_id`): the clearing account exists, is open, is a
  current account in the bank account's currency, and the write key may create transfers
  (Dolibarr asks for "configure bank accounts", not "transfer": API_FACTS §10.1), probed
  with a transfer from an account that does not exist, which writes nothing either way.

Usage: check_dolibarr.py --config config.yaml
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Callable, TextIO

from recon import config as config_module
from recon.dolibarr import (WRITE_KEY_VARIABLE, AuthError, DolibarrClient, DolibarrError,
                            ForbiddenError, NotFoundError, announce, client_from_env)
from recon.errors import StageError, run
from recon.payment_posting import by_id
from recon.reference_ids import clearing_account_problem

OK, FAIL, WARN, SKIP = "ok", "FAIL", "warn", "skip"


@dataclass(frozen=True)
class Check:
    verdict: str
    text: str


class Checks:
    """The list of verdicts, written as they come (a slow server shows where it is)."""

    def __init__(self, out: Callable[[str], None] = print):
        self.items: list[Check] = []
        self.out = out

    def add(self, verdict: str, text: str) -> None:
        self.items.append(Check(verdict, text))
        self.out(f"  {verdict:<5} {text}")

    @property
    def failed(self) -> int:
        return sum(1 for c in self.items if c.verdict == FAIL)


# --- the checks ---------------------------------------------------------------------------

def check_dolibarr(config: dict, checks: Checks) -> None:
    try:
        client = client_from_env(config)
    except StageError as exc:
        return checks.add(FAIL, str(exc))
    with client:
        announce("check_dolibarr", client)
        checks.out(f"Dolibarr at {client.display_url} (DOLIBARR_URL), key {client.key_name}:")
        if not check_server(client, checks):
            return
        if not check_user(client, "read key", checks):
            return
        check_read_access(client, checks)
        writer = check_write_key(config, checks)
        try:
            check_fix_ids(config, writer or client, checks)
            check_clearing(config, writer or client, checks)
        finally:
            if writer is not None:
                writer.close()


def check_server(client: DolibarrClient, checks: Checks) -> bool:
    """Reachable, version, timezone. /status needs the key, so a 401 here is about the key."""
    try:
        info = client.server_info()
    except AuthError as exc:
        checks.add(OK, "reachable: the Dolibarr API answers")
        checks.add(FAIL, f"read key: {exc}")
        return False
    except DolibarrError as exc:
        checks.add(FAIL, f"reachable: {exc}")
        return False
    checks.add(OK, "reachable: the Dolibarr API answers")
    checks.add(OK if info["version"] else WARN,
               f"version {info['version'] or 'not reported'}")
    if info["timezone"]:
        checks.add(OK, f"server timezone {info['timezone']} (invoice dates are midnight there)")
    else:
        checks.add(WARN, "server timezone not reported (older Dolibarr): invoice dates are "
                         "read by rounding to the nearest day, right within 12 h of UTC")
    return True


def check_user(client: DolibarrClient, label: str, checks: Checks) -> bool:
    try:
        user = client.get("/users/info")
    except DolibarrError as exc:
        checks.add(FAIL, f"{label}: {exc}")
        return False
    user = user if isinstance(user, dict) else {}
    role = ", an administrator" if str(user.get("admin")) == "1" else ""
    checks.add(OK, f"{label} {client.key_name} belongs to user '{user.get('login')}' "
                   f"(id {user.get('id')}{role})")
    return True


def check_read_access(client: DolibarrClient, checks: Checks) -> None:
    """One row of each list the fetch reads: a 403 says which permission is missing."""
    for path, what in (("/invoices", "invoices"), ("/thirdparties", "third parties")):
        try:
            client.get(path, {"limit": 1, "properties": "id"})
        except NotFoundError:
            pass  # an empty list (older Dolibarr, or no third party yet)
        except DolibarrError as exc:
            checks.add(FAIL, f"can read {what}: {exc}")
            continue
        checks.add(OK, f"can read {what}")


def check_write_key(config: dict, checks: Checks) -> DolibarrClient | None:
    """The write key's client when it is set and accepted."""
    if not os.environ.get(WRITE_KEY_VARIABLE, "").strip():
        checks.add(SKIP, f"{WRITE_KEY_VARIABLE} is not set: make fix would write with "
                         "DOLIBARR_API_KEY")
        return None
    writer = client_from_env(config, write=True)
    if check_user(writer, "write key", checks):
        return writer
    writer.close()
    return None


def check_fix_ids(config: dict, client: DolibarrClient, checks: Checks) -> None:
    fix = config.get("fix") or {}
    type_id, account_id = fix.get("payment_type_id"), fix.get("bank_account_id")
    if type_id is None and account_id is None:
        checks.add(SKIP, "no fix.payment_type_id / fix.bank_account_id configured")
        return
    if type_id is not None:
        _check_listed(client, checks, "/setup/dictionary/payment_types", type_id,
                      "payment type", "fix.payment_type_id or DOLIBARR_GC_PAYMENT_ID",
                      describe=lambda t: f"{t.get('code')}, {t.get('label')}", listed="active")
    if account_id is not None:
        _check_listed(client, checks, "/bankaccounts", account_id, "bank account",
                      "fix.bank_account_id or DOLIBARR_BANK_ACCOUNT_ID",
                      describe=lambda a: f"{a.get('ref')}, {a.get('label')}",
                      listed="existing",
                      problem=lambda a: "is closed" if str(a.get("clos")) == "1" else None)


def _check_listed(client: DolibarrClient, checks: Checks, path: str, wanted, what: str,
                  setting: str, describe, listed: str, problem=None) -> None:
    """`wanted` is the id of one of the items `path` lists; `problem(item)` says what is
    wrong with the item found, if anything."""
    try:
        items = client.list_all(path, {})
    except DolibarrError as exc:
        checks.add(FAIL, f"{what} id {wanted} ({setting}): cannot list them: {exc}")
        return
    found = by_id(items, wanted)
    if found is None:
        known = "; ".join(f"{i.get('id')} = {describe(i)}" for i in items) or "none"
        checks.add(FAIL, f"{what} id {wanted} ({setting}) is not among the {listed} ones "
                         f"({known})")
        return
    issue = problem(found) if problem is not None else None
    if issue:
        checks.add(FAIL, f"{what} id {wanted} ({describe(found)}) {issue}")
        return
    checks.add(OK, f"{what} id {wanted} = {describe(found)}")


TRANSFER_RIGHT = ("Banks and cash > Configure bank accounts (banque configurer), which "
                  "Dolibarr's transfer endpoint asks for; 'Transfer between accounts' is not enough")


def check_clearing(config: dict, client: DolibarrClient, checks: Checks) -> None:
    fix = config.get("fix") or {}
    wanted = fix.get("clearing_account_id")
    if wanted is None:
        checks.add(SKIP, "clearing mode off (fix.clearing_account_id not set)")
        return
    try:
        accounts = client.list_all("/bankaccounts", {})
    except DolibarrError as exc:
        checks.add(FAIL, f"clearing account id {wanted}: cannot list bank accounts: {exc}")
        return
    problem = clearing_account_problem(accounts, wanted, fix.get("bank_account_id"))
    if problem:
        checks.add(FAIL, problem)
    else:
        found = by_id(accounts, wanted)
        checks.add(OK, f"clearing account id {wanted} = {found.get('ref')}, {found.get('label')} "
                       f"(current account, {found.get('currency_code')})")
    check_transfer_right(client, accounts, checks)


def check_transfer_right(client: DolibarrClient, accounts: list[dict], checks: Checks) -> None:
    """Dolibarr checks the right before the accounts: from an account that does not exist,
    403 means no right, 404 means the right is there; nothing is written either way."""
    nowhere = max((int(a["id"]) for a in accounts if str(a.get("id", "")).isdigit()), default=0) + 1000
    probe = {"bankaccount_from_id": nowhere, "bankaccount_to_id": nowhere + 1, "date": 1767268800,
             "description": "make check rights probe", "amount": "0.01"}
    try:
        client.post("/bankaccounts/transfer", probe)
    except ForbiddenError:
        checks.add(FAIL, f"the key make fix uses may not create transfers: give its user the right "
                         f"{TRANSFER_RIGHT}")
        return
    except NotFoundError:
        checks.add(OK, "the key make fix uses may create transfers (bank accounts: configure)")
        return
    except DolibarrError as exc:
        checks.add(FAIL, f"cannot tell whether the key may create transfers: {exc}")
        return
    checks.add(FAIL, f"the transfer probe from account {nowhere}, which should not exist, was accepted: "
                     "check the bank accounts in Dolibarr")


# --- the script ---------------------------------------------------------------------------

def summary(checks: Checks) -> str:
    if checks.failed:
        return (f"Verdict: {checks.failed} check(s) FAILED; fix the lines marked FAIL "
                "(settings: .env and config.yaml) and run make check again.")
    counts = {v: sum(1 for c in checks.items if c.verdict == v) for v in (OK, SKIP, WARN)}
    text = f"Verdict: {counts[OK]} check(s) passed"
    if counts[SKIP]:
        text += f", {counts[SKIP]} skipped"
    if counts[WARN]:
        text += f", {counts[WARN]} with a warning"
    return text + "."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check the Dolibarr of DOLIBARR_URL: reachable, version, timezone, whose "
                    "keys (DOLIBARR_API_KEY, DOLIBARR_WRITE_API_KEY), and that the payment "
                    "type and bank account ids make fix uses exist. Exit status 0 only if "
                    "everything passed.")
    parser.add_argument("--config", required=True, help="config.yaml (sections dolibarr:, fix:)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    args = parse_args(argv)
    stream = out or sys.stdout
    write = lambda line: print(line, file=stream, flush=True)  # noqa: E731
    config = config_module.load(args.config)
    checks = Checks(write)
    check_dolibarr(config, checks)
    write(summary(checks))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    run(main)
