"""The rules every membership change obeys.

1. A change to a member applies only while they are still in the organization it was decided
   for. Reading the member and then writing by id alone let a promotion race a join: the role
   landed in the organization being joined. So every change first locks the member's row with a
   no-op update (:func:`lock_user`): PostgreSQL then holds the row until commit, and SQLite,
   whose ``FOR UPDATE`` does nothing, takes its single write lock, so that what is read next is
   current on both; and changes to another member are conditional updates on their organization.
2. An organization never loses its last ADMIN. A change that could remove an ADMIN first locks
   the organization's row, so such changes to one organization run one at a time; it then makes
   the change and counts the ADMINs left, inside the same transaction, and rolls back if none is.
"""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from simplismart.api.errors import ConflictError, ForbiddenError
from simplismart.api.models import Organization, Role, User


def lock_user(session: Session, user_id: int) -> User | None:
    """Lock the user's row for this transaction and return it as it is now (None if gone)."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version)
        .execution_options(synchronize_session=False)
    )
    return session.get(User, user_id, populate_existing=True)


def lock_organization(session: Session, organization_id: int) -> None:
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )


def lock_admin(session: Session, admin_id: int, organization_id: int) -> User:
    """Lock the organization and the acting ADMIN; refuse if they are no longer its ADMIN."""
    lock_organization(session, organization_id)
    actor = lock_user(session, admin_id)
    if actor is None or actor.role is not Role.ADMIN or actor.organization_id != organization_id:
        session.rollback()
        raise ForbiddenError("you are no longer an ADMIN of this organization")
    return actor


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
