"""recon.settings: .env as users write it, and only filling what is unset."""
import pytest

from recon import settings


def test_dotenv_lines_as_users_write_them(tmp_path, monkeypatch):
    env = tmp_path / "site.env"
    env.write_text("\ufeff# Dolibarr\n\nexport DOLIBARR_URL=\"https://erp.example.com/\"\n"
                   "DOLIBARR_API_KEY = 'abc def'\nDOLIBARR_SNAPSHOT=raw/saved  # by hand\n"
                   "RECONCILIATION_DATE_TOLERANCE=\n", encoding="utf-8")
    assert settings.parse_dotenv(env) == {
        "DOLIBARR_URL": "https://erp.example.com/", "DOLIBARR_API_KEY": "abc def",
        "DOLIBARR_SNAPSHOT": "raw/saved", "RECONCILIATION_DATE_TOLERANCE": ""}
    monkeypatch.setenv("ENV_FILE", str(env))
    monkeypatch.setattr(settings, "FROM_DOTENV", set())  # this test's own record
    environ = {"DOLIBARR_URL": "http://127.0.0.1:8080", "DOLIBARR_SNAPSHOT": ""}
    assert settings.apply_dotenv(environ) == {
        "DOLIBARR_API_KEY": "abc def", "DOLIBARR_SNAPSHOT": "raw/saved",
        "RECONCILIATION_DATE_TOLERANCE": ""}
    assert environ["DOLIBARR_URL"] == "http://127.0.0.1:8080"  # the environment wins
    assert settings.origin("DOLIBARR_SNAPSHOT") == f"DOLIBARR_SNAPSHOT from {env}"
    monkeypatch.setenv("ENV_FILE", "")
    assert settings.apply_dotenv({}) == {}  # ENV_FILE empty: no .env at all


def test_a_line_that_is_not_name_value_is_named_without_its_content(tmp_path):
    env = tmp_path / ".env"
    env.write_text("DOLIBARR_URL=https://erp\nmy key is 0123456789abcdef\n")
    with pytest.raises(settings.DotenvError) as err:
        settings.parse_dotenv(env)
    assert str(err.value) == (f"{env}, line 2: not a NAME=value line (the line is not quoted "
                              "here, as it may hold a key)")
