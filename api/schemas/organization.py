"""Organizations and invite codes."""

from typing import Annotated

from pydantic import BaseModel, Field

from simplismart.api.models import Organization
from simplismart.api.schemas.common import STORED_TEXT, Reply, Request, VisibleName


class OrganizationCreate(Request):
    name: Annotated[str, VisibleName] = Field(min_length=1, max_length=100, examples=["org4"])


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
