import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.cells import parse_cells
from heerlen_pipeline.headers import MeasureMatcher, UnitMismatch, header_key


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


def test_cells_keep_suppression_and_parse_decimal_comma():
    out = parse_cells(pd.Series(["  78.4", "33,4", ".", "<5", "-99997", "", "NA", "abc", "0", "x"]))
    assert out.value.iloc[0] == 78.4 and out.value.iloc[1] == 33.4 and out.value.iloc[8] == 0
    assert out.status.tolist() == ["ok", "ok", "suppressed", "suppressed", "suppressed", "empty", "empty",
                                   "error", "ok", "suppressed"]
    assert out.value.iloc[2:8].isna().all()  # suppressed and empty never become 0
    assert "abc" in out.error.iloc[7]
