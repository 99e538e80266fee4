"""The bundled snapshot is what PROVENANCE.md says it is, and the area table matches the real 2024 export."""

import csv
import hashlib
import re

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR


def test_every_bundled_file_is_listed_with_its_checksum():
    provenance = (BUNDLED_SNAPSHOT_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    files = sorted(p for p in BUNDLED_SNAPSHOT_DIR.rglob("*.csv"))
    assert len(files) == 16
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest[:8] in provenance, f"{path.name}: sha256 {digest[:8]}… not in PROVENANCE.md"
    used = {f.path for s in catalog.load_sources().values() for f in s.files}
    assert used == {str(p.relative_to(BUNDLED_SNAPSHOT_DIR)) for p in files}  # only what the pipeline uses


def test_area_table_matches_the_real_kwb_2024_export():
    with open(BUNDLED_SNAPSHOT_DIR / "kwb" / "kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    published = {r[3]: re.sub(r"^Wijk \d+ ", "", r[0]) for r in rows[1:]
                 if r[3].startswith(("WK0917", "BU0917")) or r[3] in ("GM0917", "NL00")}
    ours = {a["area_code"]: a["area_name"] for a in catalog.load_area_spec()["cbs_areas"]}
    assert ours == published
