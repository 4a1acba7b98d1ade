"""Every verdict flag in one place: the order reports list them, what each means, and
what a person should do about it (None when nothing is to be done).

Reports (terminal summary, CSV, HTML, workbook) all read this table, so a flag added to
a pass is described once, here. `meaning` is the plain-language sentence shown beside
the code; the code itself never changes with the language.
"""
from __future__ import annotations

from typing import NamedTuple


class Flag(NamedTuple):
    meaning_en: str
    meaning_fr: str
    action: str | None = None  # set: the flag needs a person, and this says what to do


FLAGS: dict[str, Flag] = {
    # pass 1: one GoCardless payment against Dolibarr
    "MATCHED": Flag("paid in GoCardless and settled in Dolibarr",
                    "payé chez GoCardless et soldé dans Dolibarr"),
    "GC_PAID_DOLIBARR_OPEN": Flag(
        "money received, invoice still open in Dolibarr",
        "encaissé, facture encore ouverte dans Dolibarr",
        "collected by GoCardless, still open in Dolibarr: record the payment (`make fix` "
        "records the reference matches; [soft] and [multi_invoice] ones only if "
        "config.yaml's fix: section allows)"),
    "GC_PARTIAL": Flag("instalments received so far fall short of the invoice",
                       "les échéances reçues ne couvrent pas encore la facture"),
    "GC_PENDING": Flag("not yet collected", "pas encore encaissé"),
    "GC_FAILED": Flag("the collection failed or was cancelled",
                      "prélèvement échoué ou annulé",
                      "the collection failed or was cancelled: the invoice is still unpaid"),
    "GC_RETRIED": Flag("a failed attempt superseded by a later payment",
                       "échec remplacé par un prélèvement ultérieur"),
    "GC_CHARGED_BACK": Flag("money taken back by the customer's bank",
                            "somme reprise par la banque du client",
                            "money taken back while Dolibarr shows the invoice paid"),
    "AMOUNT_MISMATCH": Flag("the payment and the invoice amounts differ",
                            "les montants du paiement et de la facture diffèrent",
                            "the amounts disagree: check the invoice, record by hand"),
    "CURRENCY_MISMATCH": Flag(
        "the payment and the invoice are in different currencies",
        "le paiement et la facture sont dans des devises différentes",
        "different currencies: never matched on the amount, record by hand"),
    "AMBIGUOUS": Flag("several candidates tie", "plusieurs candidats à égalité",
                      "several candidates tie: decide by hand"),
    "GC_UNMATCHED": Flag("a GoCardless payment with no invoice",
                         "paiement GoCardless sans facture",
                         "a GoCardless payment with no invoice: find its invoice"),
    "IGNORED": Flag("set aside by a person's decision", "écarté par une décision"),
    # pass 2: the Dolibarr invoices pass 1 says nothing about
    "PAID_BY_TRANSFER": Flag(
        "open invoice paid by a bank transfer",
        "facture ouverte payée par virement",
        "paid by transfer, still open in Dolibarr: record the payment (`make fix` with "
        "fix.allow_transfers: true)"),
    "DOLIBARR_OPEN_NO_GC": Flag("open invoice with no payment found",
                                "facture ouverte sans paiement trouvé",
                                "open invoice with no GoCardless payment"),
    "SETTLED_OUTSIDE": Flag("settled outside the tool, by a person's decision",
                            "réglée hors de l'outil, par une décision"),
    "EXCLUDED_CREDIT_NOTE": Flag("credit note: never matched", "avoir : jamais rapproché"),
    "EXCLUDED_DRAFT": Flag("draft invoice: never matched", "brouillon : jamais rapproché"),
    "EXCLUDED_ABANDONED": Flag("abandoned invoice: never matched",
                               "facture abandonnée : jamais rapprochée"),
    "EXCLUDED_OTHER": Flag("other invoice type: never matched",
                           "autre type de facture : jamais rapprochée"),
    # pass 3: payouts against the bank, fees against the exports
    "PAYOUT_MATCHED": Flag("payout found on the bank account",
                           "versement trouvé sur le compte bancaire"),
    "PAYOUT_PENDING": Flag("payout not yet due on the bank account",
                           "versement pas encore attendu sur le compte"),
    "PAYOUT_AMOUNT_MISMATCH": Flag("the bank line differs from the payout's net",
                                   "la ligne bancaire diffère du net du versement",
                                   "the bank line differs from the payout's net"),
    "PAYOUT_NOT_IN_BANK": Flag("payout overdue, not on the bank account",
                               "versement en retard, absent du compte bancaire",
                               "payout not on the bank account although due"),
    "BANK_CREDIT_UNMATCHED": Flag(
        "a GoCardless-looking bank credit that no payout explains",
        "crédit bancaire d'allure GoCardless qu'aucun versement n'explique",
        "a GoCardless-looking bank credit that no payout explains"),
    "FEES_EXPLAINED": Flag("gross - net differs from the fees, explained in full by the "
                           "breakdown (chargebacks, refunds)",
                           "l'écart brut - net est expliqué par le détail (impayés, "
                           "remboursements)"),
    "FEES_MISMATCH": Flag("gross - net differs from the export's fees, unexplained",
                          "l'écart brut - net ne correspond pas aux frais",
                          "gross - net differs from the export's fees"),
}

FLAG_ORDER = list(FLAGS)
# What needs a person, with why, in the order reports list them.
ACTIONS = {code: flag.action for code, flag in FLAGS.items() if flag.action}


def meaning(code: str, language: str = "en") -> str:
    """The plain-language meaning of a flag code ('' for an unknown one)."""
    flag = FLAGS.get(code)
    if flag is None:
        return ""
    return flag.meaning_fr if language == "fr" else flag.meaning_en

# What to do, in French, for the reports written in French (report.language: fr); a flag
# missing here shows its English action.
ACTIONS_FR = {
    "GC_PAID_DOLIBARR_OPEN": "encaissé par GoCardless, encore ouvert dans Dolibarr : enregistrer "
                             "le paiement (`make fix` enregistre les correspondances par "
                             "référence ; [soft] et [multi_invoice] seulement si la section fix: "
                             "de config.yaml l'autorise)",
    "GC_FAILED": "prélèvement échoué ou annulé : la facture reste impayée",
    "GC_CHARGED_BACK": "somme reprise alors que Dolibarr montre la facture payée",
    "AMOUNT_MISMATCH": "les montants diffèrent : vérifier la facture, enregistrer à la main",
    "CURRENCY_MISMATCH": "devises différentes : jamais rapproché sur le montant, enregistrer à "
                         "la main",
    "AMBIGUOUS": "plusieurs candidats à égalité : trancher à la main",
    "GC_UNMATCHED": "paiement GoCardless sans facture : trouver sa facture",
    "PAID_BY_TRANSFER": "payée par virement, encore ouverte dans Dolibarr : enregistrer le "
                        "paiement (`make fix` avec fix.allow_transfers: true)",
    "DOLIBARR_OPEN_NO_GC": "facture ouverte sans prélèvement GoCardless",
    "PAYOUT_AMOUNT_MISMATCH": "la ligne bancaire diffère du net du versement",
    "PAYOUT_NOT_IN_BANK": "versement absent du compte alors qu'il est dû",
    "BANK_CREDIT_UNMATCHED": "crédit d'allure GoCardless qu'aucun versement n'explique",
    "FEES_MISMATCH": "l'écart brut - net ne correspond pas aux frais : télécharger l'export de "
                     "détail des versements",
}


def action(code: str, language: str = "en") -> str | None:
    """What to do about a flag (None when nothing is to be done)."""
    text = ACTIONS.get(code)
    return ACTIONS_FR.get(code, text) if text and language == "fr" else text
