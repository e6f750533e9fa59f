"""Phone numbers: one normal form (E.164) before any matching of a caller to history."""

from __future__ import annotations

import phonenumbers

from hotline.settings import get_settings


def normalize_phone(raw: str | None, region: str | None = None) -> str | None:
    """Return the E.164 form of ``raw`` (``+8613800000001``), or None if it is no number.

    Chinese landlines without area code and short service numbers (110, 12345) are kept as
    digits, since they cannot be expanded without knowing the trunk's area.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if not digits.lstrip("+"):
        return None
    try:
        parsed = phonenumbers.parse(digits, region or get_settings().phone_region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    bare = digits.lstrip("+")
    # Short numbers (110, 12345) and local numbers the library cannot place.
    if 3 <= len(bare) <= 15:
        return bare
    return None


def citizen_phone(raw: str | None, region: str | None = None) -> str | None:
    """The E.164 form of a number a citizen can be called back on, or None.

    A valid number (mobile or landline with its area code), or a local landline of 7 or 8
    digits (they begin with 2-9). Short and service numbers (110, 12345) and digit strings
    that are no number (123) are nobody's phone: a ticket or a citizen never gets one.
    """
    normalised = normalize_phone(raw, region)
    if normalised is None:
        return None
    if normalised.startswith("+"):
        return normalised
    if len(normalised) in (7, 8) and normalised[0] in "23456789":
        return normalised
    return None


def mask_phone(e164: str | None) -> str:
    """Hide the middle digits: +8613800000001 -> 138****0001."""
    if not e164:
        return ""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(national) <= 4:
        return "*" * len(national)
    keep = 3 if len(national) >= 7 else 1
    return national[:keep] + "*" * (len(national) - keep - 4) + national[-4:]
