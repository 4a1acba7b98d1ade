"""The HTML report of a window: one self-contained page (inline CSS, inline SVG charts, a
small optional script), French by default, written from the shared figures.

The page is a Jinja2 template (templates/report.html.j2) with autoescaping: every text
from the exports (names, labels, evidence) is escaped; only the charts' SVG, made by
vl-convert from our own aggregates, is inserted as markup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2
import polars as pl

from recon.charts import all_charts
from recon.config import SCHEMA
from recon.errors import InputError
from recon.figures import AGE_BUCKETS, ROWS_PER_FLAG, Figures, money
from recon.flags import ACTIONS, action, meaning
from recon.io import write_text

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = SCHEMA["report"]["language"][1]
GOCARDLESS_DASHBOARD = SCHEMA["report"]["gocardless_dashboard_url"][1]
HTML_PAYOUTS = 200  # rows of the payouts table; its totals are the window's, always


@dataclass(frozen=True)
class ReportSettings:
    language: str = DEFAULT_LANGUAGE
    dolibarr_url: str = ""  # links to invoice cards when known
    gocardless_url: str = GOCARDLESS_DASHBOARD

    @classmethod
    def from_config(cls, config: dict, dolibarr_url: str = "",
                    path: str = "config.yaml") -> "ReportSettings":
        """From config.load()'s dict, whose report section has every default filled in."""
        report = config["report"]
        language = report["language"].strip().lower()
        if language not in LANGUAGES:
            raise InputError("unknown report language", file=path,
                             column="report.language", value=language, expected="fr or en")
        return cls(language=language, dolibarr_url=dolibarr_url.strip().rstrip("/"),
                   gocardless_url=(report["gocardless_dashboard_url"]
                                   or GOCARDLESS_DASHBOARD).rstrip("/"))

    def invoice_link(self, invoice_id: int | None) -> str | None:
        if invoice_id is None or not self.dolibarr_url:
            return None
        return f"{self.dolibarr_url}/compta/facture/card.php?id={invoice_id}"

    def gocardless_link(self, kind: str, object_id: str | None) -> str | None:
        return f"{self.gocardless_url}/{kind}/{object_id}" if object_id else None


def day_text(day: date | None, language: str) -> str:
    if day is None:
        return ""
    return day.strftime("%d/%m/%Y") if language == "fr" else day.isoformat()


def _environment(settings: ReportSettings) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    lang = settings.language
    env.filters["money"] = lambda cents: money(cents, lang, unit=True)
    env.filters["day"] = lambda day: day_text(day, lang)
    env.filters["iso_day"] = lambda text: day_text(date.fromisoformat(text) if text else None,
                                                    lang)
    env.filters["meaning"] = lambda code: meaning(code, lang)
    env.filters["action"] = lambda code: action(code, lang) or ""
    env.filters["percent"] = lambda rate: "" if rate is None else (
        f"{rate * 100:.2f} %".replace(".", ",") if lang == "fr" else f"{rate * 100:.2f}%")
    env.globals.update(invoice_link=settings.invoice_link,
                       gocardless_link=settings.gocardless_link)
    return env


def action_groups(figures: Figures) -> list[dict]:
    """The needs-action rows per flag, in ACTIONS order, with their count and total."""
    totals = {flag: (count, cents) for flag, count, cents in
              figures.flag_totals.select("flag", "count", "cents").iter_rows()}
    groups = []
    for flag in ACTIONS:
        if flag not in totals:
            continue
        rows = figures.actions.filter(pl.col("flag") == flag).head(ROWS_PER_FLAG).to_dicts()
        count, cents = totals[flag]
        groups.append({"flag": flag, "count": count, "cents": cents, "rows": rows,
                       "more": count - len(rows)})
    return groups


def render(figures: Figures, settings: ReportSettings, window: str,
           provenance: dict | None = None) -> str:
    groups = action_groups(figures)
    per_flag = pl.DataFrame({"flag": [g["flag"] for g in groups],
                             "count": [g["count"] for g in groups]},
                            schema={"flag": pl.String, "count": pl.Int64})
    template = _environment(settings).get_template("report.html.j2")
    return template.render(
        lang=settings.language, f=figures, key=figures.key, window=window,
        provenance=provenance or {}, groups=groups,
        totals=figures.flag_totals.to_dicts(),
        payouts=figures.payouts.head(HTML_PAYOUTS).to_dicts(),
        more_payouts=max(0, figures.payouts.height - HTML_PAYOUTS),
        ages=figures.ages.to_dicts(), age_buckets=AGE_BUCKETS,
        money_in_bank=figures.money_in_bank.to_dicts(),
        charts=all_charts(figures, per_flag, settings.language),
        dolibarr_known=bool(settings.dolibarr_url),
    )


def write_html(figures: Figures, settings: ReportSettings, path: Path, window: str,
               provenance: dict | None = None) -> None:
    write_text(render(figures, settings, window, provenance), path)
