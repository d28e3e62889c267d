"""Pages of a list: at most ``limit`` entries, and an opaque token to ask for the next ones.

The token names the last entry sent; the next page starts after it in name order. Entries
created or deleted between two pages therefore never shift the others (nothing is sent twice
or skipped because of them), as with Kubernetes' own ``continue``.
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic

from simplismart.api.cache.store import Entry, Facets
from simplismart.api.errors import UnprocessableError, field_error

#: The largest page; without a limit a list is sent whole, as the original API did.
MAX_LIMIT = 10_000


class PageToken:
    """``continue`` as the client sees it: base64 of a small JSON object."""

    @staticmethod
    def encode(last_name: str) -> str:
        raw = json.dumps({"after": last_name}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(token: str) -> str:
        """The name to resume after, or a 422 naming the ``continue`` parameter."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            after = json.loads(raw)["after"]
        except (binascii.Error, ValueError, TypeError, KeyError):
            after = None
        if not isinstance(after, str):
            raise UnprocessableError(
                "the continue token is not one this API gave out",
                [field_error("continue", "is not a token from a previous page")],
            )
        return after


@dataclass(frozen=True, slots=True)
class Page(Generic[Facets]):
    entries: list[Entry[Facets]]
    next_token: str | None

    @classmethod
    def take(
        cls,
        entries: Iterable[Entry[Facets]],
        limit: int | None,
        keep: Callable[[Facets], bool] = lambda _: True,
    ) -> "Page[Facets]":
        """The first ``limit`` entries that ``keep``; a token when one more exists after them."""
        taken: list[Entry[Facets]] = []
        for entry in entries:
            if not keep(entry.facets):
                continue
            if limit is not None and len(taken) == limit:
                return cls(taken, PageToken.encode(taken[-1].name))
            taken.append(entry)
        return cls(taken, None)

    def json(self, items_key: str, message: str) -> bytes:
        """The reply body, joined from each entry's stored JSON instead of encoding anew.

        The head is ``{"message": ..., "continue": ...`` without its closing brace, so that the
        items can follow as the last key.
        """
        head = json.dumps({"message": message, "continue": self.next_token})[:-1].encode()
        items = b",".join(entry.json for entry in self.entries)
        return head + b', "' + items_key.encode() + b'": [' + items + b"]}"
