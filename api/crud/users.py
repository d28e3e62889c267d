"""Users: registration (with the first-ADMIN claim), lookup, roles, passwords and sessions."""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simplismart.api.core.security import hash_password
from simplismart.api.core.usernames import canonical_username
from simplismart.api.crud.admins import (
    ensure_an_admin_remains,
    lock_admin,
    lock_organization,
    lock_user,
)
from simplismart.api.crud.organizations import new_invite_code
from simplismart.api.errors import ConflictError, NotFoundError, field_error
from simplismart.api.models import FirstAdmin, Organization, Role, User


def get_by_username(session: Session, username: str) -> User | None:
    query = select(User).where(User.username_key == canonical_username(username))
    return session.scalars(query).one_or_none()


def register(session: Session, username: str, password: str, *, may_be_first_admin: bool) -> User:
    """Create a VIEWER, or the ADMIN if this is the very first registration and may claim it.

    Two registrations racing for the same name, or for being first, are decided by the
    database's unique constraints: the loser gets 409 (same name) or simply stays a VIEWER.
    """
    user = User(
        username=username,
        username_key=canonical_username(username),
        password_hash=hash_password(password),
        role=Role.VIEWER,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _taken(username) from None
    if (
        may_be_first_admin
        and session.get(FirstAdmin, 1) is None
        and _claim_first_admin(session, user.id)
    ):
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


def _not_a_member(user_id: int) -> NotFoundError:
    return NotFoundError(
        f"no user with id {user_id} in your organization",
        [field_error("user_id", "no such user in your organization")],
    )


def change_role(session: Session, admin: User, user_id: int, role: Role) -> User:
    """Set the role of a member of the admin's organization, keeping at least one ADMIN.

    The update applies only while the target is still a member: a member who joins another
    organization meanwhile keeps the VIEWER role they joined it with.
    """
    organization_id = admin.organization_id
    assert organization_id is not None
    lock_admin(session, admin.id, organization_id)
    changed = session.execute(
        update(User)
        .where(User.id == user_id, User.organization_id == organization_id)
        .values(role=role)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise _not_a_member(user_id)
    ensure_an_admin_remains(session, organization_id)
    session.commit()
    target = session.get(User, user_id, populate_existing=True)
    assert target is not None
    return target


def members(session: Session, organization_id: int) -> list[User]:
    query = select(User).where(User.organization_id == organization_id).order_by(User.id)
    return list(session.scalars(query))


def remove_member(session: Session, admin: User, user_id: int) -> User:
    """Take a member out of the admin's organization (an ADMIN must remain).

    Their tokens stay valid for their own account, but every route of the organization checks
    membership on each request, so they lose access at once. The invite code changes in the
    same transaction: they knew the old one, and would otherwise join straight back.
    """
    organization_id = admin.organization_id
    assert organization_id is not None
    lock_admin(session, admin.id, organization_id)
    removed = session.execute(
        update(User)
        .where(User.id == user_id, User.organization_id == organization_id)
        .values(organization_id=None, role=Role.VIEWER)
        .execution_options(synchronize_session=False)
    )
    if removed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise _not_a_member(user_id)
    ensure_an_admin_remains(session, organization_id)
    session.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(invite_code=new_invite_code())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    target = session.get(User, user_id, populate_existing=True)
    assert target is not None
    return target


def leave(session: Session, user: User) -> User:
    """Leave one's organization and become a VIEWER of none (an ADMIN must remain)."""
    organization_id = user.organization_id
    if organization_id is None:
        raise ConflictError("you are not a member of any organization")
    lock_organization(session, organization_id)
    current = lock_user(session, user.id)
    assert current is not None
    if current.organization_id != organization_id:
        session.rollback()
        raise ConflictError("your membership changed meanwhile; check GET /me and try again")
    current.organization = None
    current.role = Role.VIEWER
    session.flush()
    ensure_an_admin_remains(session, organization_id)
    session.commit()
    return current


def change_password(session: Session, user: User, new_password: str) -> User:
    """Set a new password and revoke every token issued before."""
    password_hash = hash_password(new_password)
    current = lock_user(session, user.id)
    assert current is not None
    current.password_hash = password_hash
    current.token_version += 1
    session.commit()
    return current


def revoke_tokens(session: Session, user: User) -> User:
    """Log out everywhere: every token issued so far stops working on its next request."""
    current = lock_user(session, user.id)
    assert current is not None
    current.token_version += 1
    session.commit()
    return current
