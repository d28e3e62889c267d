"""Request dependencies: the database session, the caller, their organization and role.

Routes declare what they need in their signature (``SessionDep``, ``CurrentUser``,
``Developer``...) and the checks run before the route body, in one place.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from simplismart.api.core.clients import client_address
from simplismart.api.core.security import InvalidTokenError, TokenSubject, decode_access_token
from simplismart.api.errors import ForbiddenError, UnauthorizedError
from simplismart.api.kube import Kube
from simplismart.api.models import Organization, Role, User
from simplismart.api.services import Services

#: Ids are 32-bit integers in the schema; a larger one cannot name a user.
MAX_ID = 2**31 - 1

#: Rank of each role: a route open to a role is open to every higher one.
RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2}

NO_ORGANIZATION = "you are not a member of any organization: join one with an invite code"

_bearer = HTTPBearer(auto_error=False, description="The access_token from POST /login.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_kube(services: ServicesDep) -> Kube:
    return services.kube


KubeDep = Annotated[Kube, Depends(get_kube)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


#: Closed when the route returns, before its response is sent: a connection is never held while
#: a slow client reads the response (nor for an event stream's hours), so `admission` can count
#: a request out when its response starts.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_client(request: Request, services: ServicesDep) -> str:
    """The caller's address, as rate limits count it."""
    return client_address(request, services.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client)]


def get_token(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenSubject:
    """The bearer token's claims, once its signature and expiry are checked."""
    if credentials is None:
        raise UnauthorizedError("not authenticated: send Authorization: Bearer <token>")
    try:
        return decode_access_token(credentials.credentials, services.settings.jwt_secret)
    except InvalidTokenError:
        raise UnauthorizedError("the token is invalid or expired; log in again") from None


Token = Annotated[TokenSubject, Depends(get_token)]


def get_current_user(session: SessionDep, subject: Token) -> User:
    user = session.get(User, subject.user_id) if subject.user_id <= MAX_ID else None
    # A token issued before the last logout or password change is revoked.
    if user is None or user.token_version != subject.version:
        raise UnauthorizedError("the token is invalid, expired or revoked; log in again")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def _at_least(role: Role) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if RANK[user.role] < RANK[role]:
            raise ForbiddenError(f"this requires the {role} role or higher; you are {user.role}")
        return user

    return check


@dataclass(frozen=True, slots=True)
class Member:
    """A caller together with the organization (and so the namespace) they act in."""

    user: User
    organization: Organization

    @property
    def namespace(self) -> str:
        return self.organization.namespace


def _member_at_least(role: Role) -> Callable[[User], Member]:
    def check(user: CurrentUser) -> Member:
        # Membership first: without an organization no role helps, and a role check would
        # send the caller to ask for a role they could not use.
        if user.organization is None:
            raise ForbiddenError(NO_ORGANIZATION)
        return Member(_at_least(role)(user), user.organization)

    return check


Admin = Annotated[User, Depends(_at_least(Role.ADMIN))]
ViewerMember = Annotated[Member, Depends(_member_at_least(Role.VIEWER))]
DeveloperMember = Annotated[Member, Depends(_member_at_least(Role.DEVELOPER))]
AdminMember = Annotated[Member, Depends(_member_at_least(Role.ADMIN))]
