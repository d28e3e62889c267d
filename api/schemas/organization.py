"""Organizations and invite codes."""

from pydantic import BaseModel, Field

from simplismart.api.models import Organization
from simplismart.api.schemas.common import STORED_TEXT, Reply, Request


class OrganizationCreate(Request):
    name: str = Field(min_length=1, max_length=100, pattern=STORED_TEXT, examples=["org4"])


class InviteCode(Request):
    invite_code: str = Field(min_length=1, max_length=64, pattern=STORED_TEXT)


class OrganizationOut(BaseModel):
    id: int
    name: str
    namespace: str = Field(description="The Kubernetes namespace holding its objects.")
    invite_code: str | None = Field(description="Shown to the organization's ADMINs only.")

    @classmethod
    def of(cls, organization: Organization, *, with_invite_code: bool) -> "OrganizationOut":
        return cls(
            id=organization.id,
            name=organization.name,
            namespace=organization.namespace,
            invite_code=organization.invite_code if with_invite_code else None,
        )


class OrganizationReply(Reply):
    organization: OrganizationOut
