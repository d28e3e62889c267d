"""Password hashing and access tokens.

Passwords are hashed with Argon2 (pwdlib). Tokens are HS256 JWTs whose algorithm is pinned on
decode, so a token cannot choose its own (``none``, or an asymmetric one keyed by our secret).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"

_hasher = PasswordHash((Argon2Hasher(),))
#: Verified against when the username is unknown, so that answering "no such user" costs the
#: same Argon2 time as a wrong password and the timing does not tell which it was.
_DUMMY_HASH = _hasher.hash("not a real password")


class InvalidTokenError(Exception):
    """The bearer token is missing a claim, expired, tampered with or signed with another key."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check ``password``; with no hash (unknown user) spend the same time and say no."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime
    expires_in: int


def create_access_token(user_id: int, secret: str, expires_seconds: int) -> AccessToken:
    issued = datetime.now(UTC).replace(microsecond=0)
    expires = issued + timedelta(seconds=expires_seconds)
    claims = {"sub": str(user_id), "iat": issued, "exp": expires}
    return AccessToken(jwt.encode(claims, secret, algorithm=ALGORITHM), expires, expires_seconds)


def decode_access_token(token: str, secret: str) -> int:
    """The user id the token was issued to, or :class:`InvalidTokenError`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from None
    subject = claims["sub"]
    # Digits only and short enough for a 64-bit key: anything else cannot name a user.
    if not (subject.isascii() and subject.isdigit() and len(subject) <= 18):
        raise InvalidTokenError("subject is not a user id")
    return int(subject)
