"""Registration and login (the only routes that need no token), logout and password change."""

import hmac

from fastapi import APIRouter, status

from simplismart.api.core.security import create_access_token, verify_password
from simplismart.api.core.usernames import canonical_username
from simplismart.api.crud import users
from simplismart.api.deps import ClientAddress, CurrentUser, ServicesDep, SessionDep
from simplismart.api.errors import (
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableError,
    field_error,
)
from simplismart.api.models import User
from simplismart.api.routes.common import errors
from simplismart.api.routes.strict import StrictRoute
from simplismart.api.schemas.user import (
    Credentials,
    PasswordChange,
    Registration,
    TokenReply,
    UserOut,
    UserReply,
)
from simplismart.api.services import Services

router = APIRouter(tags=["users"], route_class=StrictRoute)

#: The same words whether the username is unknown or the password wrong.
BAD_CREDENTIALS = "invalid username or password"


def _too_many(what: str, retry_after: int) -> TooManyRequestsError:
    return TooManyRequestsError(
        f"too many {what}; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _count_guess(services: Services, client: str, username: str, what: str) -> str:
    """Count one password guess at ``username`` from ``client`` (429 past the login limits);
    returns the account it is counted under, for ``login_limiter.succeeded``."""
    account = canonical_username(username)
    retry_after = services.login_limiter.hit(client, account)
    if retry_after is not None:
        raise _too_many(what, retry_after)
    return account


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserReply,
    responses=errors(409, 413, 429, 503),
)
def register(
    body: Registration, session: SessionDep, services: ServicesDep, client: ClientAddress
) -> UserReply:
    """Register a user: a VIEWER with no organization, or the first ADMIN.

    The first user becomes ADMIN in dev mode, and otherwise only with the installation's
    bootstrap token. Registrations per client address are limited per hour.
    """
    count, retry_after = services.registrations.hit(client)
    if count > services.settings.quotas.registrations_per_client:
        raise _too_many("registrations from your address", retry_after)
    user = users.register(
        session,
        body.username,
        body.password,
        may_be_first_admin=_may_be_first_admin(body, services),
    )
    return UserReply(message=f"user {user.username!r} registered", user=UserOut.of(user))


def _may_be_first_admin(body: Registration, services: Services) -> bool:
    settings = services.settings
    if settings.dev_mode:
        return True
    expected, given = settings.bootstrap_token, body.bootstrap_token
    return bool(expected and given and hmac.compare_digest(expected.encode(), given.encode()))


@router.post("/login", response_model=TokenReply, responses=errors(401, 413, 429, 503))
def login(
    body: Credentials, session: SessionDep, services: ServicesDep, client: ClientAddress
) -> TokenReply:
    """Exchange a username and password for a bearer token.

    Attempts are limited per client address and username, per client address, and per
    username for client addresses that never logged in to it (see docs/security.md).
    """
    account = _count_guess(services, client, body.username, "login attempts")
    user = users.get_by_username(session, body.username)
    if not verify_password(body.password, user.password_hash if user else None) or user is None:
        raise UnauthorizedError(BAD_CREDENTIALS)
    services.login_limiter.succeeded(client, account)
    return _token_reply("logged in", user, services)


def _token_reply(message: str, user: User, services: Services) -> TokenReply:
    settings = services.settings
    token = create_access_token(
        user.id, user.token_version, settings.jwt_secret, settings.jwt_expires_seconds
    )
    return TokenReply(
        message=message,
        access_token=token.token,
        expires_in=token.expires_in,
        expires_at=token.expires_at,
        user=UserOut.of(user),
    )


@router.post("/logout", response_model=UserReply, responses=errors(401, 503))
def logout(user: CurrentUser, session: SessionDep) -> UserReply:
    """Revoke every token of your account (on every device); log in again for a new one."""
    user = users.revoke_tokens(session, user)
    return UserReply(message="logged out: all your tokens are revoked", user=UserOut.of(user))


@router.post("/change_password", response_model=TokenReply, responses=errors(401, 429, 503))
def change_password(
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
    client: ClientAddress,
) -> TokenReply:
    """Set a new password: every earlier token is revoked, and a new one is returned.

    The current password is a guess like a login's, counted by the same limits: a stolen token
    must not be a way around them to the password.
    """
    account = _count_guess(services, client, user.username, "password attempts")
    if not verify_password(body.current_password, user.password_hash):
        raise UnprocessableError(
            "the current password is wrong", [field_error("current_password", "is wrong")]
        )
    services.login_limiter.succeeded(client, account)
    if body.new_password == body.current_password:
        raise UnprocessableError(
            "the new password is the current one",
            [field_error("new_password", "must differ from the current password")],
        )
    user = users.change_password(session, user, body.new_password)
    return _token_reply("password changed; earlier tokens are revoked", user, services)
