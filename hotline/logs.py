"""Logging for every process (API, worker, beat, bridge, `hotline up`): one format, and nothing
personal or secret in any line.

The guarantee is layered. The code never logs a citizen's name, and masks a number itself
(``hotline.phone.mask_phone``). URLs carry no number (look-ups by phone are POST bodies) and the
request log writes the route, never a query string. Libraries that dump whole payloads at DEBUG
(SSE chunks, multipart form fields with passwords, Celery task arguments, SQL parameters) are held
at INFO or above whatever ``HOTLINE_LOG_LEVEL`` says. And, last, every record of every logger of
the process passes :func:`redact` when it is created (a log record factory, so no handler or
library configuration can route around it): anything shaped like a phone number, a JWT, a bearer
token, a ``token=`` parameter, a survey link or a password in a URL is masked, in the message and
in the traceback alike. Uncaught exceptions of the main thread and of other threads go through
logging too, so their tracebacks are masked as well.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from hotline.phone import mask_phone

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that write payloads (bodies, form fields, task arguments, SQL parameters) at DEBUG:
# never below this level, whatever HOTLINE_LOG_LEVEL says.
PAYLOAD_LOGGERS = {
    "sse_starlette": logging.INFO,  # every SSE chunk: the screen pop with name and number
    "multipart": logging.INFO,  # python-multipart: form fields, the login password among them
    "python_multipart": logging.INFO,
    "celery.pool": logging.INFO,  # "TaskPool: Apply ... (args: ...)"
    "celery.worker.strategy": logging.INFO,
    "kombu": logging.INFO,
    "amqp": logging.INFO,
    "httpcore": logging.INFO,  # request and response headers (the SMS gateway's token)
    "hpack": logging.INFO,
    "sqlalchemy": logging.WARNING,  # SQL with its parameters
    "asyncio": logging.INFO,
    "urllib3": logging.INFO,
}

_MOBILE = r"(?:(?:\+|00)?86[- ]?)?1[3-9]\d(?:\d{8}|[- ]\d{4}[- ]\d{4})"
_LANDLINE = r"(?:(?:\+|00)?86[- ]?)?0\d{2,3}-?\d{7,8}"
_E164 = r"\+\d{7,15}"
_PHONE = re.compile(rf"(?<![\d.])(?:{_MOBILE}|{_LANDLINE}|{_E164})(?!\d)")
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+")
_TOKEN_PARAM = re.compile(r"(?i)([?&;]\s*(?:access_)?token=)[^&\s\"'<>]+")
_SURVEY_LINK = re.compile(r"(/survey/)[\w-]{8,}")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)", re.IGNORECASE)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) > 11:
        digits = digits[2:]
    return mask_phone(digits)


def redact(text: str) -> str:
    """``text`` with phone numbers masked (``138****0001``) and tokens and passwords removed."""
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1[token]", text)
    text = _TOKEN_PARAM.sub(r"\1[token]", text)
    text = _SURVEY_LINK.sub(r"\1[token]", text)
    text = _URL_PASSWORD.sub(r"\1***\2", text)
    return _PHONE.sub(_mask_phone, text)


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call is the handler's to report
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters print exc_text when it is set: render the traceback now, masked.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("hotline").critical("uncaught exception", exc_info=(kind, value, tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("hotline").error(
        "uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def install_redaction() -> None:
    """Mask every record this process logs from now on, and hold the payload loggers at INFO.

    Idempotent; the CLI, the app factory and the Celery app each call it.
    """
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:
            logger.setLevel(floor)
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def configure(level: str | int) -> None:
    """The one logging setup of a process run from the CLI: stderr, one format, redaction."""
    install_redaction()
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger().setLevel(level)
