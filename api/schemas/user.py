"""Users, credentials, tokens and roles."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from simplismart.api.core.usernames import MAX_CANONICAL_LENGTH, canonical_username
from simplismart.api.models import Role, User
from simplismart.api.schemas.common import STORED_TEXT, Reply, Request, VisibleName
from simplismart.api.schemas.organization import OrganizationOut

#: A username as given at login: what registration accepted, then or since.
Username = Annotated[
    str, Field(min_length=1, max_length=150, pattern=STORED_TEXT, examples=["vinay3"])
]


class Credentials(Request):
    username: Username
    password: str = Field(min_length=1, max_length=1024)


def _foldable(username: str) -> str:
    """Refuse a name whose canonical form outgrows its column: folding lengthens some
    characters eighteen-fold (U+FDFA), and PostgreSQL refuses what does not fit."""
    if len(canonical_username(username)) > MAX_CANONICAL_LENGTH:
        raise ValueError(
            f"is longer than {MAX_CANONICAL_LENGTH} characters once case and compatibility "
            "forms are folded: choose a shorter name"
        )
    return username


class Registration(Credentials):
    username: Annotated[Username, VisibleName, AfterValidator(_foldable)]
    password: str = Field(min_length=8, max_length=1024, description="At least 8 characters.")
    bootstrap_token: str | None = Field(
        default=None,
        max_length=1024,
        description=(
            "Outside dev mode, the first user becomes ADMIN only with the installation's "
            "bootstrap token (SIMPLISMART_BOOTSTRAP_TOKEN); ignored afterwards."
        ),
    )


class PasswordChange(Request):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024, description="At least 8 characters.")


class MemberRef(Request):
    user_id: int = Field(strict=True, ge=1, le=2**31 - 1)


class RoleChange(Request):
    user_id: int = Field(strict=True, ge=1, le=2**31 - 1)
    role: Role


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    organization: OrganizationOut | None

    @classmethod
    def of(cls, user: User) -> "UserOut":
        """The user as they may see themselves: the invite code only if they are its ADMIN."""
        organization = None
        if user.organization is not None:
            organization = OrganizationOut.of(
                user.organization, with_invite_code=user.role is Role.ADMIN
            )
        return cls(id=user.id, username=user.username, role=user.role, organization=organization)


class UserReply(Reply):
    user: UserOut


class MemberOut(BaseModel):
    id: int
    username: str
    role: Role

    @classmethod
    def of(cls, user: User) -> "MemberOut":
        return cls(id=user.id, username=user.username, role=user.role)


class MemberListReply(Reply):
    members: list[MemberOut]


class TokenReply(Reply):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")
    expires_at: datetime
    user: UserOut
