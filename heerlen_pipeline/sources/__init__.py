"""sources: getting the data in. The bundled files and their provenance, the HTTP client with its time budgets,
CBS OData paging and schema, DUO files, PDOK geocoding, the landing of live responses, header matching, upstream
versions, and landing a source's rows as received in the build database's `raw` schema. No Dagster here."""
