"""store: the DuckDB files. The private build database and its tables, the run lock, the atomic publish of the
analyst warehouse and its Parquet twin, and `heerlen query`'s read-only access. No Dagster here."""
