"""The rule every membership change obeys: an organization never loses its last ADMIN.

A change that could remove an ADMIN first locks the organization's row, so such changes to one
organization run one at a time (PostgreSQL; SQLite has a single writer anyway). It then makes
the change and counts the ADMINs left, inside the same transaction, and rolls back if none is.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simplismart.api.errors import ConflictError
from simplismart.api.models import Organization, Role, User


def lock_organization(session: Session, organization_id: int) -> None:
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )


def ensure_an_admin_remains(session: Session, organization_id: int) -> None:
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.organization_id == organization_id, User.role == Role.ADMIN)
    )
    if not admins:
        session.rollback()
        raise ConflictError(
            "this would leave the organization without an ADMIN: make another member ADMIN first"
        )
