"""report: the Dutch routekaart report, one self-contained HTML page from the published marts only: the data it
reads, the page, the inline SVG charts and the style sheet. No Dagster here."""
