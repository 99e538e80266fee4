"""defs: the only package that knows Dagster. Assets per layer (sources, transform, marts, report), their checks,
resources, partitions, schedules and sensors, alerts read from the event log, the progress lines and the CLI's
in-process run. heerlen_pipeline/definitions.py puts them together."""
