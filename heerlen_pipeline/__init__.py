"""heerlen-pipeline: measures, year by year, whether the gap between Heerlen-Noord and the rest of
the Netherlands is closing."""

__version__ = "0.1.0"
