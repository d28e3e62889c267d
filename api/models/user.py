"""A user: credentials, one role and at most one organization (the original's model)."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Enum, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    username: Mapped[str] = mapped_column(String(150))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, length=16, validate_strings=True)
    )
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organization: Mapped["Organization | None"] = relationship(lazy="joined")


# Usernames are unique regardless of case, so "Alice" cannot pose as "alice".
Index("uq_users_username_lower", func.lower(User.username), unique=True)
