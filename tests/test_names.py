"""Customer name keys: the same customer typed two ways gives one key."""
import polars as pl
import pytest

from recon.names import ascii_fold, name_key

LEGAL = ("sarl", "sas", "eurl", "sa", "sci")


def keys(*names):
    frame = pl.DataFrame({"name": list(names)}, schema={"name": pl.String})
    return frame.select(name_key(pl.col("name"), LEGAL)).to_series().to_list()


@pytest.mark.parametrize("gocardless, dolibarr, key", [
    ("Zoé Lambert", "LAMBERT Zoé", "lambert zoe"),
    ("Caron Électricité EURL", "Caron Electricite", "caron electricite"),
    ("SCI Garnier Œuvres", "SCI Garnier Oeuvres", "garnier oeuvres"),
    ("Boulangerie Lefèvre SARL", "BOULANGERIE LEFEVRE", "boulangerie lefevre"),
    ("Les Jardins de Chloé, SAS", "Les Jardins de Chloé", "chloe de jardins les"),
    ('Bistrot "Chez Margaux"', "Bistrot Chez Margaux", "bistrot chez margaux"),
])
def test_both_spellings_give_the_same_key(gocardless, dolibarr, key):
    assert keys(gocardless, dolibarr) == [key, key]


def test_punctuation_is_a_word_break_and_legal_forms_only_drop_as_whole_words():
    assert keys("Dubois-Girard & Fils", "SASKIA Sarlat", "L’Atelier") == [
        "dubois fils girard", "sarlat saskia", "atelier l"]


def test_other_scripts_decomposed_accents_null_and_empty():
    assert keys("Москва", "Cafe\u0301 Straße", None, "  ,  ", "SARL") == [
        "moskva", "cafe strasse", None, "", ""]


def test_ascii_fold_matches_unidecode_for_latin_letters():
    frame = pl.DataFrame({"name": ["Élodie Œuvre Ø Łódź ß"]})
    assert frame.select(ascii_fold(pl.col("name"))).item() == "Elodie OEuvre O Lodz ss"


FOLD = (("&", "et", "and"),)


def folded(*names):
    frame = pl.DataFrame({"name": list(names)}, schema={"name": pl.String})
    return frame.select(name_key(pl.col("name"), LEGAL, FOLD)).to_series().to_list()


@pytest.mark.parametrize("one, other, key", [
    ("Colin & Fils", "COLIN ET FILS SARL", "colin et fils"),
    ("Dupont et Associés", "Dupont & Associes", "associes dupont et"),
    ("Colin and Fils", "Colin&Fils", "colin et fils"),
])
def test_and_et_ampersand_compare_equal(one, other, key):
    assert folded(one, other) == [key, key]


def test_folding_and_keeps_different_names_different():
    # "and" inside a word stays; a missing "&" is still a difference; other names differ.
    assert folded("Anderson & Fils", "Colin Fils", "Colin & Filles", "Durand & Associés") == [
        "anderson et fils", "colin fils", "colin et filles", "associes durand et"]


def test_no_equivalents_keeps_the_old_key():
    assert keys("Colin & Fils", "Colin et Fils") == ["colin fils", "colin et fils"]
