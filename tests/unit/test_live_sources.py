"""Live sources against a local CBS OData mirror (tests/odata_mirror.py) on 127.0.0.1: no internet. The client and
schema drift, fetched in this process; the HTTP faults and the whole pipeline live are in tests/faults/.

The mirror serves the bundled real data in the exact v3 shapes, so a live run must give the same
indicator values as the snapshot run wherever both have them.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json

import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import Settings
from heerlen_pipeline.sources.duo import fetch_file, file_frame
from heerlen_pipeline.sources.headers import MeasureMatcher, SchemaDriftError
from heerlen_pipeline.sources.landing import Landing
from heerlen_pipeline.sources.live import LiveSourceError, fetch_live
from heerlen_pipeline.transform.areas import NameResolver
from heerlen_pipeline.transform.staging import stage_intervals, stage_source

from ..live_helpers import fetch, only
from ..odata_mirror import Mirror, labour_participation_fixture

# ---------------------------------------------------------------- client and schema drift

def test_two_kwb_editions_with_different_keys_resolve_to_the_same_measures(sources, mirror, tmp_path):
    out = {t.file.year: t for t in fetch(only(sources["kwb"], "84286NED", "84583NED"), mirror, tmp_path)}
    woz = {y: {k for k, m in t.resolution.key_map.items() if m == "woz_mean"} for y, t in out.items()}
    assert woz == {2018: {"GemiddeldeWoningwaarde_37"}, 2019: {"GemiddeldeWOZWaardeVanWoningen_35"}}
    inhabitants = {y: next(k for k, m in t.resolution.key_map.items() if m == "inhabitants") for y, t in out.items()}
    assert inhabitants[2018] != inhabitants[2019]  # the running suffix moved
    # The mapping is data: key, title path, unit and how it matched.
    mapping = out[2018].resolution.mapping.set_index("key")
    assert mapping.loc["GemiddeldeWoningwaarde_37", "unit"] == "x 1 000 euro"
    assert mapping.loc["GemiddeldeWoningwaarde_37", "matched_by"] == "key stem"
    # Real values came through, codes unpadded: Heerlen had 86,832 inhabitants in 2019.
    frame = out[2019].rows
    header = frame.iloc[0].tolist()
    rows = frame.iloc[1:].set_axis(header, axis=1)
    assert rows.loc[rows.WijkenEnBuurten == "GM0917", inhabitants[2019]].tolist() == ["86832"]


def test_paging_follows_next_link_to_the_end(sources, mirror, tmp_path):
    (table,) = fetch(only(sources["kwb"], "84286NED"), mirror, tmp_path)
    data_requests = mirror.requests_to("TypedDataSet")
    assert len(data_requests) >= 3  # 25 rows a page
    assert [r["query"].get("$skip", "0") for r in data_requests] == [str(25 * i) for i in range(len(data_requests))]
    assert len(table.rows) - 1 == 81  # gemeente, 23 wijken, 57 buurten of 2018
    first = data_requests[0]["query"]
    assert first["$format"] == "json" and "startswith(WijkenEnBuurten,'GM0917')" in first["$filter"]
    assert first["$select"].startswith("ID,WijkenEnBuurten,AantalInwoners_")


def test_every_page_is_landed_as_received(sources, mirror, tmp_path):
    (table,) = fetch(only(sources["politie_gemeente"], "47018NED"), mirror, tmp_path)
    manifest = json.loads((table.fetch.dir / "manifest.json").read_text())
    assert manifest["modified"] == "2024-10-01T02:00:00"
    entities = [p["entity"] for p in manifest["pages"]]
    assert entities[:3] == ["TableInfos", "DataProperties", "SoortMisdrijf"] and "TypedDataSet" in entities
    for page in manifest["pages"]:
        body = gzip.decompress((table.fetch.dir / page["file"]).read_bytes())
        assert hashlib.sha256(body).hexdigest() == page["sha256"]
        assert page["url"].startswith(mirror.url) and page["fetched_at"]
    # The padded dimension code went into the filter exactly as the table spells it.
    assert "SoortMisdrijf eq '0.0.0 '" in manifest["query"]["$filter"]
    # 47018NED totals for Nederland, 2012-2024, real values (1,127,693 in 2012).
    header = table.rows.iloc[0].tolist()
    rows = table.rows.iloc[1:].set_axis(header, axis=1)
    nl = rows[rows.WijkenEnBuurten == "NL00"].set_index("Perioden")["GeregistreerdeMisdrijven_1"]
    assert nl["2012JJ00"] == "1127693" and len(nl) == 13


def test_unchanged_modified_stamp_means_no_download(sources, mirror, tmp_path):
    source = only(sources["kwb"], "83487NED", "83765NED")
    first = fetch(source, mirror, tmp_path)
    assert all(t.downloaded for t in first)
    mirror.log.clear()
    second = fetch(source, mirror, tmp_path)
    assert not any(t.downloaded for t in second)
    assert {r["path"].rsplit("/", 1)[1] for r in mirror.log} == {"TableInfos"}  # one small request per table
    assert second[0].rows.equals(first[0].rows)
    mirror.tables[("opendata", "83765NED")].modified = "2025-03-01T02:00:00"  # CBS re-published 2017
    mirror.log.clear()
    third = {t.file.table_id: t for t in fetch(source, mirror, tmp_path)}
    assert not third["83487NED"].downloaded and third["83765NED"].downloaded
    assert {r["path"].split("/")[-2] for r in mirror.requests_to("TypedDataSet")} == {"83765NED"}


def test_renamed_key_that_no_alias_covers_fails_before_downloading_data(sources, tables, tmp_path):
    renamed = [dataclasses.replace(t, properties=[
        {**p, "Key": "InwonersTotaal_5", "Title": "Inwoners totaal"} if str(p.get("Key", "")).startswith("AantalInwoners")
        else p for p in t.properties]) if t.table_id == "83765NED" else t for t in tables]
    with Mirror(renamed) as m, pytest.raises(SchemaDriftError) as err:
        fetch(only(sources["kwb"], "83765NED"), m, tmp_path)
    msg = str(err.value)
    assert "83765NED" in msg and "2017" in msg and "'inhabitants'" in msg and "measures.csv" in msg
    assert not m.requests_to("TypedDataSet")
    assert not list((tmp_path / "landing").rglob("manifest.json"))  # nothing half-landed


def test_dimension_codes_are_found_by_title_and_youth_rate_is_renamed(tmp_path):
    source = only(catalog.load_sources()["cbs_labour_participation"], "86258NED")
    with Mirror([labour_participation_fixture()]) as m:
        (table,) = fetch(source, m, tmp_path)
        query = m.requests_to("TypedDataSet")[0]["query"]
    assert "Geslacht eq 'T001038 '" in query["$filter"] and "Leeftijd eq '53115   '" in query["$filter"]
    assert table.resolution.key_map == {"NettoArbeidsparticipatie_3": "youth_net_labour_participation_pct"}
    header = table.rows.iloc[0].tolist()
    rows = table.rows.iloc[1:].set_axis(header, axis=1)
    assert set(rows.Leeftijd) == {"53115"} and set(rows.Geslacht) == {"T001038"}
    assert sorted(rows.WijkenEnBuurten) == ["GM0917", "NL00", "WK091710", "WK091733"]  # not Amsterdam
    assert rows.set_index("WijkenEnBuurten").loc["WK091733", "NettoArbeidsparticipatie_3"] == ""  # null stays empty


def test_unknown_dimension_title_names_what_the_table_has(tmp_path):
    source = only(catalog.load_sources()["cbs_labour_participation"], "86258NED")
    live = dataclasses.replace(source.live, dimensions={"Leeftijd": {"title": "16 tot 23 jaar"}})
    with Mirror([labour_participation_fixture()]) as m, pytest.raises(LiveSourceError) as err:
        fetch(dataclasses.replace(source, live=live), m, tmp_path)
    assert "Leeftijd" in str(err.value) and "'15 tot 25 jaar'" in str(err.value)


def test_duo_files_and_school_placement(sources, mirror, duo, tmp_path):
    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", live=True, landing_dir=tmp_path / "landing",
                                 **{k: mirror.env()[f"HEERLEN_{k.upper()}"] for k in ("duo_url", "pdok_url")})
    result = fetch_live(sources["duo_school_advice"], settings)
    assert [t.file.year for t in result.tables] == [2020, 2023] and all(t.downloaded for t in result.tables)
    old, new = (t.rows.iloc[0].tolist() for t in result.tables)
    assert old[:2] == ["BRIN_NUMMER", "VESTIGINGSNUMMER"] and new[:2] == ["INSTELLINGSCODE", "VESTIGINGSCODE"]
    schools = result.schools.set_index("area_code")
    heerlen = schools[schools.gemeente_code == "GM0917"]
    assert len(heerlen) == 22 and (heerlen.placed_by == "address").all() and heerlen.wijk_code.str.match(r"WK0917\d\d").all()
    assert schools.loc["07LK00", ["gemeente_code", "placed_by"]].tolist() == ["GM0899", "gemeente (DUO register)"]
    assert schools.wijk_code.notna().sum() == 22  # only schools in scope are geocoded
    # DUO serves Windows-1252: the landed register decodes with its curly apostrophe intact.
    path = sources["duo_school_advice"].live.register
    landed, downloaded = fetch_file(path, "unused when replaying", None, Landing(tmp_path / "landing"))
    assert not downloaded and "Dalton Kindcentrum \u2019t Kompas" in file_frame(landed, ";").values
    # Second refresh: a HEAD per file, no downloads, no geocoding.
    mirror.log.clear()
    again = fetch_live(sources["duo_school_advice"], settings)
    assert not any(t.downloaded for t in again.tables)
    assert {r["method"] for r in mirror.log} == {"HEAD"} and again.schools.equals(result.schools)


def test_rivm_interval_bounds_are_kept_beside_the_point_estimate(sources, tables, tmp_path):
    rivm = next(t for t in tables if t.table_id == "50090NED")
    # MADE-UP bounds (the bundled copy has point estimates only): point -/+ 1.5 for one wijk in 2020.
    point = [r for r in rivm.rows if r["WijkenEnBuurten"].strip() == "WK091721" and r["Perioden"] == "2020JJ00"]
    bounds = [{**r, "ID": 900000 + i, "Marges": code, "ErvarenGezondheidGoedZeerGoed_4":
               r["ErvarenGezondheidGoedZeerGoed_4"] + delta}
              for i, (code, delta) in enumerate([("MOG0095", -1.5), ("MBG0095", 1.5)]) for r in point]
    marges = [*rivm.dimensions["Marges"], {"Key": "MOG0095", "Title": "Ondergrens 95%"},
              {"Key": "MBG0095", "Title": "Bovengrens 95%"}]
    table = dataclasses.replace(rivm, rows=rivm.rows + bounds, dimensions={**rivm.dimensions, "Marges": marges})
    source = sources["rivm_health"]
    with Mirror([table]) as m:
        fetched = fetch(source, m, tmp_path)
    files = [(t.file, t.rows) for t in fetched]
    key_maps = {t.file.table_id: t.resolution.key_map for t in fetched}
    spec = catalog.load_area_spec()
    args = (MeasureMatcher(list(catalog.load_measures())), {a["area_code"] for a in spec["cbs_areas"]},
            NameResolver(spec["cbs_areas"]))
    live = source.live_variant()
    obs = stage_source(live, files, *args, key_maps).observations
    intervals = stage_intervals(live, files, "Marges", *args, key_maps)
    good = intervals[(intervals.measure == "good_health_pct")].set_index("bound").value
    estimate = obs[(obs.area_code == "WK091721") & (obs.year == 2020) & (obs.measure == "good_health_pct")].value.item()
    assert estimate == 59.9  # the real RIVM point estimate, untouched by the bounds
    assert good.to_dict() == {"MBG0095": pytest.approx(61.4), "MOG0095": pytest.approx(58.4)}
