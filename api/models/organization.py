"""An organization: a tenant, mapped one-to-one to a Kubernetes namespace."""

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from simplismart.api.models.base import Base


class Organization(Base):
    __tablename__ = "organizations"
    # Never reuse the id of a deleted row on SQLite: its namespace is named after it.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own shape

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    namespace: Mapped[str] = mapped_column(String(63), unique=True)
    invite_code: Mapped[str] = mapped_column(String(64), unique=True)
    #: The id of the user who founded it, for the organizations-per-user quota (None on rows
    #: older than the quota). A plain column: users and organizations already refer to each
    #: other, and a second cycle of foreign keys would buy nothing (users are never deleted).
    created_by_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
