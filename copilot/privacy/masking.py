"""Masking of personal data: phone numbers, ID numbers and names, as 12345 hotlines show them
where a person need not see them in full (``138****5678``, ``110101********1234``, ``王**``).

:func:`mask_text` finds them in free text (log lines, audit entries); the field masks are for
structured values. :class:`MaskingFilter` applies :func:`mask_text` to every log record that
passes a handler, so no log file holds a citizen's number.
"""

from __future__ import annotations

import logging
import re

# 18-digit ID numbers (last character may be X), then mobile numbers, then other runs of 7 to
# 12 digits (landlines, bank cards said in part) that are not dates and not part of a code.
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
_DIGITS = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{2,7}(\d{2})(?![0-9A-Za-z])")
_DATE = re.compile(r"^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_LONG = 7


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; other numbers keep their first 3 and last 2 digits."""
    if not value:
        return value
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= _LONG:
        return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"
    return "*" * len(value)


def mask_id_number(value: str | None) -> str | None:
    """``110101199003071234`` → ``110101********1234``."""
    if not value:
        return value
    if len(value) >= 10:
        return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
    return "*" * len(value)


def mask_name(value: str | None) -> str | None:
    """``王小明`` → ``王**``; a one-character name is starred whole."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_text(text: str) -> str:
    """Free text with every ID number, mobile number and run of 7+ digits masked."""
    if not any(c.isdigit() for c in text):
        return text
    text = _ID.sub(lambda m: f"{m[1]}********{m[2]}", text)
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)
    return _DIGITS.sub(lambda m: (m[1] + "*" * (len(m[0]) - 5) + m[2]
                                  if len(m[0]) >= _LONG and not _DATE.match(m[0]) else m[0]),
                       text)


class MaskingFilter(logging.Filter):
    """Masks personal numbers in a record's final message (arguments merged in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking() -> None:
    """Add the filter to every handler of the root logger and of uvicorn's loggers (idempotent);
    call it after logging is configured."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in
                                      ("uvicorn", "uvicorn.error", "uvicorn.access"))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
