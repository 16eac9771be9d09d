"""Logging: human-readable lines on stderr by default, one JSON object per line for cron and
log shippers (``--log-format json``), nothing but errors with ``--quiet``.

Every JSON line has a ``ts`` (UTC, microseconds); text lines start with one (``[2026-11-30T06:00:04Z]``)
when stderr is not a terminal (cron mail, a log file), so that a log read later says when.

Everything gwaudit says about its progress goes through the ``gwaudit`` logger; results
(tables, JSON documents) go to stdout through click and are never mixed with log lines.
Both formatters pass every line through :func:`gwaudit.redact.redact` (message, hint, extra
fields and tracebacks), so no log line carries the token whatever a message was built from.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from .redact import redact, redact_obj

LOGGER = "gwaudit"
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _ts(record: logging.LogRecord, fmt: str = "%Y-%m-%dT%H:%M:%S.%fZ") -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).strftime(fmt)


class TextFormatter(logging.Formatter):
    def __init__(self, timestamps: bool = False):
        super().__init__()
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        text = self._text(record)
        if self.timestamps:
            text = f"[{_ts(record, '%Y-%m-%dT%H:%M:%SZ')}] {text}"
        return text

    def _text(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            text = f"error: {message}"
        elif record.levelno >= logging.WARNING:
            text = f"warning: {message}"
        else:
            text = message
        hint = getattr(record, "hint", None)
        if hint:
            text += f"\n  hint: {hint}"
        return redact(text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _ts(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                data[key] = value
        if record.exc_info and record.levelno >= logging.ERROR:
            data["exception"] = self.formatException(record.exc_info)
        data = redact_obj({k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
                           for k, v in data.items()})
        return json.dumps(data, default=str, ensure_ascii=False)


def setup(fmt: str = "text", *, quiet: bool = False, verbose: bool = False, stream: Any = None) -> logging.Logger:
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(timestamps=not _isatty(stream)))
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return logger


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def get(name: str | None = None) -> logging.Logger:
    return logging.getLogger(LOGGER if not name else f"{LOGGER}.{name}")
