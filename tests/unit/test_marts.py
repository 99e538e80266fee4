"""The marts' own arithmetic, on made-up indicator ids (no source's data)."""

from __future__ import annotations

from heerlen_pipeline.transform.marts import _theme_runs


def test_indicator_values_are_read_in_runs_of_consecutive_indicators_of_one_theme_table():
    """Code-point order: A-1, A-2 (theme a), B-1 (b), B-10 (a: "B-10" < "B-2"), B-2 (b). The ids of a and b interleave,
    so a is read twice: four runs, which give every indicator once and in that order."""
    theme_of = {"B-2": "b", "A-2": "a", "B-10": "a", "A-1": "a", "B-1": "b"}
    runs = _theme_runs(theme_of)
    assert runs == [("a", ["A-1", "A-2"]), ("b", ["B-1"]), ("a", ["B-10"]), ("b", ["B-2"])]
    assert [i for _theme, ids in runs for i in ids] == sorted(theme_of)
