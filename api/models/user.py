"""A user: credentials, one role and at most one organization (the original's model)."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from simplismart.api.core.usernames import MAX_CANONICAL_LENGTH
from simplismart.api.models.base import Base

if TYPE_CHECKING:
    from simplismart.api.models.organization import Organization


class Role(StrEnum):
    """VIEWER reads; DEVELOPER also creates and cancels; ADMIN also manages the organization."""

    ADMIN = "ADMIN"
    DEVELOPER = "DEVELOPER"
    VIEWER = "VIEWER"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: As registered, for display.
    username: Mapped[str] = mapped_column(String(150))
    #: The canonical form (:func:`canonical_username`): unique, and what login looks up, so
    #: "ALICE" and "alice", or "ÄLICE" and "älice", are one user on every database.
    username_key: Mapped[str] = mapped_column(String(MAX_CANONICAL_LENGTH), index=True, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, length=16, validate_strings=True)
    )
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: Tokens carry the version they were issued at; incrementing it revokes them all at once
    #: (logout, password change, removal from the organization).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organization: Mapped["Organization | None"] = relationship(lazy="joined")
