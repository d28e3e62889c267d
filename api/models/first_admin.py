"""The claim of being the first registered user, who becomes ADMIN.

A singleton row (its key can only be 1) rather than "count the users, then insert": two
concurrent first registrations both see zero users, but only one can insert this row, so the
database itself guarantees exactly one first ADMIN.
"""

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from simplismart.api.models.base import Base


class FirstAdmin(Base):
    __tablename__ = "first_admin"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
