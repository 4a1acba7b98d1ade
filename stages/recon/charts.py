"""The report's four charts: Vega-Lite specs built with Altair, rendered to SVG by
vl-convert (in-process, offline: no browser, no CDN), inlined in the HTML page.

Amounts are drawn in euros (cents / 100): a picture, never a sum; every figure people
read as a number comes from recon/figures.py in cents.
"""
from __future__ import annotations

import threading

import altair as alt
import polars as pl
import vl_convert

from recon.figures import AGE_BUCKETS, OUTCOMES, Figures

# More payouts than this in a window are drawn per week of arrival instead (a bench
# month has tens of thousands).
MAX_PAYOUT_BARS = 40
COLOURS = {"received": "#2e7d32", "pending": "#f9a825", "failed": "#c62828",
           "charged_back": "#6a1b9a"}
WIDTH = 640

LABELS = {
    "fr": {
        "received": "reçu", "pending": "en attente", "failed": "échoué",
        "charged_back": "impayé (rejeté)", "week": "Semaine du", "amount": "Montant (€)",
        "outcome": "Issue", "payout": "Versement", "net": "net", "fees": "frais TTC",
        "deductions": "impayés et remboursements", "part": "Part", "rate": "taux de frais",
        "bucket": "Jours de retard", "count": "Nombre", "flag": "Code",
        "not yet due": "pas encore échues", "arrival": "Semaine d'arrivée",
    },
    "en": {
        "received": "received", "pending": "pending", "failed": "failed",
        "charged_back": "charged back", "week": "Week of", "amount": "Amount (€)",
        "outcome": "Outcome", "payout": "Payout", "net": "net", "fees": "fees incl. VAT",
        "deductions": "chargebacks and refunds", "part": "Part", "rate": "fee rate",
        "bucket": "Days past due", "count": "Count", "flag": "Flag",
        "not yet due": "not yet due", "arrival": "Week of arrival",
    },
}


def warm_up() -> threading.Thread:
    """Start vl-convert's engine (about 0.5 s, once per process) early, in a thread, so
    that it is ready by the time the charts are drawn; whether the caller's reading and
    computing overlap with it is not measured (Thread.start was seen to wait about as long
    under cProfile). Join it before svg()."""
    tiny = {"data": {"values": []}, "mark": "point"}
    thread = threading.Thread(target=vl_convert.vegalite_to_svg, args=(tiny,), daemon=True)
    thread.start()
    return thread


def svg(chart: alt.TopLevelMixin, language: str = "en") -> str:
    """The chart as an SVG document, numbers and dates in the language's format; the data
    is inline and no URL may be fetched (allowed_base_urls empty)."""
    locale = "fr-FR" if language == "fr" else "en-US"
    return vl_convert.vegalite_to_svg(chart.to_dict(), format_locale=locale,
                                      time_format_locale=locale, allowed_base_urls=[])


def _euros(cents: pl.Expr) -> pl.Expr:
    return cents.cast(pl.Float64) / 100


def weekly_chart(figures: Figures, language: str) -> alt.Chart:
    words = LABELS[language]
    data = figures.weekly.select(
        week=pl.col("week").dt.strftime("%d/%m/%Y" if language == "fr" else "%Y-%m-%d"),
        order=pl.col("outcome").replace_strict({o: i for i, o in enumerate(OUTCOMES)},
                                               return_dtype=pl.Int64),
        outcome=pl.col("outcome").replace_strict({o: words[o] for o in OUTCOMES}),
        euros=_euros(pl.col("cents")))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("week:N", title=words["week"], sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("euros:Q", title=words["amount"]),
        color=alt.Color("outcome:N", title=words["outcome"],
                        scale=alt.Scale(domain=[words[o] for o in OUTCOMES],
                                        range=[COLOURS[o] for o in OUTCOMES])),
        order=alt.Order("order:Q"),
    ).properties(width=WIDTH, height=220)


def payouts_chart(figures: Figures, language: str) -> alt.LayerChart:
    """Per payout (or per week of arrival when there are many): net, fees and deductions
    stacked up to the gross, the fee rate written above."""
    words = LABELS[language]
    payouts = figures.payouts
    deductions = (pl.col("chargebacks_cents") + pl.col("refunds_cents")
                  + pl.col("fees_refunded_cents")).fill_null(0)
    if payouts.height > MAX_PAYOUT_BARS:
        key = pl.col("arrival_date").dt.truncate("1w").dt.strftime("%d/%m/%Y")
        title = words["arrival"]
    else:
        key, title = pl.col("reference").fill_null(pl.col("payout_id")), words["payout"]
    per_bar = (
        payouts.group_by(key.alias("bar"), maintain_order=True)
        .agg(net=pl.col("net_cents").sum(), fees=pl.col("fees_cents").sum(),
             deductions=deductions.sum(), gross=pl.col("gross_cents").sum())
        .with_columns(rate=pl.when(pl.col("gross") > 0)
                      .then(pl.col("fees") / pl.col("gross")).otherwise(None))
    )
    parts = per_bar.unpivot(["net", "fees", "deductions"], index=["bar"], variable_name="part",
                            value_name="cents").with_columns(
        order=pl.col("part").replace_strict({"net": 0, "fees": 1, "deductions": 2},
                                            return_dtype=pl.Int64),
        part=pl.col("part").replace_strict({p: words[p] for p in ("net", "fees", "deductions")}),
        euros=_euros(pl.col("cents")))
    bars = alt.Chart(parts).mark_bar().encode(
        x=alt.X("bar:N", title=title, sort=None, axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("euros:Q", title=words["amount"], stack="zero"),
        color=alt.Color("part:N", title=words["part"],
                        scale=alt.Scale(domain=[words["net"], words["fees"], words["deductions"]],
                                        range=["#1565c0", "#ef6c00", "#8e24aa"])),
        order=alt.Order("order:Q"),
    )
    rate_format = ".2~%"
    labels = alt.Chart(per_bar.with_columns(top=_euros(pl.max_horizontal(
        pl.col("gross"), pl.col("net") + pl.col("fees") + pl.col("deductions"))))).mark_text(
        dy=-6, fontSize=10).encode(
        x=alt.X("bar:N", sort=None), y="top:Q",
        text=alt.Text("rate:Q", format=rate_format))
    return alt.layer(bars, labels).properties(width=WIDTH, height=240)


def ages_chart(figures: Figures, language: str) -> alt.Chart:
    words = LABELS[language]
    names = {b: words.get(b, b) for b in AGE_BUCKETS}
    data = figures.ages.select(bucket=pl.col("bucket").replace_strict(names),
                               euros=_euros(pl.col("cents")), count="count")
    return alt.Chart(data).mark_bar(color="#5d4037").encode(
        x=alt.X("bucket:N", title=words["bucket"], sort=[names[b] for b in AGE_BUCKETS],
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("euros:Q", title=words["amount"]),
        tooltip=["count:Q"],
    ).properties(width=WIDTH // 2, height=200)


def actions_chart(per_flag: pl.DataFrame, language: str) -> alt.Chart:
    words = LABELS[language]
    return alt.Chart(per_flag.select("flag", "count")).mark_bar(color="#c62828").encode(
        y=alt.Y("flag:N", title=words["flag"], sort=None),
        x=alt.X("count:Q", title=words["count"], axis=alt.Axis(tickMinStep=1)),
    ).properties(width=WIDTH // 2, height=alt.Step(22))


def all_charts(figures: Figures, per_flag: pl.DataFrame, language: str) -> dict[str, str]:
    """Each chart's SVG, by name (an empty figure gives no chart: nothing to draw)."""
    charts = {}
    if figures.weekly.height:
        charts["weekly"] = svg(weekly_chart(figures, language), language)
    if figures.payouts.height:
        charts["payouts"] = svg(payouts_chart(figures, language), language)
    if figures.ages["count"].sum():
        charts["ages"] = svg(ages_chart(figures, language), language)
    if per_flag.height:
        charts["actions"] = svg(actions_chart(per_flag, language), language)
    return charts
