"""Alerts that reach a person: a failed run, a failed check (blocking or WARN).

One record per failure goes to the local alert log (JSON lines, always) and, when
HEERLEN_ALERT_WEBHOOK_URL is set, as a JSON POST: Slack/Teams-compatible `text` plus structured fields.
The log is also the ledger that keeps an alert from being sent twice: a failure already in it is skipped,
whether the CLI or a Dagster sensor saw it first. Which alerts a run raised is read from Dagster's event log in
defs/alerts.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from ..settings import Limits
from ..sources.http import MAX_REDIRECTS, USER_AGENT, same_host

ALERT_TIMEOUT = (3, 7)  # connect, read: one delivery waits at most about 10 s


@dataclass(frozen=True)
class Alert:
    run_id: str
    kind: str  # run_failed | check_failed
    severity: str  # error | warn
    summary: str
    asset: str | None = None
    check: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.run_id}|{self.kind}|{self.asset or ''}|{self.check or ''}"

    def payload(self, webserver_url: str | None) -> dict:
        link = f"{webserver_url.rstrip('/')}/runs/{self.run_id}" if webserver_url else None
        what = f"check {self.asset}:{self.check}" if self.check else "run"
        icon = ":rotating_light:" if self.severity == "error" else ":warning:"
        text = f"{icon} heerlen-pipeline {what} {'failed' if self.severity == 'error' else 'warns'}: {self.summary}"
        return {"text": text + (f" <{link}|run {self.run_id[:8]}>" if link else f" (run {self.run_id})"),
                **asdict(self), "run_url": link, "key": self.key}


class AlertSink:
    def __init__(self, log_path: Path, webhook_url: str | None = None, webserver_url: str | None = None,
                 timeout: tuple[float, float] = ALERT_TIMEOUT):
        self.log_path = log_path
        self.webhook_url = webhook_url
        self.webserver_url = webserver_url
        self.timeout = timeout

    @classmethod
    def from_env(cls, warehouse: Path) -> AlertSink:
        limits = Limits.from_env()
        return cls(Path(limits.alert_log or warehouse.parent / "alerts.jsonl"), limits.alert_webhook_url or None,
                   limits.webserver_url or None)

    def sent_keys(self) -> set[str]:
        try:
            text = self.log_path.read_text(encoding="utf-8") if self.log_path.is_file() else ""
        except OSError:  # unreadable: alert rather than stay silent (at worst an alert goes out twice)
            return set()
        keys = set()
        for line in text.splitlines():
            try:
                keys.add(json.loads(line)["key"])
            except (ValueError, KeyError):
                continue  # a damaged line must not stop alerting
        return keys

    def send(self, alerts: list[Alert]) -> list[dict]:
        """Log and post every alert not sent before; returns the records. An alert log that cannot be written
        does not stop the others (or the run): the record says so in `logged`, and the webhook still gets it."""
        seen = self.sent_keys()
        records, silent = [], False
        for alert in alerts:
            if alert.key in seen:
                continue
            seen.add(alert.key)
            record = {**alert.payload(self.webserver_url), "alerted_at": datetime.now(UTC).isoformat()}
            if not self.webhook_url:
                record["delivered"] = "no webhook configured"
            elif silent:  # a webhook that did not answer holds no run for a second, third … alert
                record["delivered"] = "not posted: the webhook did not answer an earlier alert in time"
            else:
                record["delivered"] = self._post(record)
                silent = "Timeout" in record["delivered"]  # ReadTimeout, ConnectTimeout
            try:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                record["logged"] = True
            except OSError as e:
                record["logged"] = f"not written to {self.log_path}: {e.strerror or type(e).__name__}"
            records.append(record)
        return records

    def _post(self, record: dict) -> str:
        """POST one alert. A redirect is followed only on the webhook's own host (the rule of the source downloads):
        an alert, and the token in its URL, are never re-sent to another host."""
        body = {k: v for k, v in record.items() if k != "delivered"}
        url = self.webhook_url
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                # stream=True: the answer's status is all we need; a body trickling in is never waited for
                with requests.post(url, json=body, timeout=self.timeout, headers={"User-Agent": USER_AGENT},
                                   allow_redirects=False, stream=True) as resp:
                    status, ok, redirect, location = (resp.status_code, resp.ok, resp.is_redirect,
                                                      resp.headers.get("Location", ""))
            except requests.RequestException as e:  # its text holds the URL, and a webhook URL holds a token
                return f"failed: {type(e).__name__} (webhook URL not shown: it holds a secret)"
            if not redirect:
                return "ok" if ok else f"failed: HTTP {status}"
            target = urljoin(url, location)
            if not same_host(url, target):
                return f"failed: HTTP {status} redirects to another host ({urlsplit(target).hostname}); not followed"
            url = target
        return f"failed: more than {MAX_REDIRECTS} redirects"
