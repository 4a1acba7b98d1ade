"""Customer name keys: the same customer typed two ways gives the same key.

"LAMBERT Zoé" and "Zoé Lambert" both give "lambert zoe"; "Caron Électricité EURL" and
"Caron Electricite" both give "caron electricite". The key is: accents and other
non-ASCII letters folded to ASCII (as unidecode does), lowercase, every run of
punctuation made a word break, the legal forms of config.yaml dropped, words sorted.

Folding is vectorised: the Latin-1 and Latin Extended letters (the names this tool
sees) are replaced in one Aho-Corasick pass by unidecode's own transliteration of each,
precomputed; only the distinct values still holding a non-ASCII character after that
(other scripts, decomposed accents) go through unidecode itself.
"""
from __future__ import annotations

from typing import Iterable

import polars as pl
from unidecode import unidecode

# Every Latin-1 / Latin Extended-A/B character, with unidecode's transliteration of it.
_LATIN = [chr(c) for c in range(0xA0, 0x250) if unidecode(chr(c)) != chr(c)]
_LATIN_ASCII = [unidecode(c) for c in _LATIN]
_NON_ASCII = r"[^\x00-\x7F]"


def _fold_series(values: pl.Series) -> pl.Series:
    """Fold the non-ASCII values; ASCII values (most names) pass untouched."""
    needs = values.str.contains(_NON_ASCII).fill_null(False)
    if not needs.any():
        return values
    folded = values.filter(needs).str.replace_many(_LATIN, _LATIN_ASCII)
    still = folded.str.contains(_NON_ASCII).fill_null(False)
    if still.any():  # other scripts (Cyrillic, Greek...): rare, so unidecode per distinct value
        distinct = folded.filter(still).unique()
        ascii_ = pl.Series([unidecode(v) for v in distinct.to_list()], dtype=pl.String)
        folded = folded.replace(distinct, ascii_)
    return values.scatter(needs.arg_true(), folded)


def ascii_fold(expr: pl.Expr) -> pl.Expr:
    """`expr` with accents stripped and other letters transliterated to ASCII."""
    return expr.map_batches(_fold_series, return_dtype=pl.String)


def name_key(expr: pl.Expr, legal_forms: Iterable[str] = ()) -> pl.Expr:
    """The comparison key of a customer name (null stays null; no word at all gives "")."""
    dropped = [form.lower() for form in legal_forms]
    words = (
        ascii_fold(expr)
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.strip_chars()
        .str.split(" ")
    )
    kept = words.list.eval(
        pl.element().filter((pl.element() != "") & ~pl.element().is_in(dropped))
    )
    return kept.list.sort().list.join(" ")
