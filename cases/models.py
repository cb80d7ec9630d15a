"""SQLAlchemy 2.0 typed models of the hotline's own store (the IOC side lives in `cases.ioc`).

Tables: call records and their steps; cases with their status history and notes; e-service
dossiers; users; the audit log; the transactional outbox. Enumerations are stored as short
strings (no native PostgreSQL enums: adding a category must not need ``ALTER TYPE``).
Every datetime is aware UTC (`UtcDateTime`). Migrations in `cases/migrations` must match these
models (a test compares them).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cases.domain import CaseStatus, Category, Channel, Role
from cases.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[StrEnum], length: int = 16) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


# --- call records --------------------------------------------------------------------------
class CallRecord(Base):
    """One inbound call (one Asterisk channel), opened when the controller takes it over."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_caller_started", "caller", "started_at"),
        Index("ix_call_records_outcome_started", "outcome", "started_at"),
        Index("ix_call_records_intent_started", "intent", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(128))
    caller: Mapped[str] = mapped_column(String(32))
    dialed: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # completed / abandoned / transferred / error (ivr.ports.Outcome); NULL while open.
    outcome: Mapped[str | None] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(200), default="")
    last_node: Mapped[str] = mapped_column(String(64), default="")
    intent: Mapped[str] = mapped_column(String(64), default="")
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)

    steps: Mapped[list[CallStepRow]] = relationship(
        back_populates="call", order_by="CallStepRow.seq", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class CallStepRow(Base):
    """One step of a call: a node entered, a prompt played, digits pressed, speech heard..."""

    __tablename__ = "call_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_call_steps_call_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    node: Mapped[str] = mapped_column(String(64), default="")
    prompt: Mapped[str] = mapped_column(String(128), default="")
    digits: Mapped[str] = mapped_column(String(64), default="")
    transcript: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    call: Mapped[CallRecord] = relationship(back_populates="steps")


# --- cases ---------------------------------------------------------------------------------
class Case(Base):
    """A citizen's complaint (phản ánh hiện trường)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_created", "status", "created_at"),
        Index("ix_cases_category_created", "category", "created_at"),
        Index("ix_cases_unit_status", "assigned_unit", "status"),
        Index("ix_cases_handler_created", "handled_by", "created_at"),
        # the overdue list: status IN (open) AND due_at < now, one range per open status;
        # created_at makes it covering for the page's newest-first sort (cases.services)
        Index("ix_cases_status_due_created", "status", "due_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    category: Mapped[Category] = mapped_column(_enum(Category))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    province_code: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[int | None] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200), default="")  # "Phường Bạc Liêu, Cà Mau"
    address: Mapped[str] = mapped_column(String(300), default="")  # street, landmark
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str] = mapped_column(Text, default="")
    audio_ref: Mapped[str] = mapped_column(String(300), default="")
    caller: Mapped[str] = mapped_column(String(32), default="")
    call_uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    handled_by: Mapped[str | None] = mapped_column(String(64))  # the agent who owns it
    assigned_unit: Mapped[str | None] = mapped_column(String(120))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer, default=0)

    history: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", order_by="CaseNote.id", cascade="all, delete-orphan"
    )

    def is_overdue(self, now: datetime) -> bool:
        """Open past its SLA due time (derived, never stored)."""
        return self.status not in _DONE and now > self.due_at


_DONE = frozenset(
    {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
)


class CaseEvent(Base):
    """One change of a case: who, when, why (status changes and assignments)."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[CaseStatus | None] = mapped_column(_enum(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    reason: Mapped[str] = mapped_column(Text, default="")
    assigned_unit: Mapped[str | None] = mapped_column(String(120))

    case: Mapped[Case] = relationship(back_populates="history")


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="notes")


# --- e-service dossiers --------------------------------------------------------------------
class DossierStatus(StrEnum):
    RECEIVED = "received"  # đã tiếp nhận
    PROCESSING = "processing"  # đang xử lý
    SUPPLEMENT = "supplement"  # yêu cầu bổ sung
    DONE = "done"  # đã có kết quả
    RETURNED = "returned"  # đã trả kết quả
    REFUSED = "refused"  # từ chối giải quyết
    WITHDRAWN = "withdrawn"  # công dân rút hồ sơ


DOSSIER_FINISHED = frozenset(
    {DossierStatus.DONE, DossierStatus.RETURNED, DossierStatus.REFUSED, DossierStatus.WITHDRAWN}
)


class Dossier(Base):
    """An e-service dossier (hồ sơ dịch vụ công). Applicant data is minimal on purpose: a
    masked name (family name + initials) and the last three digits of the phone, enough for
    a read-back and a light identity check, nothing more."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # canonical printed form
    procedure: Mapped[str] = mapped_column(String(300))
    agency: Mapped[str] = mapped_column(String(200), default="")
    applicant: Mapped[str] = mapped_column(String(80), default="")
    phone_tail: Mapped[str] = mapped_column(String(4), default="")
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # ngày hẹn trả
    finished_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[DossierStatus] = mapped_column(_enum(DossierStatus))
    current_step: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime]


# --- users and audit -----------------------------------------------------------------------
class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who read or changed what: every read of a recording or a full caller number lands here."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- transactional outbox ------------------------------------------------------------------
class OutboxMessage(Base):
    """A record snapshot that must reach the IOC database, written in the same transaction as
    the change it describes. `key` is the idempotency key (a call's Linkedid, a case's id);
    `version` grows with every change of that record, so the IOC side keeps the newest."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "next_attempt_at", "id"),
        UniqueConstraint("topic", "key", "version", name="uq_outbox_topic_key_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(16))  # "call" | "case"
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
