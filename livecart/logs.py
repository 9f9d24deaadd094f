"""Logging for `livecart run`, `worker` and `demo`: human text or one JSON object per line,
each line carrying the Telegram update id or the HTTP request id it was written for."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from bot.observability import current_update_id
from webhook.observability import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
JSON_FIELDS = ["levelname", "name", "message"]
QUIET_LOGGERS = {
    "aiogram.event": logging.WARNING,
    "httpx": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
}


class ContextFilter(logging.Filter):
    """Puts `update_id` and `request_id` (from contextvars) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        update_id, request_id = current_update_id.get(), current_request_id.get()
        record.update_id = update_id
        record.request_id = request_id
        parts = []
        if request_id is not None:
            parts.append(f"request={request_id}")
        if update_id is not None:
            parts.append(f"update={update_id}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class _Json(JsonFormatter):
    """JSON with the context ids only when set, and without the text format's helper field."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("context", None)
        for key in ("update_id", "request_id"):
            if log_data.get(key) is None:
                log_data.pop(key, None)


def configure_logging(
    log_format: str = "text", level: str | int = "INFO", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one writing `log_format` to `stream` (stderr).

    Returns the handler (tests remove it again)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    if log_format == "json":
        handler.setFormatter(
            _Json(
                JSON_FIELDS,
                rename_fields={"levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
                timestamp="time",  # ISO 8601 in UTC
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    return handler
