"""The marts' own arithmetic, on made-up indicator ids and row counts (no source's data)."""

from __future__ import annotations

from heerlen_pipeline.transform.marts import SORT_ROWS, _sort_batches


def test_indicator_values_are_sorted_in_batches_of_one_theme_table_up_to_sort_rows():
    """In code-point order: A-1 and A-2 (40,000 + 200,000 = 240,000 <= 250,000) together; A-3 would make 260,000, so
    it starts a batch, which A-4 joins (20,000 + 1); B-1 is another table; C-1 alone exceeds the limit."""
    assert SORT_ROWS == 250_000
    rows = {"B-1": ("b", 100_000), "A-2": ("a", 200_000), "A-1": ("a", 40_000), "A-3": ("a", 20_000),
            "C-1": ("c", 300_000), "A-4": ("a", 1)}
    assert _sort_batches(rows) == [("a", ["A-1", "A-2"]), ("a", ["A-3", "A-4"]), ("b", ["B-1"]), ("c", ["C-1"])]
