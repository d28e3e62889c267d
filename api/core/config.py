"""The API's settings: one place that reads the ``SIMPLISMART_*`` environment.

Everything is read once at start-up into a frozen :class:`Settings`, so a bad value stops the
process with a message naming the variable instead of failing on the first request.
"""

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "SIMPLISMART_"
#: HS256 keys shorter than the hash output weaken the signature (RFC 7518, section 3.2).
MIN_SECRET_BYTES = 32

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    jwt_secret: str
    jwt_expires_seconds: int
    dev_mode: bool
    redis_url: str
    api_host: str
    api_port: int
    login_rate_limit: int
    login_rate_window_seconds: int
    migrate_on_startup: bool
    kube_timeout_seconds: float
    kubeconfig: str | None
    namespace_prefix: str
    #: Who may set X-Forwarded-For; nobody by default, so a client cannot pick its own address.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    login_client_limit: int
    login_account_limit: int
    hash_concurrency: int
    api_concurrency: int
    max_body_bytes: int
    bootstrap_token: str | None
    metrics_port: int
    quotas: "Quotas"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = _Env(os.environ if environ is None else environ)
        dev_mode = env.flag("DEV_MODE", default=False)
        return cls(
            database_url=database_url(environ),
            jwt_secret=_jwt_secret(env, dev_mode),
            jwt_expires_seconds=env.integer("JWT_EXPIRES_SECONDS", 3600, minimum=1),
            dev_mode=dev_mode,
            redis_url=env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
            api_host=env.text("API_HOST", "0.0.0.0"),  # noqa: S104 - a server listens on all
            api_port=env.integer("API_PORT", 5002, minimum=1, maximum=65535),
            login_rate_limit=env.integer("LOGIN_RATE_LIMIT", 10, minimum=1),
            login_rate_window_seconds=env.integer("LOGIN_RATE_WINDOW_SECONDS", 60, minimum=1),
            migrate_on_startup=env.flag("MIGRATE_ON_STARTUP", default=True),
            kube_timeout_seconds=float(env.integer("KUBE_TIMEOUT_SECONDS", 10, minimum=1)),
            # Kubernetes' own variable, unprefixed; unset means in-cluster or ~/.kube/config.
            namespace_prefix=_namespace_prefix(env.text("NAMESPACE_PREFIX", "sm-org-")),
            kubeconfig=(os.environ if environ is None else environ).get("KUBECONFIG") or None,
            trusted_proxies=_networks(env.text("TRUSTED_PROXIES", "")),
            login_client_limit=env.integer("LOGIN_CLIENT_LIMIT", 50, minimum=1),
            login_account_limit=env.integer("LOGIN_ACCOUNT_LIMIT", 100, minimum=1),
            hash_concurrency=env.integer("HASH_CONCURRENCY", 4, minimum=1),
            api_concurrency=env.integer("API_CONCURRENCY", 32, minimum=1),
            # A valid registration, its password and bootstrap token (1,024 characters each)
            # written as JSON escapes of characters outside the BMP, is some 25 KiB.
            max_body_bytes=env.integer("MAX_BODY_BYTES", 64 << 10, minimum=32 << 10),
            bootstrap_token=_secret(
                "BOOTSTRAP_TOKEN", env.raw("BOOTSTRAP_TOKEN"), env.raw("BOOTSTRAP_TOKEN_FILE")
            ),
            metrics_port=env.integer("API_METRICS_PORT", 9091, minimum=0, maximum=65535),
            quotas=Quotas(
                clusters=env.integer("QUOTA_CLUSTERS", 100, minimum=1),
                deployments=env.integer("QUOTA_DEPLOYMENTS", 50_000, minimum=1),
                cpu=env.integer("QUOTA_CPU", 1_000_000, minimum=1),
                ram=env.integer("QUOTA_RAM", 1_000_000, minimum=1),
                gpu=env.integer("QUOTA_GPU", 100_000, minimum=1),
                organizations_per_user=env.integer("QUOTA_ORGANIZATIONS_PER_USER", 10, minimum=1),
                registrations_per_client=env.integer(
                    "QUOTA_REGISTRATIONS_PER_CLIENT", 20, minimum=1
                ),
            ),
        )


@dataclass(frozen=True, slots=True)
class Quotas:
    """Per-organization and per-client ceilings: generous, so they stop abuse and not real use."""

    clusters: int
    deployments: int
    #: The sum of the organization's clusters' totals, per resource.
    cpu: int
    ram: int
    gpu: int
    #: Organizations one user may have founded (each is a Kubernetes namespace).
    organizations_per_user: int
    #: Registrations from one client address per hour.
    registrations_per_client: int


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The database's URL, alone: all that ``migrate`` needs (not the signing key)."""
    env = _Env(os.environ if environ is None else environ)
    state_dir = Path(env.text("STATE_DIR", "./.state"))
    return env.text("DATABASE_URL", f"sqlite:///{state_dir / 'simplismart.db'}")


class _Env:
    """Typed reads of prefixed variables, each failure naming the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def raw(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name)
        return value if value else None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        text = self.raw(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
            raise ConfigError(f"{PREFIX}{name} must be {bounds}, got {value}")
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        text = self.raw(name)
        if text is None:
            return default
        if text.lower() in {"1", "true", "yes", "on"}:
            return True
        if text.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{PREFIX}{name} must be 1 or 0, got {text!r}")


def _namespace_prefix(prefix: str) -> str:
    """Namespaces are ``<prefix><id>``; distinct prefixes let API databases share a cluster."""
    if not re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[-a-z0-9])?", prefix):
        raise ConfigError(
            f"{PREFIX}NAMESPACE_PREFIX must be at most 40 lowercase letters, digits and '-', "
            f"starting with a letter, got {prefix!r}"
        )
    return prefix


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR ranges, e.g. ``10.0.0.0/8,fd00::/8``."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{PREFIX}TRUSTED_PROXIES must be comma-separated addresses or CIDR ranges, "
                f"got {item!r}"
            ) from None
    return tuple(networks)


def _secret(name: str, secret: str | None, secret_file: str | None) -> str | None:
    """A secret given as ``<name>``, or else read from the file ``<name>_FILE`` names."""
    if secret is None and secret_file is not None:
        try:
            secret = Path(secret_file).read_text().strip() or None
        except OSError as error:
            raise ConfigError(
                f"cannot read {PREFIX}{name}_FILE ({secret_file}): {error.strerror}"
            ) from None
    return secret


def _jwt_secret(env: _Env, dev_mode: bool) -> str:
    """The signing key, from the variable or the file; only dev mode may make one up."""
    source = f"{PREFIX}JWT_SECRET" if env.raw("JWT_SECRET") else f"{PREFIX}JWT_SECRET_FILE"
    secret = _secret("JWT_SECRET", env.raw("JWT_SECRET"), env.raw("JWT_SECRET_FILE"))
    if secret is None:
        if not dev_mode:
            raise ConfigError(
                f"no JWT signing key: set {PREFIX}JWT_SECRET or {PREFIX}JWT_SECRET_FILE "
                f"(at least {MIN_SECRET_BYTES} bytes), or {PREFIX}DEV_MODE=1 for a throwaway one"
            )
        log.warning("dev mode: generated a random JWT signing key; tokens stop working on restart")
        return secrets.token_urlsafe(48)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{source} is too short: use at least {MIN_SECRET_BYTES} bytes")
    return secret
