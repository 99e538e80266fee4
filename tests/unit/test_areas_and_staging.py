import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR
from heerlen_pipeline.sources import files
from heerlen_pipeline.sources.files import SourceFileError, decode_csv, is_footer, read_source_files
from heerlen_pipeline.sources.headers import MeasureMatcher
from heerlen_pipeline.transform.areas import NameResolver, areas_frame, programme_members
from heerlen_pipeline.transform.staging import AreaNotResolved, SchemaDriftError, _footers, stage_source


def _stage(source_id, snapshot=BUNDLED_SNAPSHOT_DIR):
    spec = catalog.load_area_spec()
    source = catalog.load_sources()[source_id]
    files = [(f.file, f.rows) for f in read_source_files(source, snapshot)]
    return stage_source(source, files, MeasureMatcher(list(catalog.load_measures())),
                        {a["area_code"] for a in spec["cbs_areas"]}, NameResolver(spec["cbs_areas"]))


@pytest.fixture(scope="module")
def kwb():
    return _stage("kwb").observations


def test_area_table_has_23_wijken_57_buurten_and_both_definitions():
    spec = catalog.load_area_spec()
    levels = pd.Series([a["level"] for a in spec["cbs_areas"]]).value_counts()
    assert levels["wijk"] == 23 and levels["buurt"] == 57
    members = programme_members(spec)
    noord = members[members.area_code == "HEERLEN-NOORD"]
    assert (noord.groupby("definition").size() == 14).all()
    assert "WK091739" in set(noord[noord.definition == "molenberg"].wijk_code)
    assert "WK091735" in set(noord[noord.definition == "spoorlijn"].wijk_code)
    areas = areas_frame(spec)
    assert set(areas.definition) == {"cbs", "spoorlijn", "molenberg"}


def test_every_kwb_row_resolves_by_name_and_de_beitel_label_is_not_trusted(kwb):
    assert kwb.area_code.notna().all()
    heerlen = kwb[(kwb.measure == "inhabitants") & (kwb.area_code != "NL00")]
    per_year = heerlen.groupby("year").area_code.nunique()
    assert (per_year == 1 + 23 + 57).all()  # gemeente + wijken + buurten, every year
    assert sorted(kwb[kwb.area_code == "NL00"].year.unique()) == [2017, 2019, 2024]
    # The 2016 export labels De Beitel "Wijk 41"; it must land on WK091742 (70 inhabitants), not on WK091741.
    beitel = kwb[(kwb.year == 2016) & (kwb.measure == "inhabitants") & (kwb.area_code == "WK091742")]
    assert beitel.value.tolist() == [70.0]
    assert kwb[(kwb.year == 2016) & (kwb.measure == "inhabitants") & (kwb.area_code == "WK091741")].value.tolist() == [5585.0]


def test_heerlen_2019_inhabitants(kwb):
    row = kwb[(kwb.area_code == "GM0917") & (kwb.year == 2019) & (kwb.measure == "inhabitants")]
    assert row.value.tolist() == [86832.0]


def test_small_area_income_is_suppressed_and_unreleased_income_is_missing(kwb):
    de_hei = kwb[(kwb.area_code == "WK091723") & (kwb.year == 2018) & (kwb.measure == "bottom40_persons_pct")]
    assert de_hei.status.tolist() == ["suppressed"] and de_hei.value.isna().all()
    unreleased = kwb[(kwb.year == 2019) & (kwb.measure == "bottom40_persons_pct") & (kwb.area_code != "NL00")]
    assert set(unreleased.status) == {"missing"}


def test_unresolved_name_fails_loudly(snapshot_copy):
    path = snapshot_copy / "kwb" / "heerlen_kwb_2018.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Wijk 22 Heksenberg", "Wijk 22 Heksenbergen"),
                    encoding="utf-8")
    with pytest.raises(AreaNotResolved, match="Heksenbergen"):
        _stage("kwb", snapshot_copy)


def test_missing_required_measure_names_source_table_year_and_measure(snapshot_copy):
    path = snapshot_copy / "kwb" / "heerlen_kwb_2017.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Sociale_zekerheid_Personen_per_soort_uitkering_Bijstand", "Uitkering_X", 1),
                    encoding="utf-8")
    with pytest.raises(SchemaDriftError) as e:
        _stage("kwb", snapshot_copy)
    msg = str(e.value)
    assert "kwb" in msg and "83765NED" in msg and "2017" in msg and "bijstand_recipients" in msg


@pytest.mark.parametrize("text, reason", [
    ("veel", "not a number: 'veel'"),
    ("NA", "not a number: 'NA'"),          # pandas' NA strings are no CBS marker: never quietly "missing"
    ("NaN", "not a number: 'NaN'"),
    ('"86762,0"', "not a number: '86762,0' (this file writes decimals with '.')"),  # a lone decimal comma
])
def test_text_in_numeric_cell_is_rejected_with_reason(snapshot_copy, text, reason):
    path = snapshot_copy / "kwb" / "heerlen_kwb_2018.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    assert cells[0] == "Heerlen" and cells[2] == "86762.0"
    cells[2] = text
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    staged = _stage("kwb", snapshot_copy)
    rej = staged.rejected
    assert len(rej) == 1
    assert rej.iloc[0].area == "GM0917" and rej.iloc[0].reason == reason
    assert rej.iloc[0].table_id == "84286NED" and rej.iloc[0].source_file == "kwb/heerlen_kwb_2018.csv"
    gm = staged.observations[(staged.observations.area_code == "GM0917") & (staged.observations.measure == "inhabitants")]
    assert 2018 not in set(gm.year)  # the rejected cell is not published as anything


def test_rivm_national_row_is_mapped_to_nl00():
    obs = _stage("rivm_health").observations
    nl = obs[(obs.area_code == "NL00") & (obs.year == 2020) & (obs.measure == "good_health_pct")]
    assert nl.value.tolist() == [78.4]
    assert "NL01" not in set(obs.area_code)


def test_statline_export_with_metadata_lines():
    obs = _stage("politie_gemeente").observations
    got = {(r.area_code, r.year): r.value for r in obs.itertuples()}
    assert got == {("NL00", 2022): 800027, ("NL00", 2023): 805590, ("NL00", 2024): 805559,
                   ("GM0917", 2022): 5917, ("GM0917", 2023): 6233, ("GM0917", 2024): 6057}


# ---------------------------------------------------------------- records are CSV records

RIVM_2020 = "rivm/rivm_gezondheid_2020_18plus_nl_gm_wk_heerlenbu.csv"


def test_a_line_separator_inside_a_cell_does_not_split_the_record(snapshot_copy):
    # An unquoted U+2028 in the region-name cell of Heerlerheide-Passart (RIVM 2020): str.splitlines cut the row
    # in two and six health values of that wijk became 'suppressed', moving Noord's HLT-01 from 65.8 to 65.6.
    path = snapshot_copy / RIVM_2020
    text = path.read_text(encoding="utf-8")
    assert text.count(",Heerlen,Wijk,WK091721,") == 1
    path.write_text(text.replace(",Heerlen,Wijk,WK091721,", ",Heer\u2028len,Wijk,WK091721,"), encoding="utf-8")
    obs = _stage("rivm_health", snapshot_copy).observations
    row = obs[(obs.area_code == "WK091721") & (obs.year == 2020)].set_index("measure")
    assert row.loc["good_health_pct", "value"] == 59.9 and (row.status == "ok").all()  # 59.9, as RIVM publishes it


def test_doubled_carriage_returns_are_blank_lines_not_broken_rows(snapshot_copy):
    path = snapshot_copy / "kwb" / "heerlen_kwb_2019.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\r\n"))
    obs = _stage("kwb", snapshot_copy).observations
    gm = obs[(obs.area_code == "GM0917") & (obs.year == 2019) & (obs.measure == "inhabitants")]
    assert gm.value.tolist() == [86832]  # KWB 2019, unchanged


def test_a_record_with_the_wrong_number_of_fields_fails_naming_the_line(snapshot_copy):
    path = snapshot_copy / "kwb" / "heerlen_kwb_2018.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5].replace(",", ",\n", 1)  # a line break inside an unquoted cell: the record in two
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"heerlen_kwb_2018.csv: line 6 has 2 fields where the header has \d+"):
        _stage("kwb", snapshot_copy)


def test_footers_are_found_by_shape_in_any_column():
    body = pd.DataFrame({"regio": ["Heerlen", ""], "code": ["GM0917", "Bron: CBS"], "n": ["1", ""]})
    assert _footers(body).tolist() == [False, True]
    assert not is_footer(["Bron: CBS", "12"])  # a data row that happens to start with the word is not a footer
    frame = decode_csv(b"a;b\n1;2\n;Bron: CBS\n", ";")
    assert frame.values.tolist() == [["a", "b"], ["1", "2"], ["", "Bron: CBS"]]


@pytest.mark.parametrize("text", [
    'a,b\r\n1,2\r\n', 'a,b\r1,2', 'a,b\n\n1,2\n\n', 'a,b\r\r\n1,2\n',  # line ends; blank lines are dropped
    'a,b\n"x\ny",2\n', 'a,b\nx\u2028y,2\n', 'a,b\nx\x0cy,2\n',  # a cell's line break, U+2028, form feed
    'a,b\nab"c,2\n', 'a,b\n"ab"c,2\n', 'a,b\n"a""b",""\n', 'a,b\n"1,5", 2 \n',  # quotes, a quoted delimiter
    'a,b\n1,2\nBron: CBS\n\n,Bron: CBS\n', 'a,b\n1,2\nBron: CBS,,,\n',  # footers at the end (one wider)
    'a,b\nBron: CBS\n1,2\n', 'a,b\n1,"x\nBron: CBS"\n',  # a footer amid the rows; a cell ending in one
])
def test_arrow_reads_a_table_as_the_csv_module_does(text, monkeypatch):
    """decode_csv parses a uniform table with Arrow (files._arrow_frame) and falls back to the csv module where
    Arrow would differ: both ways give the same frame."""
    fast = decode_csv(text.encode(), ",")
    monkeypatch.setattr(files, "_arrow_frame", lambda *_args: None)
    slow = decode_csv(text.encode(), ",")
    assert fast.equals(slow) and list(fast.columns) == list(slow.columns)
    assert fast.values.tolist()[0][:2] == ["a", "b"]


def test_arrow_parses_a_table_ending_in_footers_and_falls_back_on_a_broken_row():
    assert files._arrow_frame('a;b\n1;"2\n3"\nBron: CBS\n', ";").values.tolist() == [
        ["a", "b"], ["1", "2\n3"], ["Bron: CBS", ""]]  # the footer padded to the table's width, at the end
    assert files._arrow_frame("a;b\n1\n", ";") is None  # the csv module then names the line
    assert files._arrow_frame("a;b\n1;\0\n", ";") is None  # NUL: the csv module refuses it
    with pytest.raises(ValueError, match="line 2 has 1 fields where the header has 2"):
        decode_csv(b"a;b\n1\n", ";")
