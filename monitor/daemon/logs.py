"""Log setup of the daemon: readable lines or JSON lines on stderr, secrets masked.

Every line passes through a `Redactor` that knows the secrets of the configuration (webhook
secrets and URLs, SMTP passwords, Apprise URLs) and the access token, so neither a message
nor a quoted exception can leak one. `--log-format json` writes one object per line with
`time`, `level`, `logger`, `message` and the fields a line carries (`source`, `url`,
`outcome`, `duration`, ...), which log shippers index without parsing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, Literal

from monitor.alerts.redact import Redactor, redactor_for
from monitor.sources.config import Config

LogFormat = Literal["text", "json"]

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured duplicate of the message
    "taskName",
}


class Secrets:
    """The secret values to mask, replaced as a whole on reload."""

    def __init__(self) -> None:
        self._redactors: list[Redactor] = []

    def use(self, config: Config | None, extra: Iterable[str | None] = ()) -> None:
        """Mask the secrets of this configuration plus the given values from now on."""
        redactors = [Redactor(extra)]
        if config is not None:
            redactors += [redactor_for(n) for n in config.notifiers.values()]
            # header and cookie values, proxy credentials of the sources' requests
            from monitor.check.pipeline import request_secrets

            redactors.append(Redactor(request_secrets(config)))
        self._redactors = redactors

    def __call__(self, text: str) -> str:
        for redact in self._redactors:
            text = redact(text)
        return text


class TextFormatter(logging.Formatter):
    """`2026-11-26T09:00:00Z INFO monitor.check: message`, secrets masked."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = secrets

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _timestamp(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, secrets masked in every string."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(self._mask(entry), ensure_ascii=False, default=str)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.secrets(value)
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure_logging(log_format: LogFormat, level: int, secrets: Secrets) -> None:
    """Send every log line to stderr in the chosen format (replacing earlier setups)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter(secrets) if log_format == "json" else TextFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that are chatty at INFO: one line per HTTP request is not what people want.
    for noisy in ("httpx", "httpcore", "hpack", "apscheduler", "trafilatura"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # uvicorn's own loggers propagate to ours; its access log is off (it would log `?token=`).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
