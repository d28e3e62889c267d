"""Token attacks: every forged, expired or malformed token gets 401 with WWW-Authenticate."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from simplismart.api.core.security import (
    InvalidTokenError,
    TokenSubject,
    create_access_token,
    decode_access_token,
)
from tests.api.conftest import SECRET
from tests.api.support import Api, Caller


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: object = "1", **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": user_id,
        "ver": 0,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def forged(user: Caller) -> dict[str, str]:
    """Tokens an attacker could make, each wrong in one way."""
    sub = str(user.id)
    header, payload, signature = user.token.split(".")
    elevated = _b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "sub": "1"})
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "wrong key": jwt.encode(_claims(sub), "another-secret-" * 4, algorithm="HS256"),
        "HS512": jwt.encode(_claims(sub), SECRET, algorithm="HS512"),
        "expired": jwt.encode(
            _claims(sub, exp=datetime.now(UTC) - timedelta(seconds=5)), SECRET, algorithm="HS256"
        ),
        "tampered payload": f"{header}.{elevated}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[::-1]}",
        "missing sub": jwt.encode(_claims(None), SECRET, algorithm="HS256"),
        "missing exp": jwt.encode(_claims(sub, exp=None), SECRET, algorithm="HS256"),
        "missing iat": jwt.encode(_claims(sub, iat=None), SECRET, algorithm="HS256"),
        "missing version": jwt.encode(_claims(sub, ver=None), SECRET, algorithm="HS256"),
        "older version": jwt.encode(_claims(sub, ver=-1), SECRET, algorithm="HS256"),
        "version as text": jwt.encode(_claims(sub, ver="0"), SECRET, algorithm="HS256"),
        "unknown user": jwt.encode(_claims("424242"), SECRET, algorithm="HS256"),
        "huge sub": jwt.encode(_claims("9" * 40), SECRET, algorithm="HS256"),
        "not a number": jwt.encode(_claims("alice"), SECRET, algorithm="HS256"),
        "expiry past year 9999": jwt.encode(_claims(sub, exp=10**18), SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
        "empty": "",
    }


ATTACKS = list(forged(Caller("x", f"{_b64({})}.{_b64({})}.c", 1)))


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_tokens_are_refused(api: Api, attack: str) -> None:
    api.user()  # the first user, an ADMIN: the prize of "tampered payload" (sub 1)
    victim = api.user()
    token = forged(victim)[attack]
    answer = api.call("GET", "/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["message"]


@pytest.mark.parametrize("header", ["", "Bearer", "Basic dXNlcjpwYXNz", "bearer", "Token abc"])
def test_malformed_authorization_headers_are_refused(api: Api, header: str) -> None:
    answer = api.call("GET", "/me", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.unit
@pytest.mark.parametrize("sub", [1, 1.5, ["1"], {"id": 1}, True])
def test_a_non_string_subject_is_invalid(sub: object) -> None:
    token = jwt.encode(_claims(sub), SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)


@pytest.mark.unit
def test_issued_tokens_carry_exactly_what_is_needed() -> None:
    token = create_access_token(7, 3, SECRET, 60)
    claims = jwt.decode(token.token, SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "ver", "iat", "exp"}
    assert claims["ver"] == 3
    assert claims["sub"] == "7"
    assert claims["exp"] - claims["iat"] == 60 == token.expires_in
    assert jwt.get_unverified_header(token.token)["alg"] == "HS256"
    assert decode_access_token(token.token, SECRET) == TokenSubject(7, 3, token.expires_at)
