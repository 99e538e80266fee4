"""Dagster resources: run settings and the private build database."""


from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from .. import catalog
from ..settings import Limits, Settings
from ..sources.http import HttpConfig
from ..store.build_db import set_aside_if_damaged
from ..store.layout import ensure_layout, forget_retired_sources
from ..store.lock import RUN_LOCK, hold

LIVE_TAG = "heerlen/live"


class PipelineSettings(dg.ConfigurableResource):
    """Paths, area definition and source mode; defaults come from HEERLEN_* environment variables."""

    warehouse: str
    area_definition: str
    snapshot_dir: str
    build_dir: str
    live: bool = False
    replay: bool = False
    scope: str = "heerlen"
    landing_dir: str
    cbs_odata_url: str
    cbs_dataderden_url: str
    duo_url: str
    pdok_url: str
    focus_area: str = Settings.focus_area

    @classmethod
    def from_settings(cls, s: Settings) -> "PipelineSettings":
        return cls(**s.as_plain())

    _lock: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings.build_dir.mkdir(parents=True, exist_ok=True)  # before the build DB is first opened
        # One run at a time per build directory, whoever starts it (UI, schedule, sensor, `heerlen run`).
        self._lock = ExitStack()
        self._lock.enter_context(hold(self.settings.build_dir / RUN_LOCK, what="run"))
        if message := set_aside_if_damaged(self.settings.build_db):  # under the lock: nobody else is using it
            context.log.warning(message)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def settings(self) -> Settings:
        return Settings.from_dict({name: getattr(self, name) for name in Settings.__dataclass_fields__})

    def for_run(self, tags: Mapping[str, str]) -> Settings:
        """The settings of one run: a run tagged heerlen/live=true (the schedule, the change sensor, or a
        launch from the UI) fetches live even when the code location's default is the bundled snapshot."""
        s = self.settings
        return replace(s, live=True) if tags.get(LIVE_TAG, "").lower() == "true" else s


class BuildDatabase(DuckDBResource):
    """The private build database, with one connection for the whole run.

    DuckDBResource opens the file on every get_connection() (reading its catalogue of ~100 tables) and
    closes it again (a checkpoint): with one step per asset and per asset's checks that was about a tenth
    of a bundled run. Within a run (the in-process executor sets a resource up once per run) every step
    shares one connection, closed at the end of the run; a step that raises drops it, so the next step
    starts on a fresh connection as before. Outside a run each call opens its own connection.
    """

    _stack: ExitStack | None = PrivateAttr(default=None)
    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._stack = ExitStack()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._drop()
        self._stack = None

    def _drop(self) -> None:
        if self._stack is not None:
            self._stack.close()  # closes the connection (and checkpoints)
        self._con = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._stack is None:  # not inside a run
            with super().get_connection() as con:
                ensure_layout(con)
                yield con
            return
        if self._con is None:
            self._con = self._stack.enter_context(super().get_connection())
            ensure_layout(self._con)
            forget_retired_sources(self._con, catalog.load_sources())
        try:
            yield self._con
        except BaseException:
            self._drop()
            raise


class RunLimits(dg.ConfigurableResource):
    """The time, size and alert settings (settings.Limits, from HEERLEN_* variables), shown in the UI. The webhook
    URL is a secret: the resource holds its variable (EnvVar), never the URL. A launch may override the HTTP ones
    for its downloads; the lock and alert settings are read from the environment, as the CLI reads them."""

    http_connect_timeout: float
    http_read_timeout: float
    http_retries: int
    http_backoff: float
    http_max_bytes: int
    http_budget: float
    source_budget: float
    lock_timeout: float
    query_timeout: float
    query_memory_limit: str
    build_memory_limit: str
    alert_log: str
    alert_webhook_url: str
    webserver_url: str

    @classmethod
    def from_env(cls) -> "RunLimits":
        limits = Limits.from_env()
        values = {f: getattr(limits, f) for f in cls.model_fields}
        if limits.alert_webhook_url:
            values["alert_webhook_url"] = dg.EnvVar(Limits.variable("alert_webhook_url"))
        return cls(**values)

    def http_config(self) -> HttpConfig:
        return HttpConfig.from_limits(self)  # its fields are the Limits' own


def build_resources(s: Settings) -> dict[str, dg.ConfigurableResource]:
    limits = RunLimits.from_env()
    return {
        "settings": PipelineSettings.from_settings(s),
        "limits": limits,
        # One DuckDB thread per statement: a float sum gives the same last digit on every run; the cores are used by
        # running statements side by side (store.tables.side_by_side). The memory limit bounds what they hold at
        # once: a national KWB's SQL checks side by side took the run's peak from 1.1 to 1.6 GB without it, 1.3 with.
        "build_db": BuildDatabase(database=str(s.build_db),
                                  connection_config={"threads": 1, "memory_limit": limits.build_memory_limit}),
    }
