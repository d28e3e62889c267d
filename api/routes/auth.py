"""Registration and login: the only routes that need no token."""

from fastapi import APIRouter, Request, status

from simplismart.api.core.security import create_access_token, verify_password
from simplismart.api.crud import users
from simplismart.api.deps import ServicesDep, SessionDep
from simplismart.api.errors import TooManyRequestsError, UnauthorizedError
from simplismart.api.routes.common import errors
from simplismart.api.schemas.user import Credentials, Registration, TokenReply, UserOut, UserReply

router = APIRouter(tags=["users"])

#: The same words whether the username is unknown or the password wrong.
BAD_CREDENTIALS = "invalid username or password"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserReply,
    responses=errors(409, 503),
)
def register(body: Registration, session: SessionDep) -> UserReply:
    """Register a user: a VIEWER with no organization, or the ADMIN if it is the first one."""
    user = users.register(session, body.username, body.password)
    return UserReply(message=f"user {user.username!r} registered", user=UserOut.of(user))


@router.post("/login", response_model=TokenReply, responses=errors(401, 429, 503))
def login(
    body: Credentials, request: Request, session: SessionDep, services: ServicesDep
) -> TokenReply:
    """Exchange a username and password for a bearer token."""
    client = request.client.host if request.client else "unknown"
    retry_after = services.login_limiter.hit(client, body.username)
    if retry_after is not None:
        raise TooManyRequestsError(
            f"too many login attempts; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
    user = users.get_by_username(session, body.username)
    if not verify_password(body.password, user.password_hash if user else None) or user is None:
        raise UnauthorizedError(BAD_CREDENTIALS)
    settings = services.settings
    token = create_access_token(user.id, settings.jwt_secret, settings.jwt_expires_seconds)
    return TokenReply(
        message="logged in",
        access_token=token.token,
        expires_in=token.expires_in,
        expires_at=token.expires_at,
        user=UserOut.of(user),
    )
