"""transform: from raw rows to the published numbers. Cells and the CBS legend, staging (long observations,
rejected cells, intervals), the areas, indicators, the marts, gaps and verdicts, and the national rank. No
Dagster here."""
