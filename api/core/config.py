"""The API's settings: one place that reads the ``SIMPLISMART_*`` environment.

Everything is read once at start-up into a frozen :class:`Settings`, so a bad value stops the
process with a message naming the variable instead of failing on the first request. Each field
names its variable; pydantic parses and bounds it. What comes from elsewhere (a secret from the
file its ``_FILE`` variable names, the database under the state directory) is resolved first.
"""

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

PREFIX = "SIMPLISMART_"
#: HS256 keys shorter than the hash output weaken the signature (RFC 7518, section 3.2).
MIN_SECRET_BYTES = 32

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Fields by name in code, by their variable's name from the environment.
_BY_VARIABLE = ConfigDict(frozen=True, populate_by_name=True, allow_inf_nan=False)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Quotas(BaseModel):
    """Per-organization and per-client ceilings: generous, so they stop abuse and not real use."""

    model_config = _BY_VARIABLE

    clusters: int = Field(100, ge=1, validation_alias="SIMPLISMART_QUOTA_CLUSTERS")
    deployments: int = Field(50_000, ge=1, validation_alias="SIMPLISMART_QUOTA_DEPLOYMENTS")
    #: The sum of the organization's clusters' totals, per resource.
    cpu: int = Field(1_000_000, ge=1, validation_alias="SIMPLISMART_QUOTA_CPU")
    ram: int = Field(1_000_000, ge=1, validation_alias="SIMPLISMART_QUOTA_RAM")
    gpu: int = Field(100_000, ge=1, validation_alias="SIMPLISMART_QUOTA_GPU")
    #: Organizations one user may have founded (each is a Kubernetes namespace).
    organizations_per_user: int = Field(
        10, ge=1, validation_alias="SIMPLISMART_QUOTA_ORGANIZATIONS_PER_USER"
    )
    #: Registrations from one client address per hour.
    registrations_per_client: int = Field(
        20, ge=1, validation_alias="SIMPLISMART_QUOTA_REGISTRATIONS_PER_CLIENT"
    )


class Settings(BaseModel):
    model_config = _BY_VARIABLE

    database_url: str  # resolved by `from_env`: see `database_url`
    dev_mode: bool = Field(False, validation_alias="SIMPLISMART_DEV_MODE")
    # After dev_mode, which its check reads; the file's content when SIMPLISMART_JWT_SECRET_FILE
    # is given instead.
    jwt_secret: str = Field(validation_alias="SIMPLISMART_JWT_SECRET")
    jwt_expires_seconds: int = Field(3600, ge=1, validation_alias="SIMPLISMART_JWT_EXPIRES_SECONDS")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="SIMPLISMART_REDIS_URL")
    # A server listens on every address unless told otherwise.
    api_host: str = Field("0.0.0.0", validation_alias="SIMPLISMART_API_HOST")  # noqa: S104
    api_port: int = Field(5002, ge=1, le=65535, validation_alias="SIMPLISMART_API_PORT")
    login_rate_limit: int = Field(10, ge=1, validation_alias="SIMPLISMART_LOGIN_RATE_LIMIT")
    login_rate_window_seconds: int = Field(
        60, ge=1, validation_alias="SIMPLISMART_LOGIN_RATE_WINDOW_SECONDS"
    )
    migrate_on_startup: bool = Field(True, validation_alias="SIMPLISMART_MIGRATE_ON_STARTUP")
    kube_timeout_seconds: float = Field(
        10.0, ge=1, validation_alias="SIMPLISMART_KUBE_TIMEOUT_SECONDS"
    )
    #: Kubernetes' own variable, unprefixed; unset means in-cluster or ~/.kube/config.
    kubeconfig: str | None = Field(None, validation_alias="KUBECONFIG")
    #: Namespaces are ``<prefix><id>``; distinct prefixes let API databases share a cluster.
    namespace_prefix: str = Field("sm-org-", validation_alias="SIMPLISMART_NAMESPACE_PREFIX")
    #: Who may set X-Forwarded-For; nobody by default, so a client cannot pick its own address.
    trusted_proxies: tuple[Network, ...] = Field((), validation_alias="SIMPLISMART_TRUSTED_PROXIES")
    login_client_limit: int = Field(50, ge=1, validation_alias="SIMPLISMART_LOGIN_CLIENT_LIMIT")
    login_account_limit: int = Field(100, ge=1, validation_alias="SIMPLISMART_LOGIN_ACCOUNT_LIMIT")
    hash_concurrency: int = Field(4, ge=1, validation_alias="SIMPLISMART_HASH_CONCURRENCY")
    api_concurrency: int = Field(32, ge=1, validation_alias="SIMPLISMART_API_CONCURRENCY")
    # A valid registration, its password and bootstrap token (1,024 characters each) written as
    # JSON escapes of characters outside the BMP, is some 25 KiB.
    max_body_bytes: int = Field(
        64 << 10, ge=32 << 10, validation_alias="SIMPLISMART_MAX_BODY_BYTES"
    )
    #: Also from the file SIMPLISMART_BOOTSTRAP_TOKEN_FILE names.
    bootstrap_token: str | None = Field(None, validation_alias="SIMPLISMART_BOOTSTRAP_TOKEN")
    metrics_port: int = Field(9091, ge=0, le=65535, validation_alias="SIMPLISMART_API_METRICS_PORT")
    quotas: Quotas = Field(default_factory=Quotas)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = _given(environ)
        resolved = {
            "database_url": database_url(env),
            # Always given, so that its check runs even when it is not.
            "SIMPLISMART_JWT_SECRET": _secret("SIMPLISMART_JWT_SECRET", env) or "",
            "SIMPLISMART_BOOTSTRAP_TOKEN": _secret("SIMPLISMART_BOOTSTRAP_TOKEN", env),
            "quotas": env,
        }
        given = {**env, **{name: value for name, value in resolved.items() if value is not None}}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise ConfigError("; ".join(map(_problem, error.errors()))) from None

    @field_validator("jwt_secret")
    @classmethod
    def _signing_key(cls, secret: str, info: ValidationInfo) -> str:
        """The signing key given, or one made up in dev mode alone, which says so."""
        if not secret:
            if not info.data.get("dev_mode"):
                raise ValueError(
                    f"is not set, nor {PREFIX}JWT_SECRET_FILE: the API needs a JWT signing key "
                    f"(at least {MIN_SECRET_BYTES} bytes), or {PREFIX}DEV_MODE=1 for a "
                    "throwaway one"
                )
            log.warning(
                "dev mode: generated a random JWT signing key; tokens stop working on restart"
            )
            return secrets.token_urlsafe(48)
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"(or the file {PREFIX}JWT_SECRET_FILE names) is too short: use at least "
                f"{MIN_SECRET_BYTES} bytes"
            )
        return secret

    @field_validator("namespace_prefix")
    @classmethod
    def _namespace_prefix(cls, prefix: str) -> str:
        if not re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[-a-z0-9])?", prefix):
            raise ValueError(
                "must be at most 40 lowercase letters, digits and '-', starting with a letter, "
                f"got {prefix!r}"
            )
        return prefix

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """Comma-separated addresses or CIDR ranges, e.g. ``10.0.0.0/8,fd00::/8``."""
        if not isinstance(value, str):
            return value
        networks = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"must be comma-separated addresses or CIDR ranges, got {item!r}"
                ) from None
        return tuple(networks)


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database's URL, alone: all that ``migrate`` needs (not the signing key)."""
    env = _given(environ)
    state_dir = Path(env.get("SIMPLISMART_STATE_DIR", "./.state"))
    return env.get("SIMPLISMART_DATABASE_URL", f"sqlite:///{state_dir / 'simplismart.db'}")


def _given(environ: Mapping[str, str] | None) -> dict[str, str]:
    """Our variables that are set: empty counts as unset, and no other variable can pass for a
    field (a lowercase ``dev_mode`` is not a setting)."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in environ.items()
        if value and (name.startswith(PREFIX) or name == "KUBECONFIG")
    }


def _problem(error: ErrorDetails) -> str:
    """One refused value: the variable and why, with the value unless it may be a secret."""
    variable = error["loc"][-1]
    if error["type"] == "value_error":  # our own checks: the message says all, secrets unshown
        return f"{variable} {error.get('ctx', {}).get('error')}"
    return (
        f"{variable} {error['msg'].replace('Input should be', 'must be')}, got {error['input']!r}"
    )


def _secret(variable: str, env: Mapping[str, str]) -> str | None:
    """A secret given in ``variable``, or else read from the file ``<variable>_FILE`` names."""
    secret, secret_file = env.get(variable), env.get(f"{variable}_FILE")
    if secret is None and secret_file is not None:
        try:
            secret = Path(secret_file).read_text().strip() or None
        except OSError as error:
            raise ConfigError(
                f"cannot read {variable}_FILE ({secret_file}): {error.strerror}"
            ) from None
    return secret
