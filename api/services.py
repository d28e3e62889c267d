"""The long-lived objects requests share: settings, database, Kubernetes, Redis, the limiter."""

from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from simplismart.api.admission import PROBE_CONNECTIONS
from simplismart.api.cache import WatchCache
from simplismart.api.core.config import Settings
from simplismart.api.core.db import make_engine, make_sessionmaker
from simplismart.api.core.ratelimit import FixedWindow, LoginLimiter, LoginLimits
from simplismart.api.core.security import bound_concurrent_hashing
from simplismart.api.core.streams import ACCESS_CHECKS, OpenStreams
from simplismart.api.kube import Kube, KubernetesApi


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    kube: Kube
    redis: redis.Redis
    login_limiter: LoginLimiter
    #: Registrations per client address per hour.
    registrations: FixedWindow
    cache: WatchCache
    streams: OpenStreams

    @classmethod
    def build(cls, settings: Settings, kube: Kube | None = None) -> "Services":
        """Connect lazily: nothing here needs the database, Redis or Kubernetes to be up yet."""
        engine = make_engine(
            settings.database_url,
            connections=settings.api_concurrency + ACCESS_CHECKS + PROBE_CONNECTIONS,
        )
        bound_concurrent_hashing(settings.hash_concurrency)
        store = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        kube = kube or KubernetesApi(settings.kubeconfig, settings.kube_timeout_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            kube=kube,
            redis=store,
            login_limiter=LoginLimiter(
                LoginLimits(
                    per_client_and_account=settings.login_rate_limit,
                    per_client=settings.login_client_limit,
                    per_account=settings.login_account_limit,
                    window_seconds=settings.login_rate_window_seconds,
                ),
                store,
                # The namespace prefix already tells installations sharing a cluster apart.
                scope=settings.namespace_prefix,
            ),
            registrations=FixedWindow(
                store, f"simplismart:{settings.namespace_prefix}:register", window_seconds=3600
            ),
            cache=WatchCache(kube, settings.namespace_prefix),
            streams=OpenStreams(),
        )

    def close(self) -> None:
        self.cache.stop()
        self.redis.close()
        self.engine.dispose()
