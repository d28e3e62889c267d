"""The canonical form of a username: what uniqueness and login compare.

SQLite's ``lower()`` folds ASCII only, so ``ÄLICE`` and ``älice`` were two users and ``ÄLICE``
could never log in. Python folds once, the same way on every database: NFKC (so compatibility
forms such as fullwidth letters or ligatures match their plain letters), then Unicode case
folding, then NFKC again because folding can produce non-normalised text.
"""

import unicodedata

#: Folding can lengthen text (``ß`` -> ``ss``); the column leaves room for that.
MAX_CANONICAL_LENGTH = 600


def canonical_username(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
