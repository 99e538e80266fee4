"""Write assets/areas/national_areas.csv: every gemeente and wijk in the bundled real national files.

`heerlen run --scope national` computes indicators for these areas too. Names and codes come from the
bundled CBS files (data/snapshot): KWB 2024 (indeling 2024: code, name, gemeente) and the RIVM
health files (indeling 2020; they carry the gemeente name only, so a wijk that no longer exists in 2024
is named by its code and gemeente). Heerlen's own areas stay in cbs_areas.csv.

    python scripts/national_areas.py
"""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "data" / "snapshot"
LEVELS = {"GM": "gemeente", "WK": "wijk"}


def parent(code: str) -> str:
    return "NL00" if code.startswith("GM") else f"GM{code[2:6]}"


def main() -> None:
    heerlen = {r["area_code"] for r in csv.DictReader(open(ROOT / "assets/areas/cbs_areas.csv", encoding="utf-8"))}
    areas: dict[str, str] = {}
    with open(SNAPSHOT / "kwb/kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            code = row["Regioaanduiding/Codering (code)"].strip()
            if code[:2] in LEVELS:
                areas[code] = row["Wijken en buurten"].strip()
    for year in (2020, 2016, 2012):
        with open(SNAPSHOT / f"rivm/rivm_gezondheid_{year}_18plus_nl_gm_wk_heerlenbu.csv", encoding="utf-8-sig",
                  newline="") as f:
            for row in csv.DictReader(f):
                code, gemeente = row["WijkenEnBuurten"].strip(), row["Gemeentenaam_1"].strip()
                if code[:2] in LEVELS and code not in areas:
                    areas[code] = gemeente if code.startswith("GM") else f"{code} (wijk in {gemeente}, indeling 2020)"
    out = ROOT / "assets/areas/national_areas.csv"
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["area_code", "area_name", "level", "parent_code"])
        for code in sorted(areas, key=lambda c: (c[:2] != "GM", c)):
            if code not in heerlen:
                w.writerow([code, areas[code], LEVELS[code[:2]], parent(code)])
    print(f"wrote {out} ({len(areas)} areas)")


if __name__ == "__main__":
    main()
