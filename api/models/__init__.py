"""SQLAlchemy models of identity: users, organizations and the first-admin claim."""

from simplismart.api.models.base import Base
from simplismart.api.models.first_admin import FirstAdmin
from simplismart.api.models.organization import Organization
from simplismart.api.models.user import Role, User

__all__ = ["Base", "FirstAdmin", "Organization", "Role", "User"]
