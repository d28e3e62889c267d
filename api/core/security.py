"""Password hashing and access tokens.

Passwords are hashed with Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane)
rather than the library's 64 MiB default: each hash holds its memory for its whole duration, and
anonymous requests hash, so the cost per hash times the hashes in flight is what an anonymous
flood can make the process allocate. :class:`HashingPool` bounds the hashes in flight.

Tokens are HS256 JWTs whose algorithm is pinned on decode, so a token cannot choose its own
(``none``, or an asymmetric one keyed by our secret). A token carries its user's token version
(``ver``); bumping the version in the database revokes every token issued before.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
T = TypeVar("T")

#: OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


def owasp_argon2() -> PasswordHash:
    return PasswordHash(
        (
            Argon2Hasher(
                memory_cost=ARGON2_MEMORY_KIB,
                time_cost=ARGON2_TIME_COST,
                parallelism=ARGON2_PARALLELISM,
            ),
        )
    )


_hasher = owasp_argon2()
#: Verified against when the username is unknown, so that answering "no such user" costs the
#: same Argon2 time and memory as a wrong password and the timing does not tell which it was.
_DUMMY_HASH = _hasher.hash("not a real password")


class HashingPool:
    """Argon2 runs on ``limit`` dedicated threads; requests hand their hash over and wait.

    Bounding the hashes in flight is not enough: each request thread that ever hashed keeps its
    own malloc arena holding the freed 19 MiB (glibc raises its mmap threshold after the first
    free of such a block), so 40 request threads hashing in turn grew the process by hundreds
    of MiB. With the hashing on ``limit`` threads, only ``limit`` arenas ever hold that memory,
    and the rest of a flood waits in the queue, costing latency, not memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._executor = ThreadPoolExecutor(limit, thread_name_prefix="argon2")

    def run(self, work: Callable[[], T]) -> T:
        return self._executor.submit(work).result()

    def close(self) -> None:
        self._executor.shutdown(wait=False)


#: Replaced at start-up by :func:`bound_concurrent_hashing` from the settings.
hashing_pool = HashingPool(4)


def bound_concurrent_hashing(limit: int) -> None:
    global hashing_pool  # one process-wide pool, set at start-up from the settings
    if hashing_pool.limit != limit:
        hashing_pool.close()
        hashing_pool = HashingPool(limit)


class InvalidTokenError(Exception):
    """The bearer token is missing a claim, expired, tampered with or signed with another key."""


def hash_password(password: str) -> str:
    return hashing_pool.run(lambda: _hasher.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check ``password``; with no hash (unknown user) spend the same time and say no."""
    if password_hash is None:
        hashing_pool.run(lambda: _hasher.verify(password, _DUMMY_HASH))
        return False
    return hashing_pool.run(lambda: _hasher.verify(password, password_hash))


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenSubject:
    user_id: int
    #: The user's token version when the token was issued; a later version revokes it.
    version: int
    expires_at: datetime


def create_access_token(
    user_id: int, token_version: int, secret: str, expires_seconds: int
) -> AccessToken:
    issued = datetime.now(UTC).replace(microsecond=0)
    expires = issued + timedelta(seconds=expires_seconds)
    claims = {"sub": str(user_id), "ver": token_version, "iat": issued, "exp": expires}
    return AccessToken(jwt.encode(claims, secret, algorithm=ALGORITHM), expires, expires_seconds)


def decode_access_token(token: str, secret: str) -> TokenSubject:
    """Whom and which token version the token was issued to, or :class:`InvalidTokenError`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "ver"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from None
    subject, version = claims["sub"], claims["ver"]
    # Digits only and short enough for a 64-bit key: anything else cannot name a user.
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()):
        raise InvalidTokenError("subject is not a user id")
    if len(subject) > 18 or type(version) is not int:
        raise InvalidTokenError("subject or version is malformed")
    try:
        expires = datetime.fromtimestamp(claims["exp"], tz=UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: no token of ours
        raise InvalidTokenError("expiry is out of range") from None
    return TokenSubject(int(subject), version, expires)
