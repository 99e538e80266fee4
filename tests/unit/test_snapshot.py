"""The bundled snapshot is what PROVENANCE.md says it is, and the area table matches the real 2024 export."""

import csv
import hashlib
import os
import re

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR
from heerlen_pipeline.sources.files import read_source_files


def test_every_bundled_file_is_listed_with_its_checksum():
    provenance = (BUNDLED_SNAPSHOT_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    files = sorted(p for p in BUNDLED_SNAPSHOT_DIR.rglob("*.csv"))
    assert len(files) == 16
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest[:8] in provenance, f"{path.name}: sha256 {digest[:8]}… not in PROVENANCE.md"
    declared = {f.path: f.provenance for s in catalog.load_sources().values() for f in s.files}
    assert declared.keys() == {str(p.relative_to(BUNDLED_SNAPSHOT_DIR)) for p in files}  # only what the pipeline uses
    for path in files:  # and sources.yaml dates exactly these bytes
        prov = declared[str(path.relative_to(BUNDLED_SNAPSHOT_DIR))]
        assert prov is not None and prov.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path.name


def test_a_file_that_is_not_the_bundled_copy_is_not_given_its_provenance(snapshot_copy):
    source = catalog.load_sources()["politie_gemeente"]
    path = snapshot_copy / "politie" / "statline_geregistreerde_misdrijven_gemeente_2024_raw.csv"
    path.write_text(path.read_text(encoding="utf-8").replace('"Heerlen";"6057"', '"Heerlen";"6058"'), encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))  # 2023-11-14T22:13:20Z
    got = {f.file.path.rsplit("_", 2)[-2]: (f.fetched_at, f.fetched_basis) for f in read_source_files(source, snapshot_copy)}
    assert got == {"2023": ("2026-06-08T13:50:11+02:00", "on or before: the day it was committed to "
                            "Sophie-Thoolen/Group-1-7---Criminaliteit-en- (cfedc37)"),
                   "2024": ("2023-11-14T22:13:20+00:00", "the file's modification time (not the bundled copy)")}


def test_area_table_matches_the_real_kwb_2024_export():
    with open(BUNDLED_SNAPSHOT_DIR / "kwb" / "kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    published = {r[3]: re.sub(r"^Wijk \d+ ", "", r[0]) for r in rows[1:]
                 if r[3].startswith(("WK0917", "BU0917")) or r[3] in ("GM0917", "NL00")}
    ours = {a["area_code"]: a["area_name"] for a in catalog.load_area_spec()["cbs_areas"]}
    assert ours == published
