"""quality: the data checks and who hears of them. Great Expectations suites (data_checks/*.json) and their
validation, the plain SQL checks, and the alerts (log and webhook). No Dagster here: defs/checks.py runs them as
asset checks."""
