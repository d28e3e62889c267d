"""The caller's own account, and role changes by an organization's ADMIN."""

from fastapi import APIRouter

from simplismart.api.crud import users
from simplismart.api.deps import AdminMember, CurrentUser, SessionDep
from simplismart.api.routes.common import AUTHENTICATED, errors
from simplismart.api.schemas.user import RoleChange, UserOut, UserReply

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserReply, responses=errors(401, 503))
def me(user: CurrentUser) -> UserReply:
    """Who the token belongs to: role and organization (with its invite code, for ADMINs)."""
    return UserReply(message=f"you are {user.username!r}", user=UserOut.of(user))


@router.post("/update_role", response_model=UserReply, responses=errors(*AUTHENTICATED, 404, 409))
def update_role(body: RoleChange, admin: AdminMember, session: SessionDep) -> UserReply:
    """Change the role of a member of your organization (ADMIN only; one ADMIN must remain)."""
    user = users.change_role(session, admin.user, body.user_id, body.role)
    return UserReply(message=f"{user.username!r} is now {user.role}", user=UserOut.of(user))
