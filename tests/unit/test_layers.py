"""The package's layers import downwards only, and only defs/ (with definitions.py on top) knows Dagster."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "heerlen_pipeline"
# Bottom to top: a layer may import the base modules and the layers before it, never one after it.
ORDER = ["store", "sources", "transform", "quality", "report", "defs"]
BASE = {"settings", "catalog", "__init__"}


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(layers of this package, outside top-level packages) imported by one module."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    layers, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            outside |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = list(parts[:-1])[: len(parts) - node.level]
            target = base + (node.module.split(".") if node.module else [])
            names = [target[0]] if target else [a.name for a in node.names]
            layers |= {n for n in names if n in ORDER or n in BASE}
    return layers, outside


def test_only_defs_imports_dagster():
    knows = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if _imports(p)[1] & {"dagster", "dagster_duckdb", "dagster_webserver"})
    assert knows and all(k.startswith("defs/") or k == "definitions.py" for k in knows), knows


def test_layers_import_downwards_only():
    wrong = []
    for layer in ORDER:
        for path in (PACKAGE / layer).rglob("*.py"):
            for other in _imports(path)[0] - BASE - {layer}:
                if other in ORDER and ORDER.index(other) > ORDER.index(layer):
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {other}")
    for base in BASE - {"__init__"}:  # the base modules (settings, catalog) import no layer at all
        wrong += [f"{base}.py imports {other}" for other in _imports(PACKAGE / f"{base}.py")[0] - BASE]
    assert wrong == []


def test_area_codes_live_in_assets_not_in_code():
    """The focus area's codes (assets/areas/focus_areas/) are read, never written into the code."""
    from heerlen_pipeline import catalog

    focus_areas = [catalog.load_focus_area(i) for i in catalog.focus_area_ids()]
    codes = [c for f in focus_areas for c in (f.focus.code, f.rest.code, f.gemeente.code)]
    assert len(codes) >= 6  # Heerlen-Noord and Rotterdam-Zuid at least
    found = [f"{p.relative_to(PACKAGE)}: {c}" for p in PACKAGE.rglob("*.py") for c in codes
             if c in p.read_text(encoding="utf-8")]
    assert found == []
