"""Customer name keys: the same customer typed two ways gives the same key.

"LAMBERT Zoé" and "Zoé Lambert" both give "lambert zoe"; "Caron Électricité EURL" and
"Caron Electricite" both give "caron electricite". The key is: accents and other
non-ASCII letters folded to ASCII (as unidecode does), lowercase, the words and signs
config.yaml says mean the same made one ("Colin & Fils", "COLIN ET FILS SARL" and
"Colin and Fils" all give "colin et fils"), every run of punctuation made a word break,
the legal forms of config.yaml dropped, words sorted.

Folding is vectorised: the Latin-1 and Latin Extended letters (the names this tool
sees) are replaced in one Aho-Corasick pass by unidecode's own transliteration of each,
precomputed; only the distinct values still holding a non-ASCII character after that
(other scripts, decomposed accents) go through unidecode itself.
"""
from __future__ import annotations

import re
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


def is_word(text: str) -> bool:
    """Whether `text` is one word of a name key (lowercase letters and digits only)."""
    return re.fullmatch(r"[a-z0-9]+", text) is not None


def name_key(expr: pl.Expr, legal_forms: Iterable[str] = (),
             equivalents: Iterable[Iterable[str]] = ()) -> pl.Expr:
    """The comparison key of a customer name (null stays null; no word at all gives "").

    `equivalents`: groups of words or signs that mean the same (["&", "et", "and"]);
    each member becomes the group's first word. A sign is replaced wherever it stands
    ("Colin&Fils"), a word only as a whole word ("Anderson" keeps its "and").
    """
    dropped = [form.lower() for form in legal_forms]
    signs: dict[str, str] = {}
    words: dict[str, str] = {}
    for group in equivalents:
        members = [str(m).lower() for m in group]
        first = next(m for m in members if is_word(m))
        for member in members:
            if is_word(member):
                words[member] = first
            else:
                signs[member] = f" {first} "
    text = ascii_fold(expr).str.to_lowercase()
    if signs:
        text = text.str.replace_many(list(signs), list(signs.values()))
    split = text.str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars().str.split(" ")
    word = pl.element()
    if words:
        word = word.replace(list(words), list(words.values()))
    kept = split.list.eval(word.filter((word != "") & ~word.is_in(dropped)))
    return kept.list.sort().list.join(" ")
