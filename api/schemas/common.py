"""Shapes shared by every route: the ``message`` every body carries and the error body."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from simplismart.crds.models import MAX_AMOUNT

#: Text that is stored in the database: no control characters (PostgreSQL refuses NUL outright,
#: and the rest only ever arrives by mistake or in an attack).
STORED_TEXT = r"^[^\x00-\x1f\x7f]*$"


#: Characters that draw nothing yet are printable to Python: Unicode's default-ignorable code
#: points outside the format category (which ``isprintable`` refuses already), such as the
#: combining grapheme joiner, variation selectors and the Hangul fillers, and the blank Braille
#: pattern. "mallory" followed by one of them would show as mallory.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]"
)


def _visible(text: str) -> str:
    """Refuse what would show as someone else's name: invisible and format characters
    (zero-width spaces, direction marks, variation selectors), separators other than the space,
    blank text and surrounding spaces. Case and compatibility forms are folded by
    `canonical_username`."""
    if not text.isprintable() or _INVISIBLE.search(text) or text != text.strip() or not text:
        raise ValueError(
            "must be visible text: no control, invisible or format characters, and no "
            "leading or trailing spaces"
        )
    return text


#: A name people read and tell apart: a new username or an organization's name.
VisibleName = AfterValidator(_visible)

#: An image reference or a URL (the original clients send one): visible ASCII, no spaces. Not
#: any printable Unicode, whose four-byte characters made a 2,048-character path take 8 KiB in
#: every API replica's cache, per deployment.
IMAGE_TEXT = r"^[!-~]+$"

#: A Kubernetes object name (a DNS label), as the CRDs require for clusters and deployments.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="Lowercase letters, digits and '-'; starts and ends with a letter or digit.",
        examples=["cluster1"],
    ),
]
#: Whole units of a resource; strict, so ``"5"``, ``5.0`` and ``true`` are refused, not coerced.
Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT, examples=[4])]


class Request(BaseModel):
    """A request body: unknown fields are refused so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    message: str = Field(description="What happened, in words.")


class FieldError(BaseModel):
    field: str = Field(description="The request field at fault; `body` for the body as a whole.")
    message: str


class ErrorBody(Reply):
    errors: list[FieldError] = Field(default_factory=list)
