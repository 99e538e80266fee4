import sys

import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.sources.headers import MeasureMatcher, UnitMismatch, header_key
from heerlen_pipeline.transform.cells import WHITESPACE, parse_cells
from heerlen_pipeline.transform.staging import resolve_empty


@pytest.fixture(scope="module")
def matcher():
    return MeasureMatcher(list(catalog.load_measures()))


@pytest.mark.parametrize("header", [
    "Bevolking_Aantal_inwoners",                 # underscore path (KWB via database export)
    "Bevolking/Aantal inwoners (aantal)",        # slash path with unit (StatLine CSV)
    "Bevolking.Aantal.inwoners..aantal.",        # R read.csv-mangled
    "AantalInwoners_5",                          # OData key with running suffix
])
def test_every_header_style_maps_to_one_measure(matcher, header):
    measure, _ = matcher.match(header)
    assert measure is not None and measure.name == "inhabitants"


@pytest.mark.parametrize("header,expected", [
    ("Inkomen_Inkomen_van_personen_40proc_personen_met_laagste_inkomen", "bottom40_persons_pct"),
    ("Inkomen.Inkomen.van.personen.40..personen.met.laagste.inkomen....", "bottom40_persons_pct"),
    ("Sociale.zekerheid.Personen.per.soort.uitkering..Bijstand..aantal.", "bijstand_recipients"),
    ("Wonen_Gemiddelde_woningwaarde", "woz_mean"),                                     # 2016-2018 label
    ("Wonen.Gemiddelde.WOZ.waarde.van.woningen..x.1.000.euro.", "woz_mean"),           # renamed later
    ("GemiddeldeWOZWaardeVanWoningen_39", "woz_mean"),                                 # 2024 OData key
    ("Opleidingsniveau_Opleidingsniveau_laag_", "education_low"),                      # trailing _ (2020)
    ("BasisonderwijsVmboMbo1_67", "education_low"),
    ("Criminaliteit_Gewelds__en_seksuele_misdrijven", "violence_rate"),
    ("ErvarenGezondheidGoedZeerGoed_4", "good_health_pct"),
    ("k_0Tot15Jaar_8", "age_0_15"),
])
def test_known_spellings(matcher, header, expected):
    assert matcher.match(header)[0].name == expected


def test_unit_in_header_must_match(matcher):
    with pytest.raises(UnitMismatch, match="inhabitants"):
        matcher.match("Bevolking/Aantal inwoners (x 1 000 euro)")


def test_unrelated_header_is_not_mapped(matcher):
    assert matcher.match("Motorvoertuigen_Motorfietsen") == (None, None)
    assert header_key("AantalInwoners_5") == header_key("Aantal inwoners")


def test_cells_keep_suppression_and_reject_what_is_not_a_number():
    out = parse_cells(pd.Series(["  78.4", "33,4", ".", "<5", "-99997", "", "NA", "abc", "0", "x", "NaN", "null"]))
    assert out.value.iloc[0] == 78.4 and out.value.iloc[8] == 0
    assert out.status.tolist() == ["ok", "error", "suppressed", "suppressed", "suppressed", "empty", "error",
                                   "error", "ok", "suppressed", "error", "error"]
    assert out.value.iloc[1:8].isna().all()  # suppressed, empty and rejected never become 0
    # pandas' NA strings are no CBS marker: rejected with their reason, never quietly "missing"
    assert out.error.tolist()[6] == "not a number: 'NA'" and "'NaN'" in out.error.iloc[10]
    # a decimal comma in a file that writes points is rejected, and the reason says why
    assert out.error.iloc[1] == "not a number: '33,4' (this file writes decimals with '.')"
    comma = parse_cells(pd.Series(["33,4", "33.4", "17282163"]), ",")  # a file declared `decimal: ","`
    assert comma.value.iloc[0] == 33.4 and comma.status.tolist() == ["ok", "error", "ok"]


def test_cells_are_stripped_as_python_strips_them():
    # DuckDB parses the cells; what counts as white space around them is Python's str.strip(), as before.
    assert set(WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}
    cells = ["\u2028 5\u3000", "\xa0.\t", "\x1c\n", "1\u200b", "a\u2028b"]
    out = parse_cells(pd.Series(cells))
    assert out.status.tolist() == ["ok", "suppressed", "empty", "error", "error"]
    assert out.value.iloc[0] == 5 and out.symbol.iloc[1] == "." and out.symbol.iloc[2] == ""
    # U+200B (zero width space) is no white space to Python: the cell is text, and the reason shows it kept
    assert out.error.iloc[3] == "not a number: '1\u200b'" and out.error.iloc[4] == "not a number: 'a\u2028b'"


def test_the_cbs_legend_is_kept_apart():
    # StatLine: '.' unknown, too unreliable or secret; 'x' secret; '-' nil (a real zero); empty: not applicable.
    out = parse_cells(pd.Series([".", "x", "-", "", "12"]))
    assert out.status.tolist() == ["suppressed", "suppressed", "ok", "empty", "ok"]
    assert out.symbol.tolist() == [".", "x", "-", "", None]
    assert out.value.iloc[2] == 0 and out.value.iloc[:2].isna().all()
    # An empty cell beside published ones reads by the file's format (assets/sources.yaml `empty_cells`):
    # not applicable in a StatLine export, withheld in an OData delivery (every symbol arrives as null there).
    obs = pd.DataFrame({"source_file": "f", "year": 2020, "measure": "m", "status": ["ok", "empty"],
                        "value": [1.0, None]})
    assert resolve_empty(obs, "not_applicable").status.tolist() == ["ok", "not_applicable"]
    assert resolve_empty(obs, "withheld").status.tolist() == ["ok", "suppressed"]
    # ... and nobody publishing the measure that year means it is missing, whatever the format
    assert resolve_empty(obs.assign(status="empty"), "not_applicable").status.tolist() == ["missing", "missing"]
