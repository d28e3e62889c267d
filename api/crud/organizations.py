"""Organizations: creation (with its namespace), joining by invite code, code rotation."""

import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simplismart.api.core.config import Settings
from simplismart.api.crud.admins import ensure_an_admin_remains, lock_organization, lock_user
from simplismart.api.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    field_error,
)
from simplismart.api.kube import CLAIM_ANNOTATION, Kube, namespace_for
from simplismart.api.models import Organization, Role, User

log = logging.getLogger(__name__)


def new_invite_code() -> str:
    """192 random bits: not guessable, and short enough to paste."""
    return secrets.token_urlsafe(24)


def create(
    session: Session, kube: Kube, settings: Settings, creator: User, name: str
) -> Organization:
    """Create the organization and its namespace, and make the creator its ADMIN.

    The namespace is created after the row is written but before it is committed: if Kubernetes
    refuses, the transaction rolls back and nothing exists; if the commit fails, or Kubernetes'
    answer is lost, the namespace this creation made (if it did) is deleted again.
    """
    _check_organization_quota(session, creator, settings.quotas.organizations_per_user)
    # The namespace is named after the id, known only after the insert; until then (and never
    # committed) the row holds a unique placeholder, so concurrent creations do not collide.
    placeholder = f"pending-{secrets.token_hex(8)}"
    organization = Organization(
        name=name, namespace=placeholder, invite_code=new_invite_code(), created_by_id=creator.id
    )
    session.add(organization)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ConflictError(
            f"organization {name!r} already exists", [field_error("name", "is already taken")]
        ) from None
    organization.namespace = namespace_for(settings.namespace_prefix, organization.id)
    _move(session, creator, organization, Role.ADMIN, founding=True)
    claim = secrets.token_hex(16)
    try:
        kube.create_namespace(organization.namespace, organization.id, claim)
    except ConflictError:
        session.rollback()
        raise _namespace_taken(kube, organization.namespace) from None
    except UnavailableError:
        # A timeout or a lost answer: the namespace may have been made all the same. Left, it
        # would refuse the next creation, which on SQLite gets the same id back.
        session.rollback()
        _release_namespace(kube, organization.namespace, claim)
        raise
    except ApiError:
        session.rollback()
        raise
    try:
        session.commit()
    except Exception:
        session.rollback()
        _release_namespace(kube, organization.namespace, claim)
        raise
    return organization


def _check_organization_quota(session: Session, creator: User, limit: int) -> None:
    founded = session.scalar(
        select(func.count())
        .select_from(Organization)
        .where(Organization.created_by_id == creator.id)
    )
    if (founded or 0) >= limit:
        raise ConflictError(
            f"you have founded {founded} organizations, the most one user may "
            f"(SIMPLISMART_QUOTA_ORGANIZATIONS_PER_USER = {limit})"
        )


def _namespace_taken(kube: Kube, namespace: str) -> ApiError:
    """Why the organization's namespace could not be made: one being deleted is only a wait."""
    try:
        existing = kube.read_namespace(namespace)
    except ApiError:
        existing = None
    if existing is not None and existing.terminating:
        return UnavailableError(
            f"namespace {namespace!r} is still being deleted; try again in a few seconds",
            headers={"Retry-After": "5"},
        )
    # Never adopt it: it may hold another installation's (or a wiped database's) objects.
    return ConflictError(
        f"namespace {namespace!r} already exists but is not recorded in this database (left "
        "by an earlier installation?): delete it, or give this installation its own "
        "SIMPLISMART_NAMESPACE_PREFIX"
    )


def _release_namespace(kube: Kube, namespace: str, claim: str) -> None:
    """Delete the namespace of an organization that was not created, if that creation made it.

    Only a namespace bearing the creation's own token is deleted: any other of that name may
    hold someone's objects.
    """
    try:
        found = kube.read_namespace(namespace)
        if found is not None and found.claim == claim and not found.terminating:
            kube.delete_namespace(namespace, found.uid)
    except (NotFoundError, ConflictError):
        return  # gone meanwhile, or another namespace now has its name
    except ApiError as error:
        log.error(
            "namespace %s may be left behind by an organization creation that failed (its "
            "annotation %s is %s); delete it: %s",
            namespace, CLAIM_ANNOTATION, claim, error.message,
        )  # fmt: skip


def join(session: Session, user: User, invite_code: str) -> Organization:
    organization = session.scalars(
        select(Organization).where(Organization.invite_code == invite_code)
    ).one_or_none()
    if organization is None:
        raise NotFoundError(
            "no organization has this invite code",
            [field_error("invite_code", "is not valid")],
        )
    if organization.id == user.organization_id:
        raise ConflictError(f"you are already a member of {organization.name!r}")
    _move(session, user, organization, Role.VIEWER)
    session.commit()
    return organization


def _move(
    session: Session, user: User, organization: Organization, role: Role, *, founding: bool = False
) -> None:
    """Make ``user`` a ``role`` of ``organization``, leaving their previous one with an ADMIN.

    Locks (see :mod:`simplismart.api.crud.admins`) in the order every change takes them: the
    previous organization, then the user, whose membership is then re-read as it is now. A
    founder must still be an ADMIN then: another ADMIN may have demoted them since the route
    checked.
    """
    previous = user.organization_id
    if previous is not None:
        lock_organization(session, previous)
    current = lock_user(session, user.id)
    if current is None or current.organization_id != previous:
        session.rollback()
        raise ConflictError("your membership changed meanwhile; check GET /me and try again")
    if founding and current.role is not Role.ADMIN:
        session.rollback()
        raise ForbiddenError(f"this requires the ADMIN role; you are now {current.role}")
    current.organization = organization
    current.role = role
    session.flush()
    if previous is not None:
        ensure_an_admin_remains(session, previous)


def rotate_invite_code(session: Session, organization: Organization) -> Organization:
    organization.invite_code = new_invite_code()
    session.commit()
    return organization
