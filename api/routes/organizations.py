"""Organizations: create (ADMIN), join by invite code (anyone), rotate the code (ADMIN)."""

from fastapi import APIRouter, status

from simplismart.api.crud import organizations
from simplismart.api.deps import Admin, AdminMember, CurrentUser, ServicesDep, SessionDep
from simplismart.api.routes.common import AUTHENTICATED, errors
from simplismart.api.routes.strict import StrictRoute
from simplismart.api.schemas.organization import (
    InviteCode,
    OrganizationCreate,
    OrganizationOut,
    OrganizationReply,
)

router = APIRouter(tags=["organizations"], route_class=StrictRoute)


@router.post(
    "/create_organization",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationReply,
    responses=errors(*AUTHENTICATED, 409),
)
def create_organization(
    body: OrganizationCreate, admin: Admin, session: SessionDep, services: ServicesDep
) -> OrganizationReply:
    """Create an organization and its namespace; you become its ADMIN (and leave your old one).

    A user may found a limited number of organizations (409 beyond it).
    """
    organization = organizations.create(session, services.kube, services.settings, admin, body.name)
    return OrganizationReply(
        message=f"organization {organization.name!r} created",
        organization=OrganizationOut.of(organization, with_invite_code=True),
    )


@router.post(
    "/join_organization",
    response_model=OrganizationReply,
    responses=errors(401, 404, 409, 503),
)
def join_organization(
    body: InviteCode, user: CurrentUser, session: SessionDep
) -> OrganizationReply:
    """Join the organization with this invite code as a VIEWER (leaving your current one)."""
    organization = organizations.join(session, user, body.invite_code)
    return OrganizationReply(
        message=f"joined organization {organization.name!r} as VIEWER",
        organization=OrganizationOut.of(organization, with_invite_code=False),
    )


@router.post(
    "/rotate_invite_code", response_model=OrganizationReply, responses=errors(*AUTHENTICATED)
)
def rotate_invite_code(admin: AdminMember, session: SessionDep) -> OrganizationReply:
    """Replace your organization's invite code; the old one stops working at once.

    Members who already joined stay: list them with `GET /members` and remove any who should
    not be there with `POST /remove_member`.
    """
    organization = organizations.rotate_invite_code(session, admin.organization)
    return OrganizationReply(
        message="invite code rotated",
        organization=OrganizationOut.of(organization, with_invite_code=True),
    )
