"""The long-lived objects requests share: settings, database, Kubernetes, Redis, the limiter."""

from dataclasses import dataclass

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from simplismart.api.cache import WatchCache
from simplismart.api.core.config import Settings
from simplismart.api.core.db import make_engine, make_sessionmaker
from simplismart.api.core.ratelimit import LoginLimiter
from simplismart.api.kube import Kube, KubernetesApi


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    kube: Kube
    redis: redis.Redis
    login_limiter: LoginLimiter
    cache: WatchCache

    @classmethod
    def build(cls, settings: Settings, kube: Kube | None = None) -> "Services":
        """Connect lazily: nothing here needs the database, Redis or Kubernetes to be up yet."""
        engine = make_engine(settings.database_url)
        store = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        kube = kube or KubernetesApi(settings.kubeconfig, settings.kube_timeout_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            kube=kube,
            redis=store,
            login_limiter=LoginLimiter(
                settings.login_rate_limit,
                settings.login_rate_window_seconds,
                store,
                # The namespace prefix already tells installations sharing a cluster apart.
                scope=settings.namespace_prefix,
            ),
            cache=WatchCache(kube, settings.namespace_prefix),
        )

    def close(self) -> None:
        self.cache.stop()
        self.redis.close()
        self.engine.dispose()
