"""Pure rules of the case domain: categories, channels, roles, the status workflow and the
reference numbers read to callers. No database, no clock (time comes in as arguments).

Strategy for reference numbers: a case number is read over the phone and typed back on a
keypad, so it is digits only, short (8 digits: 7 random + 1 check digit, read as two groups
of four), starts with a non-zero digit (no leading zero lost in spreadsheets), and is not
sequential (a caller who knows one number cannot guess a neighbour's complaint). The check
digit uses the Damm algorithm rather than Luhn: Damm catches every single-digit error *and*
every adjacent transposition (Luhn misses 09 <-> 90), and transpositions are exactly what
happens when a number is read aloud and keyed in. It is also digit-only (no "X" like ISO 7064
mod 11-2), which a telephone keypad needs.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from enum import StrEnum

from cases.errors import InvalidReferenceError, WorkflowError


class Category(StrEnum):
    """What a complaint (phản ánh hiện trường) is about."""

    SECURITY_ORDER = "security_order"
    URBAN_ORDER = "urban_order"
    ENVIRONMENT = "environment"
    TRAFFIC = "traffic"
    HEALTH = "health"
    EDUCATION = "education"
    UTILITIES = "utilities"
    OTHER = "other"


CATEGORY_LABELS_VI: Mapping[Category, str] = {
    Category.SECURITY_ORDER: "An ninh trật tự",
    Category.URBAN_ORDER: "Trật tự đô thị",
    Category.ENVIRONMENT: "Môi trường",
    Category.TRAFFIC: "Giao thông",
    Category.HEALTH: "Y tế",
    Category.EDUCATION: "Giáo dục",
    Category.UTILITIES: "Điện, nước, hạ tầng",
    Category.OTHER: "Khác",
}


class Channel(StrEnum):
    """How a case reached us."""

    PHONE = "phone"
    APP = "app"
    WEB = "web"
    AGENT = "agent"


class CaseStatus(StrEnum):
    RECEIVED = "received"
    CLASSIFIED = "classified"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


CASE_STATUS_LABELS_VI: Mapping[CaseStatus, str] = {
    CaseStatus.RECEIVED: "đã tiếp nhận",
    CaseStatus.CLASSIFIED: "đã phân loại",
    CaseStatus.ASSIGNED: "đã chuyển đơn vị xử lý",
    CaseStatus.IN_PROGRESS: "đang xử lý",
    CaseStatus.RESOLVED: "đã xử lý xong",
    CaseStatus.CLOSED: "đã đóng",
    CaseStatus.REJECTED: "không được tiếp nhận",
    CaseStatus.DUPLICATE: "trùng với phản ánh khác",
}


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# The whole workflow, as one table (from -> allowed targets). Reassignment is
# assigned/in_progress -> assigned; a resolved case can be reopened (-> in_progress) until
# it is closed. closed, rejected and duplicate are final.
TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.RECEIVED: frozenset(
        {CaseStatus.CLASSIFIED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
    ),
    CaseStatus.CLASSIFIED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
    ),
    CaseStatus.ASSIGNED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.ASSIGNED, CaseStatus.RESOLVED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_PROGRESS}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.DUPLICATE: frozenset(),
}

FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
OPEN311_CLOSED = frozenset({CaseStatus.RESOLVED, *FINAL_STATUSES})


def check_transition(reference: str, current: CaseStatus, target: CaseStatus) -> None:
    """Raise WorkflowError unless `current -> target` is in the table."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final status)"
        raise WorkflowError(
            f"Case {reference} is {current}: cannot move to {target} (allowed: {allowed})"
        )


def open311_status(status: CaseStatus) -> str:
    """Open311 GeoReport v2 knows only open/closed."""
    return "closed" if status in OPEN311_CLOSED else "open"


# --- Damm check digit ----------------------------------------------------------------------
# The totally anti-symmetric quasigroup of order 10 from H. M. Damm (2004), as in the
# reference implementations.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

REFERENCE_BODY_DIGITS = 7
REFERENCE_LENGTH = REFERENCE_BODY_DIGITS + 1


def damm_digit(digits: str) -> int:
    """The Damm check digit of a digit string."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def damm_valid(digits: str) -> bool:
    """True when the last digit is the Damm check digit of the rest."""
    return digits.isascii() and digits.isdigit() and damm_digit(digits) == 0


def new_reference() -> str:
    """A fresh random reference number: 7 digits (first non-zero) + Damm check digit."""
    low = 10 ** (REFERENCE_BODY_DIGITS - 1)
    body = str(low + secrets.randbelow(9 * low))
    return body + str(damm_digit(body))


def parse_reference(text: str) -> str:
    """Normalise what a caller or agent typed (spaces, dashes, dots) to a reference number.

    Raises InvalidReferenceError naming what is wrong (not digits, length, check digit).
    """
    compact = "".join(ch for ch in text if ch not in " -._")
    if not compact:
        raise InvalidReferenceError("Reference number is empty")
    if not (compact.isascii() and compact.isdigit()):
        raise InvalidReferenceError(f"Reference number {text!r} has characters other than digits")
    if len(compact) != REFERENCE_LENGTH:
        raise InvalidReferenceError(
            f"Reference number {compact} has {len(compact)} digits, expected {REFERENCE_LENGTH}"
        )
    if not damm_valid(compact):
        raise InvalidReferenceError(f"Reference number {compact} fails its check digit")
    return compact


def mask_phone(number: str) -> str:
    """``0912345678`` -> ``0912***678``: caller numbers are personal data."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "***" + number[-3:]
