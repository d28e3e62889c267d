"""The caller's own account, and the members of an organization as its ADMIN manages them."""

from fastapi import APIRouter

from simplismart.api.crud import users
from simplismart.api.deps import AdminMember, CurrentUser, SessionDep
from simplismart.api.routes.common import AUTHENTICATED, errors
from simplismart.api.routes.strict import StrictRoute
from simplismart.api.schemas.user import (
    MemberListReply,
    MemberOut,
    MemberRef,
    RoleChange,
    UserOut,
    UserReply,
)

router = APIRouter(tags=["users"], route_class=StrictRoute)


@router.get("/me", response_model=UserReply, responses=errors(401, 503))
def me(user: CurrentUser) -> UserReply:
    """Who the token belongs to: role and organization (with its invite code, for ADMINs)."""
    return UserReply(message=f"you are {user.username!r}", user=UserOut.of(user))


@router.post("/update_role", response_model=UserReply, responses=errors(*AUTHENTICATED, 404, 409))
def update_role(body: RoleChange, admin: AdminMember, session: SessionDep) -> UserReply:
    """Change the role of a member of your organization (ADMIN only; one ADMIN must remain)."""
    user = users.change_role(session, admin.user, body.user_id, body.role)
    return UserReply(message=f"{user.username!r} is now {user.role}", user=UserOut.of(user))


@router.get("/members", response_model=MemberListReply, responses=errors(*AUTHENTICATED))
def list_members(admin: AdminMember, session: SessionDep) -> MemberListReply:
    """Every member of your organization with their role (ADMIN only)."""
    members = [MemberOut.of(user) for user in users.members(session, admin.organization.id)]
    return MemberListReply(message=f"{len(members)} member(s)", members=members)


@router.post("/remove_member", response_model=UserReply, responses=errors(*AUTHENTICATED, 404, 409))
def remove_member(body: MemberRef, admin: AdminMember, session: SessionDep) -> UserReply:
    """Take a member out of your organization (ADMIN only; one ADMIN must remain).

    They lose access to its clusters and deployments on their next request, and the invite
    code changes (they knew it): `GET /me` shows the new one. After rotating a leaked invite
    code, remove whoever joined with it.
    """
    user = users.remove_member(session, admin.user, body.user_id)
    return UserReply(
        message=f"{user.username!r} removed from the organization", user=UserOut.of(user)
    )


@router.post("/leave_organization", response_model=UserReply, responses=errors(401, 409, 503))
def leave_organization(user: CurrentUser, session: SessionDep) -> UserReply:
    """Leave your organization; you become a VIEWER of none (its last ADMIN cannot leave)."""
    user = users.leave(session, user)
    return UserReply(message="you left the organization", user=UserOut.of(user))
