"""A local CBS OData v3 mirror for tests: a real HTTP server on 127.0.0.1 in the exact upstream shapes.

It serves the bundled real snapshot as OData tables (the values are the real CBS/RIVM/Politie values;
only the transport is re-created): the service document, TableInfos, DataProperties (Dimension,
GeoDetail, TimeDimension, TopicGroup and Topic rows), dimension lists and TypedDataSet pages with
space-padded codes, nulls and `odata.nextLink`. `$filter` (startswith / substringof / eq, and / or),
`$select`, `$skip` and `$top` work as upstream does for the filters the pipeline sends.

What is made up here, and only here: the running `_N` suffixes of the KWB keys (upstream they are the
column positions of each edition; here they are positions in our files, shifted per year) and the
TopicGroup of a KWB topic (the first segment of its export label). Faults are injected on request.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR
from heerlen_pipeline.sources.headers import MeasureMatcher
from heerlen_pipeline.transform.areas import NameResolver

from .local_server import LocalServer

# The key stem upstream uses for a measure, where it changed between editions (sources.md §2.3).
STEM_BY_YEAR = {
    "woz_mean": lambda y: "GemiddeldeWoningwaarde" if y <= 2018 else "GemiddeldeWOZWaardeVanWoningen",
    "education_low": lambda y: "OpleidingsniveauLaag" if y <= 2022 else "BasisonderwijsVmboMbo1",
}
KWB_FILES = {  # table id -> (year, bundled files whose rows make up the table)
    "83487NED": (2016, ["kwb/heerlen_kwb_2016.csv"]),
    "83765NED": (2017, ["kwb/heerlen_kwb_2017.csv", "kwb/kwb_2017_NL00.csv"]),
    "84286NED": (2018, ["kwb/heerlen_kwb_2018.csv"]),
    "84583NED": (2019, ["kwb/heerlen_kwb_2019.csv", "kwb/kwb_2019_NL00.csv"]),
    "84799NED": (2020, ["kwb/heerlen_kwb_2020.csv"]),
    "85984NED": (2024, ["kwb/kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv"]),
}
RIVM_FILES = [f"rivm/rivm_gezondheid_{y}_18plus_nl_gm_wk_heerlenbu.csv" for y in (2012, 2016, 2020)]
POLICE_FILE = "politie/47018NED_typeddataset_first1000rows_totaal_misdrijven.csv"
GEO_WIDTH = 10  # WijkenEnBuurten codes are padded to 10 characters


@dataclass
class Table:
    catalogue: str
    table_id: str
    title: str
    properties: list[dict]
    rows: list[dict]
    dimensions: dict[str, list[dict]] = field(default_factory=dict)
    modified: str = "2024-10-01T02:00:00"


@dataclass
class Fault:
    """Answer the next `times` requests whose path contains `match` with a fault instead of the data.

    `query` narrows it to requests whose decoded query contains that text (two sources asking one table
    with different filters), `method` to GET or HEAD.
    """

    match: str
    kind: str  # status | truncate | html | malformed | slow | trickle | reset | loop | empty | key_drift | huge | redirect
    #            | offsite_next
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    query: str | None = None
    method: str | None = None
    location: str | None = None  # redirect / offsite_next: the base URL sent instead of the mirror's
    size: int = 0  # huge: bytes of body
    declared: bool = True  # huge: announce the size in Content-Length (else stream it, no length)


DOC_FAULTS = {"loop", "empty", "offsite_next", "key_drift"}  # the answer is valid JSON, its content is the fault


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _number(text: str):
    """A bundled cell as CBS OData types it: a JSON number, or null for every legend symbol (and for R's NA in one
    bundled copy). The KWB 2019 NL row was saved with decimal commas; OData numbers have none."""
    text = text.strip()
    if text in ("", ".", "x", "NA"):
        return None
    try:
        value = float(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _pad(code: str, width: int = GEO_WIDTH) -> str:
    return code.strip().ljust(width)


def _camel(label: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", label)
    key = "".join(w[:1].upper() + w[1:] for w in words) or "Onbekend"
    return key if key[0].isalpha() else "k_" + key


def kwb_table(table_id: str, snapshot: Path = BUNDLED_SNAPSHOT_DIR) -> Table:
    year, files = KWB_FILES[table_id]
    matcher = MeasureMatcher(list(catalog.load_measures()))
    resolver = NameResolver(catalog.load_cbs_names())
    topics: dict[str, dict] = {}  # measure or label -> Topic row
    groups: dict[str, int] = {}
    props: list[dict] = [{"odata.type": "Cbs.OData.GeoDetail", "ID": 0, "Position": 0, "ParentID": None,
                          "Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Wijken en buurten"}]
    rows: list[dict] = []
    shift = year % 3  # upstream suffixes move between editions; make ours move too

    def topic_for(header: str) -> dict | None:
        measure, _ = matcher.match(header)
        name = measure.name if measure else re.sub(r"\W+", " ", header).strip()
        if name in topics:
            return topics[name]
        if not measure and (header.startswith(("regio", "Regioaanduiding", "Wijken")) or not name):
            return None
        label = re.split(r"[/_.]", header.replace("..", "."), maxsplit=1)
        group = label[0] if len(label) > 1 else "Overig"
        if group not in groups:
            groups[group] = len(props)
            props.append({"odata.type": "Cbs.OData.TopicGroup", "ID": len(props), "Position": len(groups),
                          "ParentID": None, "Type": "TopicGroup", "Key": _camel(group), "Title": group})
        if measure:
            stem = STEM_BY_YEAR.get(measure.name, lambda y: None)(year) or next(
                a for a in measure.aliases if "/" not in a and " " not in a)
            title, unit = measure.label_nl, measure.unit
        else:
            stem, title, unit = _camel(label[-1]), re.sub(r"[_.]+", " ", label[-1]).strip(), "aantal"
        key = f"{stem}_{len(topics) + 5 + shift}"
        row = {"odata.type": "Cbs.OData.Topic", "ID": len(props), "Position": len(topics) + 1,
               "ParentID": groups[group], "Type": "Topic", "Key": key, "Title": title, "Description": None,
               "Datatype": "Double", "Unit": unit, "Decimals": 1, "PresentationType": "Absolute"}
        props.append(row)
        topics[name] = row
        return row

    for path in files:
        headers, body = _read(snapshot / path)
        columns = [(i, topic_for(h)) for i, h in enumerate(headers)]
        code_col = matcher.resolve_column(headers, "Regioaanduiding/Codering")
        # Names resolve in order (a buurt inside the wijk above it), so the whole column at once.
        codes = ([v[headers.index(code_col)].strip() for v in body] if code_col is not None
                 else resolver.resolve([v[0] for v in body]))
        for values, code in zip(body, codes, strict=True):
            if not code:
                continue
            row = {"ID": len(rows), "WijkenEnBuurten": _pad(code)}
            for i, topic in columns:
                if topic is not None and topic["Key"] not in row:
                    row[topic["Key"]] = _number(values[i])
            rows.append(row)
    keys = [p["Key"] for p in props if p["Type"] == "Topic"]
    rows = [{**{k: None for k in keys}, **r} for r in rows]  # a column one file lacks is null upstream
    return Table("opendata", table_id, f"Kerncijfers wijken en buurten {year}", props, rows)


def _odata_csv_table(catalogue: str, table_id: str, title: str, files: list[str], dims: dict[str, dict[str, str]],
                     snapshot: Path, units: str) -> Table:
    """A table from CSV copies of a real TypedDataSet (keys already in OData form)."""
    props: list[dict] = []
    rows: list[dict] = []
    for path in files:
        headers, body = _read(snapshot / path)
        if not props:
            for h in headers[1:]:
                kind = ("GeoDetail" if h == "WijkenEnBuurten" else "TimeDimension" if h == "Perioden"
                        else "Dimension" if h in dims else "Topic")
                p = {"odata.type": f"Cbs.OData.{kind}", "ID": len(props), "Position": len(props), "ParentID": None,
                     "Type": kind, "Key": h, "Title": re.sub(r"_\d+$", "", h)}
                if kind == "Topic":
                    text_col = re.search(r"(naam|Regio|Codering)_\d+$", h) is not None
                    p.update(Datatype="String" if text_col else "Double", Unit="" if text_col else units)
                props.append(p)
        for values in body:
            rec = dict(zip(headers, values, strict=False))
            row = {"ID": len(rows)}
            for p in props:
                v = rec.get(p["Key"], "")
                if p["Type"] in ("GeoDetail",):
                    row[p["Key"]] = _pad(v)
                elif p["Type"] == "Topic" and p.get("Datatype") == "Double":
                    row[p["Key"]] = _number(v)
                else:
                    row[p["Key"]] = v
            rows.append(row)
    dimensions = {d: [{"Key": k, "Title": t, "Description": None, "CategoryGroupID": None} for k, t in codes.items()]
                  for d, codes in dims.items()}
    return Table(catalogue, table_id, title, props, rows, dimensions)


def bundled_tables(snapshot: Path = BUNDLED_SNAPSHOT_DIR) -> list[Table]:
    tables = [kwb_table(t, snapshot) for t in KWB_FILES]
    tables.append(_odata_csv_table(
        "dataderden", "50090NED", "Gezondheid per wijk en buurt; 2012/2016/2020 (indeling 2020)", RIVM_FILES,
        {"Leeftijd": {"20300": "18 jaar of ouder"}, "Marges": {"MW00000": "Waarde"}}, snapshot, "%"))
    tables.append(_odata_csv_table(
        "dataderden", "47018NED", "Geregistreerde misdrijven; soort misdrijf, wijk, buurt, jaarcijfers", [POLICE_FILE],
        {"SoortMisdrijf": {"0.0.0 ": "Totaal misdrijven"}}, snapshot, "aantal"))
    return tables


def labour_participation_fixture(table_id: str = "86258NED") -> Table:
    """MADE-UP numbers in the shape of CBS 'Arbeidsdeelname; wijken en buurten' (no real copy is bundled).

    Only for testing the fetch (dimension filters by title, the youth rename); never in a real warehouse.
    """
    dims = {"Geslacht": {"T001038": "Totaal mannen en vrouwen", "3000": "Mannen", "4000": "Vrouwen"},
            "Leeftijd": {"52052": "15 tot 75 jaar", "53115": "15 tot 25 jaar", "53300": "25 tot 45 jaar"}}
    props = [{"Type": "Dimension", "Key": "Geslacht", "Title": "Geslacht", "ID": 0, "ParentID": None},
             {"Type": "Dimension", "Key": "Leeftijd", "Title": "Leeftijd", "ID": 1, "ParentID": None},
             {"Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Wijken en buurten", "ID": 2, "ParentID": None},
             {"Type": "Topic", "Key": "Beroepsbevolking_1", "Title": "Beroepsbevolking", "Unit": "aantal", "ID": 3,
              "ParentID": None},
             {"Type": "Topic", "Key": "NettoArbeidsparticipatie_3", "Title": "Netto arbeidsparticipatie", "Unit": "%",
              "ID": 4, "ParentID": None}]
    rows = []
    for area in ("NL00", "GM0917", "WK091710", "WK091733", "GM0363"):
        for sex in dims["Geslacht"]:
            for age in dims["Leeftijd"]:
                fake = 40.0 + len(rows) % 17  # arbitrary test numbers
                rows.append({"ID": len(rows), "Geslacht": sex.ljust(8), "Leeftijd": age.ljust(8),
                             "WijkenEnBuurten": _pad(area), "Beroepsbevolking_1": 1000 + len(rows),
                             "NettoArbeidsparticipatie_3": None if area == "WK091733" else fake})
    dimensions = {d: [{"Key": k.ljust(8), "Title": t} for k, t in codes.items()] for d, codes in dims.items()}
    return Table("opendata", table_id, "Arbeidsdeelname; wijken en buurten (TEST FIXTURE, made-up values)", props,
                 rows, dimensions)


ADVICE = ["VSO", "PRO", "VMBO_B", "VMBO_B_K", "VMBO_K", "VMBO_K_GT", "VMBO_GT", "VMBO_GT_HAVO", "HAVO", "HAVO_VWO",
          "VWO", "ADVIES_NIET_MOGELIJK"]
REGISTER = Path(__file__).parent / "fixtures" / "duo_vestigingen_bo_heerlen_subset.csv"
DUO_YEARS = (2020, 2023)  # one file with DUO's old header, one with the new


@dataclass
class DuoFixture:
    """DUO files and PDOK answers for the mirror.

    The school register rows are REAL (tests/fixtures/README.md). The advice counts and the wijk each
    school is placed in are MADE UP (deterministic), for testing the fetch, placement and aggregation only.
    """

    files: dict[str, bytes]  # path under the DUO base -> body as DUO serves it (Windows-1252)
    places: dict[str, dict]  # "postcode:6416AJ and huisnummer:137" -> Locatieserver doc
    advice: dict[int, dict[str, dict[str, int | None]]]  # year -> school -> counts (None = '<5')
    school_wijk: dict[str, str]  # school -> the made-up wijk it is placed in


def duo_fixture(years: tuple[int, ...] = DUO_YEARS) -> DuoFixture:
    """Advice files for `years` at the paths sources.yaml names (2020 and 2021 with DUO's old header)."""
    paths = {t.year: t.path for t in catalog.load_sources()["duo_school_advice"].live.tables}
    register = REGISTER.read_text(encoding="utf-8")
    rows = [r.split(";") for r in register.splitlines()]
    head, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(head)}
    wijken = [a["area_code"] for a in catalog.load_area_spec()["cbs_areas"] if a["level"] == "wijk"]
    places, advice, school_wijk = {}, {}, {}
    for i, r in enumerate(body):
        pc, nr = r[col["POSTCODE"]].replace(" ", ""), re.match(r"\d+", r[col["HUISNUMMER-TOEVOEGING"]]).group(0)
        if r[col["GEMEENTENUMMER"]] == "0917":
            wk = wijken[(i * 7) % len(wijken)]  # made-up placement
            school_wijk[r[col["VESTIGINGSCODE"]]] = wk
            places[f"postcode:{pc} and huisnummer:{nr}"] = {
                "weergavenaam": f"{r[col['STRAATNAAM']]} {nr}, {pc} {r[col['PLAATSNAAM']].title()}", "gemeentecode": "0917",
                "wijkcode": wk, "buurtcode": f"BU{wk[2:]}00"}
    files = {"images/02.-alle-schoolvestigingen-basisonderwijs.csv": register.encode("cp1252")}
    for year in years:
        path, old = paths[year], year <= 2021
        lines = [";".join((["BRIN_NUMMER", "VESTIGINGSNUMMER"] if old else ["INSTELLINGSCODE", "VESTIGINGSCODE"])
                          + ["INSTELLINGSNAAM_VESTIGING", "POSTCODE_VESTIGING", "GEMEENTENAAM", *ADVICE])]
        advice[year] = {}
        for i, r in enumerate(body):
            code = r[col["VESTIGINGSCODE"]]
            counts = {a: 5 + (i * 3 + j * 5 + year) % 9 if a in ("HAVO", "VWO", "VMBO_GT", "VMBO_K") else 0
                      for j, a in enumerate(ADVICE)}
            if i == 3:
                counts["PRO"] = None  # DUO suppresses counts under 5
            advice[year][code] = counts
            ident = [code[:4], str(int(code[4:]))] if old else [code[:4], code]
            cells = ["<5" if v is None else str(v) for v in counts.values()]
            lines.append(";".join([*ident, r[col["VESTIGINGSNAAM"]], r[col["POSTCODE"]], r[col["GEMEENTENAAM"]], *cells]))
        files[path] = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    return DuoFixture(files, places, advice, school_wijk)


# ---------------------------------------------------------------- $filter

_TOKEN = re.compile(r"\s*(\(|\)|\band\b|\bor\b|startswith\((\w+),'([^']*)'\)|substringof\('([^']*)',(\w+)\)"
                    r"|(\w+) eq '([^']*)')")


def parse_filter(text: str):
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unsupported $filter near {text[pos:pos + 30]!r}")
        tokens.append(m)
        pos = m.end()
    i = 0

    def chain(op: str, operand, combine):
        nonlocal i
        left = operand()
        while i < len(tokens) and tokens[i].group(1) == op:
            i += 1
            left = combine(left, operand())
        return left

    def expr():
        return chain("or", term, _either)

    def term():
        return chain("and", factor, _both)

    def factor():
        nonlocal i
        t = tokens[i]
        i += 1
        if t.group(1) == "(":
            inner = expr()
            i += 1  # ')'
            return inner
        return _atom(t)

    return expr()


def _atom(t: re.Match):
    if t.group(2):
        field, op, value = t.group(2), "startswith", t.group(3)
    elif t.group(4) is not None:
        field, op, value = t.group(5), "substringof", t.group(4)
    else:
        field, op, value = t.group(6), "eq", t.group(7)

    def test(row: dict) -> bool:
        cell = str(row.get(field, ""))
        return {"startswith": cell.startswith(value), "substringof": value in cell, "eq": cell == value}[op]

    return test


def _either(a, b):
    return lambda row: a(row) or b(row)


def _both(a, b):
    return lambda row: a(row) and b(row)


# ---------------------------------------------------------------- the server

class Mirror(LocalServer):
    def __init__(self, tables: list[Table], page_size: int = 25, duo: DuoFixture | None = None):
        self.tables = {(t.catalogue, t.table_id): t for t in tables}
        self.duo = duo
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.log: list[dict] = []  # one entry per request: path, query, status, bytes
        self._lock = threading.Lock()
        self._serve(ThreadingHTTPServer(("127.0.0.1", 0), _handler(self)))
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"HEERLEN_CBS_ODATA_URL": f"{self.url}/opendata", "HEERLEN_CBS_DATADERDEN_URL": f"{self.url}/dataderden",
                "HEERLEN_DUO_URL": f"{self.url}/duo", "HEERLEN_PDOK_URL": f"{self.url}/pdok"}

    def static(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str] | None:
        """DUO files and PDOK Locatieserver answers; None when the path is not theirs."""
        if path.startswith("/duo/"):
            body = (self.duo.files if self.duo else {}).get(path.removeprefix("/duo/"))
            return (200, body, "text/csv") if body is not None else (404, b"<html>Pagina niet gevonden</html>", "text/html")
        if path == "/pdok/bzk/locatieserver/search/v3_1/free":
            doc = (self.duo.places if self.duo else {}).get(query.get("q", ""))
            answer = {"response": {"numFound": int(doc is not None), "start": 0, "docs": [doc] if doc else []}}
            return 200, json.dumps(answer).encode(), "application/json"
        return None

    def take_fault(self, path: str, query: str = "", method: str = "GET") -> Fault | None:
        with self._lock:
            for f in self.faults:
                if (f.match in path and f.times > 0 and (f.query is None or f.query in query)
                        and (f.method is None or f.method == method)):
                    f.times -= 1
                    return f
        return None

    def requests_to(self, entity: str) -> list[dict]:
        return [r for r in self.log if r["path"].endswith("/" + entity)]

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict]:
        m = re.fullmatch(r"/(opendata|dataderden)/ODataFeed/(?:odata|OData)/(\w+)(?:/(\w+))?", path)
        if not m or (m.group(1), m.group(2)) not in self.tables:
            return 404, {"odata.error": {"code": "", "message": {"lang": "en-US", "value": f"No table at {path}"}}}
        if query.get("$format") != "json":
            return 415, {"error": "this mirror only speaks JSON; add $format=json"}
        catalogue, table_id, entity = m.groups()
        t = self.tables[(catalogue, table_id)]
        base = f"{self.url}/{catalogue}/ODataFeed/{'odata' if catalogue == 'opendata' else 'OData'}/{table_id}"
        meta = {"odata.metadata": f"{base}/$metadata#Cbs.OData.WebAPI.{entity or 'Service'}"}
        if entity is None:
            sets = ["TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties", "CategoryGroups", *t.dimensions]
            return 200, {**meta, "value": [{"name": s, "url": f"{base}/{s}"} for s in sets]}
        if entity == "TableInfos":
            return 200, {**meta, "value": [{"ID": 1, "Title": t.title, "Identifier": table_id, "Modified": t.modified,
                                            "MetaDataModified": t.modified, "Catalog": catalogue.upper(),
                                            "RecordCount": len(t.rows), "ColumnCount": len(t.properties)}]}
        if entity == "DataProperties":
            return 200, {**meta, "value": t.properties}
        if entity in t.dimensions:
            return 200, {**meta, "value": t.dimensions[entity]}
        if entity != "TypedDataSet":
            return 404, {"odata.error": {"message": {"value": f"Unknown entity set {entity}"}}}
        rows = t.rows
        if "$filter" in query:
            keep = parse_filter(query["$filter"])
            rows = [r for r in rows if keep(r)]
        if "$select" in query:
            wanted = query["$select"].split(",")
            unknown = [w for w in wanted if t.rows and w not in t.rows[0]]
            if unknown:
                return 400, {"odata.error": {"message": {"value": f"Could not find a property named '{unknown[0]}'"}}}
            rows = [{k: r[k] for k in wanted} for r in rows]
        skip = int(query.get("$skip", 0))
        top = min(int(query.get("$top", self.page_size)), self.page_size)
        page = {**meta, "value": rows[skip:skip + top]}
        if skip + top < len(rows):
            nxt = {k: v for k, v in query.items() if k != "$format"} | {"$skip": str(skip + top)}
            page["odata.nextLink"] = f"{base}/TypedDataSet?{urlencode(nxt)}"
        return 200, page


def _handler(mirror: Mirror):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            method = "HEAD" if head else "GET"
            fault = mirror.take_fault(parts.path, "&".join(f"{k}={v}" for k, v in query.items()), method)
            static = mirror.static(parts.path, query)
            if static is not None:
                status, body, ctype = static
            else:
                status, doc = mirror.answer(parts.path, query)
                if fault and fault.kind == "loop" and "odata.nextLink" in doc:
                    doc["odata.nextLink"] = f"{mirror.url}{self.path}"
                elif fault and fault.kind == "offsite_next":
                    doc["odata.nextLink"] = f"{fault.location}{self.path}"
                elif fault and fault.kind == "empty":
                    doc["value"] = []
                    doc.pop("odata.nextLink", None)
                elif fault and fault.kind == "key_drift" and doc.get("value"):  # the third key renamed on this page
                    old_key = list(doc["value"][0])[2]
                    doc["value"] = [{(f"{k}_v2" if k == old_key else k): v for k, v in r.items()} for r in doc["value"]]
                body, ctype = json.dumps(doc, ensure_ascii=False).encode(), \
                    "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
            entry = {"method": method, "path": parts.path, "query": query, "status": status,
                     "bytes": 0 if head else len(body), "fault": fault.kind if fault else None, "t": time.monotonic()}
            mirror.log.append(entry)
            if fault and fault.kind not in DOC_FAULTS:
                return self._fault(fault, body)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            self._send(status, body, ctype, {"ETag": etag} if static else None, head=head)

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None, head: bool = False) -> None:
            gz = "gzip" in self.headers.get("Accept-Encoding", "")
            payload = gzip.compress(body) if gz else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if gz:
                self.send_header("Content-Encoding", "gzip")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if not head:
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a read-timeout fault): nothing to answer

        def _fault(self, fault: Fault, body: bytes) -> None:
            if fault.kind == "status":
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send(fault.status, b'{"odata.error":{"message":{"value":"Service Unavailable"}}}',
                           "application/json", extra)
            elif fault.kind == "html":
                self._send(200, b"<!DOCTYPE html><html><body><h1>Onderhoud</h1>StatLine is niet beschikbaar</body></html>",
                           "text/html")
            elif fault.kind == "malformed":
                self._send(200, body[: len(body) // 2], "application/json")
            elif fault.kind == "truncate":  # promise the whole body, send half, hang up
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif fault.kind == "slow":
                time.sleep(fault.seconds)
                self._send(200, body, "application/json")
            elif fault.kind == "trickle":  # the whole body promised, then 100 bytes every `seconds`
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 100):
                        self.wfile.write(body[i:i + 100])
                        self.wfile.flush()
                        time.sleep(fault.seconds)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up at its budget: that is the point
            elif fault.kind == "redirect":  # same path and query, on the host the fault names
                self.send_response(fault.status if 300 <= fault.status < 400 else 302)
                self.send_header("Location", f"{fault.location}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif fault.kind == "huge":  # a valid JSON document, far larger than any real page
                pad = b'{"value": [], "padding": "' + b"x" * fault.size + b'"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if fault.declared:
                    self.send_header("Content-Length", str(len(pad)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    for i in range(0, len(pad), 1 << 16):
                        self.wfile.write(pad[i:i + (1 << 16)])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up at its cap: that is the point
            elif fault.kind == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                self.close_connection = True

    return Handler


class Recorder(LocalServer):
    """Another host (127.0.0.2 when the system has it): records every request made to it, answers an empty
    OData page. Tests point redirects and nextLinks here to prove no request leaves the configured host."""

    def __init__(self):
        self.log: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                recorder.log.append({"method": self.command, "path": self.path})
                body = b'{"value": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815
            do_POST = do_GET  # noqa: N815 - a re-posted alert would be recorded too

        try:
            self._serve(ThreadingHTTPServer(("127.0.0.2", 0), Handler))
        except OSError:  # no 127.0.0.2 here: another port is another origin too
            self._serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"


def mirror_assets(dst: Path) -> Path:
    """A copy of assets/ whose live table lists name what the mirror has (the bundled editions).

    Upstream has more (KWB 2021-2023 and 2025, RIVM 50150NED, Arbeidsdeelname); the mirror cannot invent
    those, so the copy asks for the bundled ones: KWB 2016-2020 and 2024 (population only), RIVM 50090NED,
    and the DUO advice years the fixture makes up.
    """
    import shutil

    import yaml

    shutil.copytree(catalog.ASSETS_DIR, dst)
    path = dst / "sources.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    kwb = spec["sources"]["kwb"]["live"]
    kwb["tables"] = [{"table_id": t, "year": y, **({"required_measures": ["inhabitants", "age_0_15", "age_15_25"]}
                                                   if y == 2024 else {})} for t, (y, _) in KWB_FILES.items()]
    spec["sources"]["rivm_health"]["live"]["tables"] = [{"table_id": "50090NED"}]
    duo = spec["sources"]["duo_school_advice"]["live"]
    duo["tables"] = [t for t in duo["tables"] if t["year"] in DUO_YEARS]
    del spec["sources"]["cbs_labour_participation"]["live"]  # no real copy to serve
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return dst
