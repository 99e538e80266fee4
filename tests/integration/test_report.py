"""The routekaart report (heerlen report): built from the bundled real data, parsed back, compared to the warehouse."""

import base64
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from heerlen_pipeline.cli import main
from heerlen_pipeline.report.render import check_text, default_output, verdict_text, write_report
from heerlen_pipeline.report.svg import nl_number

AREAS = ("HEERLEN-NOORD", "HEERLEN-ZUID", "GM0917", "NL00")


# ---------------------------------------------------------------- a small DOM from html.parser

class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None" = None):
        self.tag, self.attrs, self.parent, self.children, self.texts = tag, attrs, parent, [], []

    def iter(self, tag: str | None = None, **attrs):
        for child in self.children:
            if (tag is None or child.tag == tag) and all(
                    (v in child.attrs.get("class", "").split()) if k == "class_" else child.attrs.get(k) == v
                    for k, v in attrs.items()):
                yield child
            yield from child.iter(tag, **attrs)

    def find(self, tag: str | None = None, **attrs) -> "Node | None":
        return next(self.iter(tag, **attrs), None)

    def text(self) -> str:
        parts = []

        def walk(n: Node) -> None:
            for item in n.texts:
                if isinstance(item, Node):
                    walk(item)
                else:
                    parts.append(item)

        walk(self)
        return " ".join("".join(parts).split())


class Dom(HTMLParser):
    VOID = {"meta", "link", "br", "img", "hr", "input", "source", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        self.current.texts.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        self.current.texts.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.texts.append(data)


def dutch(value: float, decimals: int) -> str:
    """Independent of the report's formatter: decimal comma, thousands with a dot."""
    text = f"{abs(value):,.{decimals}f}".translate(str.maketrans(",.", ".,"))
    return ("−" + text) if value < 0 and text.strip("0,.") else text


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "index.html"
    result = write_report(warehouse, out)
    html = out.read_text(encoding="utf-8")
    return result, html, Dom(html).root


def _modified_copy(warehouse: Path, tmp_path: Path, *statements: str) -> Path:
    """A private copy of the published warehouse with MADE-UP changes, for states the bundled data lacks."""
    copy = tmp_path / "w" / "heerlen.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    for sql in statements:
        con.execute(sql)
    con.close()
    return copy


def _article(root: Node, indicator_id: str) -> Node:
    article = root.find("article", id=indicator_id)
    assert article is not None, f"no section for {indicator_id}"
    return article


# ---------------------------------------------------------------- structure and numbers

def test_report_builds_fast_and_lands_where_asked(report, warehouse):
    result, html, _root = report
    assert result.indicators == 33 and result.path.name == "index.html" and result.path.stat().st_size == result.bytes
    assert result.seconds < 2.0
    assert html.startswith("<!DOCTYPE html>") and '<html lang="nl">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert default_output(warehouse) == warehouse.parent / "report" / "index.html"
    assert not list(result.path.parent.glob(".*.tmp"))  # written aside and renamed


def test_every_indicator_has_an_accessible_chart_and_tables(report, wh):
    _result, _html, root = report
    ids = [r[0] for r in wh.execute("SELECT indicator_id FROM marts.indicators WHERE indicator_id IN (SELECT indicator_id "
                                    "FROM marts.indicator_values WHERE status = 'ok') ORDER BY 1").fetchall()]
    assert len(ids) == 31
    # The two indicators only a live refresh fills (WRK-10, LEA-07) are listed once, not as empty sections.
    live = root.find("section", id="alleen-live")
    assert [li.attrs["data-indicator"] for li in live.iter("li")] == ["LEA-07", "WRK-10"]
    assert root.find("article", id="WRK-10") is None and root.find("article", id="LEA-07") is None
    for iid in ids:
        article = _article(root, iid)
        charts = list(article.iter("svg", class_="chart"))
        assert charts, f"{iid}: no chart"
        for svg in charts:
            assert svg.attrs["role"] == "img" and svg.attrs["viewbox"].startswith("0 0 ")  # html.parser lowercases names
            title = svg.children[0]
            desc = svg.children[1]
            assert title.tag == "title" and svg.attrs["aria-labelledby"] == title.attrs["id"] and title.text()
            assert desc.tag == "desc" and svg.attrs["aria-describedby"] == desc.attrs["id"] and desc.text()
        assert article.find("table", class_="latest") is not None, f"{iid}: no latest-values table"
        assert article.find("dl", class_="meta") is not None
        source = article.find("dd", class_="source").text()
        assert source.startswith("Bron: "), source
    # every chart id is unique on the page (aria references must resolve to one element)
    svg_ids = [s.attrs["id"] for s in root.iter("svg")]
    assert len(svg_ids) == len(set(svg_ids))


def test_table_numbers_are_the_warehouse_values_in_dutch_notation(report, wh):
    _result, _html, root = report
    # Real reference values (bundled CBS KWB): bijstand per 1,000 in Noord 2018, inhabitants of Heerlen 2019.
    assert wh.execute("SELECT value FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                      "AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchone()[0] == pytest.approx(3310 / 53385 * 1000)
    assert wh.execute("SELECT value FROM marts.indicator_values WHERE indicator_id = 'DEM-02' "
                      "AND area_code = 'GM0917' AND year = 2019").fetchone()[0] == 86832

    cells = {(t.attrs["data-indicator"], td.attrs["data-area"], int(td.attrs["data-year"])): td.text()
             for t in root.iter("table", class_="years") for td in t.iter("td") if "data-area" in td.attrs}

    def cell(iid: str, area: str, year: int) -> str:
        return cells[(iid, area, year)]

    assert cell("WRK-01", "HEERLEN-NOORD", 2018) == "62,0"
    assert cell("DEM-02", "GM0917", 2019) == "86.832"
    assert cell("DEM-02", "NL00", 2024) == "17.942.942"
    rows = wh.execute("SELECT v.indicator_id, v.area_code, v.year, v.value, v.status, v.symbol, i.decimals "
                      "FROM marts.indicator_values v JOIN marts.indicators i USING (indicator_id) "
                      "WHERE v.area_code IN ('HEERLEN-NOORD', 'HEERLEN-ZUID', 'GM0917', 'NL00') AND v.status <> 'ok' "
                      "OR v.value IS NOT NULL AND v.area_code IN ('HEERLEN-NOORD', 'HEERLEN-ZUID', 'GM0917', 'NL00')"
                      ).fetchall()
    assert len(rows) > 400
    legend = {("suppressed", "."): "onbekend of geheim (.)", ("suppressed", ""): "afgeschermd",
              ("suppressed", None): "afgeschermd", ("missing", ""): "ontbreekt", ("missing", None): "ontbreekt"}
    for iid, area, year, value, status, symbol, decimals in rows:
        if iid in ("WRK-10", "LEA-07"):
            continue  # live only: no section
        expected = dutch(value, decimals) if status == "ok" else legend[(status, symbol)]
        assert cell(iid, area, year) == expected, (iid, area, year)
    assert cell("SAF-02", "NL00", 2017) == "onbekend of geheim (.)"  # the KWB 2017 NL row prints '.'
    # the small table shows the latest value per area; the gap table the baseline and latest gap per target
    latest = _article(root, "WRK-01").find("table", class_="latest")
    assert latest.find("td", **{"data-area": "HEERLEN-NOORD", "data-year": "2020"}).text() == "56,3"
    nl = _article(root, "WRK-01").find("tr", **{"data-target": "nederland"})
    # 2017: 3,520 / 53,740 - 471,190 / 17,081,507 per 1,000 = +37.9; 2019: 3,070 / 53,265 - 431,360 / 17,282,163 = +32.7
    assert nl.find("td", **{"data-col": "baseline"}).text() == "2017: +37,9"
    assert nl.find("td", **{"data-col": "latest"}).text() == "2019: +32,7"
    assert nl.find("td", **{"data-col": "noise"}).text() == "±2,6 per 1.000 inwoners"
    assert nl.attrs["data-verdict"] == "closing" and nl.find("td", **{"data-col": "verdict"}).text() == "kloof kleiner"
    # reference periods are shown next to the values they qualify
    periods = {td.attrs["data-year"]: td.text() for td in _article(root, "SAF-02").iter("td", class_="period")}
    assert periods["2018"] == "2017"


def test_a_missing_or_suppressed_value_is_a_break_in_the_line_never_zero(report, wh):
    _result, _html, root = report
    status = dict(wh.execute("SELECT year, status FROM marts.indicator_values WHERE indicator_id = 'WRK-03' "
                             "AND area_code = 'HEERLEN-NOORD'").fetchall())
    assert status == {2016: "ok", 2017: "ok", 2018: "ok", 2019: "missing", 2020: "missing"}
    svg = root.find("svg", id="c-WRK-03-trend")
    noord = [p for p in svg.iter(class_="point") if p.attrs["data-area"] == "HEERLEN-NOORD"]
    assert sorted(int(p.attrs["data-year"]) for p in noord) == [2016, 2017, 2018]  # no point in 2019/2020
    series = svg.find("g", **{"data-area": "HEERLEN-NOORD"})
    (line,) = list(series.iter("path", class_="line"))
    assert line.attrs["d"].count("M") == 1 and line.attrs["d"].count("L") == 2  # 2016-2018, then it stops
    # Nederland has values in 2017 and 2019 only: two loose points, no line through 2018 (no row there)
    nl = svg.find("g", **{"data-area": "NL00"})
    assert not list(nl.iter("path", class_="line")) and len(list(nl.iter(class_="point"))) == 2
    # Everywhere on the page: every plotted point is an 'ok' value of the warehouse, none stands in for a gap.
    ok = {(i, a, y): v for i, a, y, v in wh.execute(
        "SELECT indicator_id, area_code, year, value FROM marts.indicator_values WHERE status = 'ok' "
        "AND area_code IN ('HEERLEN-NOORD', 'HEERLEN-ZUID', 'GM0917', 'NL00')").fetchall()}
    plotted = 0
    for svg in root.iter("svg", class_="chart-trend"):
        iid = svg.attrs["id"][2:-6]
        for p in svg.iter(class_="point"):
            key = (iid, p.attrs["data-area"], int(p.attrs["data-year"]))
            assert key in ok and float(p.attrs["data-value"]) == ok[key], key
            plotted += 1
    assert plotted > 300
    # A suppressed wijk has no bar (not a zero-length one) and is named as withheld.
    assert wh.execute("SELECT status FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                      "AND area_code = 'WK091723' AND year = 2020").fetchone()[0] == "suppressed"
    bars = root.find("svg", id="c-WRK-01-wijken")
    assert bars.find("g", **{"data-area": "WK091723"}) is None
    assert "De Hei (afgeschermd)" in _article(root, "WRK-01").find("div", class_="wijken").text()


def test_gap_chart_draws_both_targets_and_their_2047_paths(report, wh):
    _result, _html, root = report
    svg = root.find("svg", id="c-WRK-01-gap")
    for target, area, column, baseline in (("nederland", "NL00", "gap_noord_nl", 2017),
                                           ("zuid", "HEERLEN-ZUID", "gap_noord_zuid", 2018)):
        assert wh.execute("SELECT baseline_year FROM marts.gap_verdicts WHERE indicator_id = 'WRK-01' AND target = ?",
                          [target]).fetchone()[0] == baseline
        line = svg.find("g", **{"data-target": area})
        assert line.find("path", class_="trajectory") is not None
        gaps = dict(wh.execute(f"SELECT year, {column} FROM marts.gaps WHERE indicator_id = 'WRK-01' "
                               f"AND {column} IS NOT NULL").fetchall())
        points = {int(p.attrs["data-year"]): float(p.attrs["data-value"]) for p in line.iter(class_="point")}
        assert points == gaps
    # the routekaart's work intervention is marked on the werken charts, at the year it had started by
    assert svg.find("g", class_="marker").attrs["data-year"] == "2022"
    assert "Bovengrondse Vakschool (uiterlijk 2022)" in root.find("svg", id="c-WRK-01-trend").text()
    # counts and context indicators have no gap chart
    assert root.find("svg", id="c-DEM-02-gap") is None and root.find("svg", id="c-DEM-02-trend") is not None
    assert root.find("svg", id="c-HOU-02-gap") is None


def test_wijken_ranked_with_noord_and_zuid_told_apart(report, wh):
    _result, _html, root = report
    rows = wh.execute("""SELECT v.area_code, v.value, a.parent_code FROM marts.indicator_values v
        JOIN marts.areas a ON a.area_code = v.area_code AND a.definition = 'spoorlijn'
        WHERE v.indicator_id = 'HLT-01' AND v.year = 2020 AND a.level = 'wijk' AND v.status = 'ok'""").fetchall()
    svg = root.find("svg", id="c-HLT-01-wijken")
    bars = list(svg.iter("g", class_="bar"))
    assert len(bars) == len(rows) == 23
    parent = {code: p for code, _v, p in rows}
    values = [float(b.find("rect").attrs["data-value"]) for b in bars]
    assert values == sorted(values, reverse=True)
    assert {b.attrs["data-area"]: b.attrs["data-group"] for b in bars} == parent
    assert {b.find("tspan").text() for b in bars} == {"N", "Z"}  # the area is in the text, not only the colour
    table = _article(root, "HLT-01").find("table", class_="wijken")
    assert table.find("td", **{"data-area": "WK091721"}).text() == "59,9"  # real RIVM estimate, Heerlerheide-Passart


def test_the_top_answers_the_question_with_the_marts_verdicts(report, wh):
    _result, html, root = report
    top = root.find("section", id="koppen")
    counts = {(t, tg, v): n for t, tg, v, n in wh.execute("""SELECT i.theme, g.target, g.verdict, count(*)
        FROM marts.gap_verdicts g JOIN marts.indicators i USING (indicator_id) GROUP BY ALL""").fetchall()}
    cards = {c.attrs["data-theme"]: c for c in top.iter("section", class_="card")}
    assert set(cards) == {"leren", "werken", "gezondheid", "wonen", "veiligheid", "demografie"}
    for theme, card in cards.items():
        for target in ("nederland", "zuid"):
            for verdict in ("closing", "widening", "no clear change", "not yet measurable"):
                key = f"data-{target}-{verdict.replace(' ', '-')}"
                if theme in ("wonen", "demografie"):  # context indicators only: no verdicts
                    assert key not in card.attrs
                else:
                    assert int(card.attrs[key]) == counts.get((theme, target, verdict), 0), (theme, key)
    # At least one closing gap on the bundled data: WRK-01 (and its working-age variant WRK-11) against NL.
    cell = top.find("td", **{"data-theme": "werken", "data-target": "nederland", "data-verdict": "closing"})
    assert cell.text() == "2" and counts[("werken", "nederland", "closing")] == 2
    assert "2017 → 2019" in top.find("table", class_="headline").text()
    assert "Cijfers tot en met 2020" in top.text() and "Cijfers tot en met 2020" in root.find("header").text()
    # Every verdict line on the page is the mart's, in words.
    for article in root.iter("article", class_="indicator"):
        for p in article.iter("p", class_="verdict"):
            if "data-target" in p.attrs:
                v = wh.execute("SELECT verdict FROM marts.gap_verdicts WHERE indicator_id = ? AND target = ?",
                               [article.attrs["id"], p.attrs["data-target"]]).fetchone()[0]
                assert p.attrs["data-verdict"] == v
    wrk = _article(root, "WRK-01").find("p", **{"data-target": "nederland"}).text()
    assert wrk.startswith("Tegenover Nederland: kloof kleiner; de kloof ging van +37,9 per 1.000 inwoners in 2017 naar "
                          "+32,7 per 1.000 inwoners in 2019") and "(±2,6 per 1.000 inwoners)" in wrk
    # No raw check names on the Dutch page outside the technical detail table of the data section.
    outside = html.split('<details><summary>Alle controles')[0]
    for (name,) in wh.execute("SELECT DISTINCT check_name FROM marts.check_results").fetchall():
        assert name not in outside, name


@pytest.mark.parametrize("verdict, expected", [
    ({"baseline_year": 2018, "baseline_gap": 10.0, "latest_year": 2020, "latest_gap": 6.0, "change": -4.0, "noise": 1.0,
      "verdict": "closing", "on_track": True, "trajectory_target": 9.31},
     "Tegenover Nederland: kloof kleiner; de kloof ging van +10,0 procentpunt in 2018 naar +6,0 procentpunt in 2020 "
     "(−4,0 procentpunt), meer dan de ruis in de bronnen (±1,0 procentpunt). Op koers voor gelijkheid in 2047."),
    ({"baseline_year": 2018, "baseline_gap": 10.0, "latest_year": 2020, "latest_gap": 12.0, "change": 2.0, "noise": 1.0,
      "verdict": "widening", "on_track": False, "trajectory_target": 9.31},
     "Tegenover Nederland: kloof groter; de kloof ging van +10,0 procentpunt in 2018 naar +12,0 procentpunt in 2020 "
     "(+2,0 procentpunt), meer dan de ruis in de bronnen (±1,0 procentpunt). Niet op koers voor 2047: volgens het "
     "rechte pad zou de kloof in 2020 hoogstens +9,3 procentpunt zijn."),
    ({"baseline_year": 2018, "baseline_gap": 10.0, "latest_year": 2020, "latest_gap": 9.5, "change": -0.5, "noise": 1.0,
      "verdict": "no clear change", "on_track": None, "trajectory_target": 9.31},
     "Tegenover Nederland: geen duidelijke verandering; de kloof ging van +10,0 procentpunt in 2018 naar +9,5 "
     "procentpunt in 2020 (−0,5 procentpunt), binnen de ruis in de bronnen (±1,0 procentpunt)."),
    ({"baseline_year": 2019, "baseline_gap": 10.0, "latest_year": None, "latest_gap": None, "change": None, "noise": None,
      "verdict": "not yet measurable", "on_track": None, "trajectory_target": None},
     "Tegenover Nederland: nog niet te meten; alleen in 2019 hebben beide een cijfer (kloof +10,0 procentpunt in 2019), "
     "een latere meting ontbreekt nog."),
])
def test_verdict_sentences(verdict, expected):
    # MADE-UP verdict rows, in the shape of marts.gap_verdicts
    ind = {"indicator_id": "X", "direction": "lower_is_better", "method": "ratio", "decimals": 1, "unit": "%"}
    assert verdict_text(ind, verdict, "nederland") == expected


def test_check_names_in_words():
    assert check_text("year_over_year_jumps") == "Geen onverwacht grote sprong tussen twee jaren"
    assert check_text("expect_column_values_to_not_be_null(area_code)") == "Kolom area_code is gevuld waar dat moet"


def test_dutch_number_notation():
    assert nl_number(86832, 0) == "86.832"
    assert nl_number(62.0, 1) == "62,0"
    assert nl_number(-2.6, 1) == "−2,6" and nl_number(32.6, 1, signed=True) == "+32,6"
    assert nl_number(1234567.891, 2) == "1.234.567,89"
    assert nl_number(-0.04, 1) == "0,0"  # rounds to zero: no sign
    assert nl_number(None, 1) == "–"


# ---------------------------------------------------------------- self-contained, labelled, honest about its data

def test_the_page_references_nothing_outside_itself(report):
    _result, html, root = report
    for tag in ("script", "link", "img", "iframe", "object", "embed", "audio", "video", "base", "use", "image"):
        assert root.find(tag) is None, f"<{tag}> found"
    for node in root.iter():
        for attr, value in node.attrs.items():
            if attr in ("src", "href", "xlink:href", "srcset", "action", "poster", "data", "formaction"):
                assert value.startswith("#"), f"<{node.tag} {attr}={value!r}> points outside the page"
            if attr == "xmlns":
                assert value == "http://www.w3.org/2000/svg"
            elif attr == "style":
                assert "url(" not in value.replace(" ", "")
    styles = " ".join(s.text() for s in root.iter("style"))
    assert styles and "@import" not in styles and not re.search(r"url\s*\(", styles)
    assert not re.search(r"@font-face", styles)
    # the only absolute URL in the markup is the SVG namespace
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}


def test_estimates_are_labelled_and_the_bundle_says_it_has_no_intervals(report, wh):
    _result, _html, root = report
    assert wh.execute("SELECT count(*) FROM marts.estimate_intervals").fetchone()[0] == 0
    article = _article(root, "HLT-01")
    assert "Schatting (RIVM-model)" in article.find("p", class_="badges").text()
    assert "interval rond de schatting zit niet in deze build" in article.text()
    # youth care (HLT-05) comes from KWB, not from the RIVM model
    assert "Schatting" not in _article(root, "HLT-05").find("p", class_="badges").text()


def test_estimate_intervals_are_shown_when_the_warehouse_has_them(warehouse, tmp_path):
    # MADE-UP bounds (the bundled RIVM copy has point estimates only): 59.9 -/+ 1.5 for Heerlerheide-Passart 2020,
    # as a live RIVM build publishes a value's interval.
    copy = _modified_copy(warehouse, tmp_path, """
        UPDATE marts.indicator_values SET value_lower = 58.4, value_upper = 61.4, uncertainty = 'interval'
        WHERE indicator_id = 'HLT-01' AND area_code = 'WK091721' AND year = 2020""")
    result = write_report(copy, tmp_path / "out.html")
    root = Dom(result.path.read_text(encoding="utf-8")).root
    article = _article(root, "HLT-01")
    assert article.find("td", **{"data-area": "WK091721"}).text() == "59,9 (58,4–61,4)"
    assert root.find("svg", id="c-HLT-01-wijken").find("path", class_="interval", **{"data-area": "WK091721"})
    assert "het 95%-interval dat het RIVM bij de schatting publiceert" in article.text()
    assert "95%-interval dat het RIVM publiceert" in root.find("section", id="gegevens").text()


def test_data_section_names_sources_areas_build_and_checks(report, wh):
    _result, _html, root = report
    data = root.find("section", id="gegevens")
    text = data.text()
    definition, built_at = wh.execute("SELECT area_definition, built_at FROM marts.build_info").fetchone()
    assert definition == "spoorlijn" and "Gebiedsindeling in dit rapport: spoorlijn" in text
    assert str(built_at.year) in text and ("(Nederlandse tijd)" in text or "(UTC)" in text)
    for (name,) in wh.execute("SELECT area_name FROM marts.areas WHERE level = 'wijk' AND definition = 'spoorlijn'").fetchall():
        assert name in text
    for (table_id,) in wh.execute("SELECT DISTINCT table_id FROM marts.sources").fetchall():
        assert table_id in text
    # A bundled file's day: exact from an export's own name, bounded ("uiterlijk") by a commit date.
    assert "2025-06-05" in text and "uiterlijk 2021-06-18" in text and "uiterlijk 2025-06-05" not in text
    n = wh.execute("SELECT count(*) FROM marts.check_results").fetchone()[0]
    assert wh.execute("SELECT count(*) FROM marts.check_results WHERE NOT passed").fetchone()[0] == 0
    assert f"Alle {n} datacontroles van deze build zijn geslaagd." in text


def test_a_failed_warn_check_is_shown_not_hidden(warehouse, tmp_path):
    # MADE-UP failure: the bundled build passes every check.
    copy = _modified_copy(warehouse, tmp_path, """
        UPDATE marts.check_results SET passed = false, observed = 'MADE-UP: Heerlen-Noord WRK-09 2018 jumps 60%'
        WHERE asset = 'indicators/werken' AND check_name = 'year_over_year_jumps'""")
    root = Dom(write_report(copy, tmp_path / "out.html").path.read_text(encoding="utf-8")).root
    failed = root.find("table", class_="failed-checks")
    assert failed is not None
    row = failed.find("tr", class_="failed").text()
    assert "Geen onverwacht grote sprong tussen twee jaren" in row and "waarschuwing" in row
    assert "thema werken" in row and "MADE-UP: Heerlen-Noord WRK-09 2018 jumps 60%" in row
    technical = root.find("section", id="gegevens").find("details").text()
    assert "year_over_year_jumps" in technical
    assert "1 waarschuwing (WARN) niet" in root.find("section", id="gegevens").find("p", class_="warn").text()


def test_wijken_follow_the_area_definition_of_the_build(warehouse, tmp_path):
    # MADE-UP: only build_info says molenberg (the values stay spoorlijn); the wijk view must follow build_info.
    copy = _modified_copy(warehouse, tmp_path, "UPDATE marts.build_info SET area_definition = 'molenberg'")
    root = Dom(write_report(copy, tmp_path / "out.html").path.read_text(encoding="utf-8")).root
    groups = {b.attrs["data-area"]: b.attrs["data-group"] for b in root.find("svg", id="c-LEA-03-wijken").iter("g", class_="bar")}
    assert groups["WK091739"] == "HEERLEN-NOORD" and groups["WK091735"] == "HEERLEN-ZUID"  # Molenberg, Woonboulevard
    assert "Gebiedsindeling in dit rapport: molenberg" in root.find("section", id="gegevens").text()


# ---------------------------------------------------------------- CLI and Dagster

def test_cli_writes_next_to_the_warehouse_by_default(warehouse, tmp_path, capsys):
    copy = _modified_copy(warehouse, tmp_path)
    assert main(["report", "--warehouse", str(copy)]) == 0
    assert (copy.parent / "report" / "index.html").stat().st_size > 100_000
    assert "heerlen report: wrote" in capsys.readouterr().out
    assert main(["report", "--warehouse", str(copy), "--output", str(tmp_path / "elsewhere" / "r.html")]) == 0
    assert (tmp_path / "elsewhere" / "r.html").exists()
    assert main(["report", "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    assert "run `heerlen run` first" in capsys.readouterr().err


def test_the_dagster_asset_wrote_the_report_in_the_pipeline_run(warehouse):
    from heerlen_pipeline.definitions import defs

    node = defs().resolve_asset_graph().get(dg.AssetKey(["report", "index"]))
    assert node.group_name == "marts" and dg.AssetKey(["publish", "warehouse"]) in node.parent_keys
    # the session's `heerlen run` materialized it next to the warehouse
    assert default_output(warehouse).stat().st_size > 100_000


# ---------------------------------------------------------------- headless Chromium

class Chromium:
    """Drives headless Chromium over --remote-debugging-pipe (DevTools protocol, fd 3 in / fd 4 out).

    Sturdier than scraping `--enable-logging=stderr`: that log shows console messages and script errors but not a
    resource that failed to load; the protocol reports all three (Runtime and Log events) and every request the
    page makes (Network events), so the test can also prove that the page fetched nothing but itself.
    """

    def __init__(self, binary: str, profile: Path, timeout: float = 90):
        self.events: list[dict] = []
        self._buf, self._id, self._deadline = b"", 0, time.monotonic() + timeout
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def to_fd_3_and_4() -> None:  # via high descriptors, so neither dup2 overwrites the other pipe
            hi_r, hi_w = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=to_fd_3_and_4, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", self.session)

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            left = self._deadline - time.monotonic()
            if left <= 0 or not select.select([self._out_r], [], [], left)[0]:
                raise TimeoutError("headless Chromium did not answer in time")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("headless Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.call(method, self.session, **params)

    def load(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
        seen = len(self.events)
        self.page("Page.navigate", url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events[seen:]):
            self.events.append(self._read())

    def evaluate(self, expression: str):
        return self.page("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p['args']]}")
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"{p['entry']['source']}: {p['entry']['text']}")
        return out

    def requests(self) -> set[str]:
        return {e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"}

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        os.close(self._cmd_w)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
        os.close(self._out_r)


@pytest.mark.slow
@pytest.mark.chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_renders_in_headless_chromium_without_errors(report, tmp_path):
    result, _html, root = report
    url = result.path.resolve().as_uri()
    browser = Chromium(shutil.which("chromium"), tmp_path / "profile")
    try:
        browser.load(url, 1280, 1000)
        assert browser.evaluate("document.title") == root.find("title").text()
        charts = browser.evaluate("document.querySelectorAll('svg.chart').length")
        assert charts == len(list(root.iter("svg", class_="chart"))) > 31
        # every chart laid out with a real size (its viewBox scaled to the column)
        sizes = browser.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width)")
        assert min(sizes) > 300 and max(sizes) <= 640
        shot = browser.page("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": 4000, "scale": 1})
        png = tmp_path / "report.png"
        png.write_bytes(base64.b64decode(shot["data"]))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png.read_bytes()[16:24]) == (1280, 4000) and png.stat().st_size > 100_000
        # on a phone: the page itself does not scroll sideways (wide tables scroll in their own box)
        browser.load(url, 390, 800, mobile=True)
        assert browser.evaluate("document.documentElement.scrollWidth") <= 390
        assert max(browser.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().right)")) <= 390
        assert browser.problems() == []
        assert browser.requests() == {url}  # nothing fetched but the page itself
    finally:
        browser.close()
