"""Users: registration (with the first-ADMIN claim), lookup and role changes."""

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simplismart.api.core.security import hash_password
from simplismart.api.crud.admins import ensure_an_admin_remains, lock_organization
from simplismart.api.errors import ConflictError, ForbiddenError, NotFoundError, field_error
from simplismart.api.models import FirstAdmin, Role, User


def get_by_username(session: Session, username: str) -> User | None:
    query = select(User).where(func.lower(User.username) == username.lower())
    return session.scalars(query).one_or_none()


def register(session: Session, username: str, password: str) -> User:
    """Create a VIEWER, or the ADMIN if this is the very first registration.

    Two registrations racing for the same name, or for being first, are decided by the
    database's unique constraints: the loser gets 409 (same name) or simply stays a VIEWER.
    """
    user = User(username=username, password_hash=hash_password(password), role=Role.VIEWER)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _taken(username) from None
    if session.get(FirstAdmin, 1) is None and _claim_first_admin(session, user.id):
        user.role = Role.ADMIN
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _taken(username) from None
    return user


def _claim_first_admin(session: Session, user_id: int) -> bool:
    """Insert the singleton row unless it exists; a concurrent claimer waits, then does nothing."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(FirstAdmin)
        .values(id=1, user_id=user_id)
        .on_conflict_do_nothing()
        .returning(FirstAdmin.user_id)
    )
    return session.scalar(statement) == user_id


def _taken(username: str) -> ConflictError:
    return ConflictError(
        f"username {username!r} is already taken",
        [field_error("username", "is already taken")],
    )


def change_role(session: Session, admin: User, user_id: int, role: Role) -> User:
    """Set the role of a member of the admin's organization, keeping at least one ADMIN."""
    organization_id = admin.organization_id
    assert organization_id is not None
    lock_organization(session, organization_id)
    # Checked again under the lock: a concurrent change may have demoted the caller meanwhile.
    actor = session.get(User, admin.id, populate_existing=True)
    if actor is None or actor.role is not Role.ADMIN or actor.organization_id != organization_id:
        session.rollback()
        raise ForbiddenError("you are no longer an ADMIN of this organization")
    target = session.get(User, user_id, populate_existing=True)
    if target is None or target.organization_id != organization_id:
        raise NotFoundError(
            f"no user with id {user_id} in your organization",
            [field_error("user_id", "no such user in your organization")],
        )
    target.role = role
    session.flush()
    ensure_an_admin_remains(session, organization_id)
    session.commit()
    return target
