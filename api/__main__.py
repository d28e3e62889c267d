"""``python -m simplismart.api [serve]`` runs the API; ``... migrate`` upgrades the schema."""

import argparse
import logging
import sys

import uvicorn

from simplismart.api.app import create_app
from simplismart.api.core.config import ConfigError, Settings, database_url
from simplismart.api.core.db import make_engine, migrate
from simplismart.api.metrics import serve_metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simplismart.api")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate"],
        help="serve the API (default) or only bring the database schema up to date",
    )
    command = parser.parse_args(argv).command
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if command == "migrate":
        engine = make_engine(database_url(), connections=1)
        migrate(engine)
        engine.dispose()
        logging.getLogger("simplismart.api").info("database schema is up to date")
        return 0
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        logging.getLogger("simplismart.api").error("refusing to start: %s", error)
        return 2
    app = create_app(settings)
    if settings.metrics_port:
        serve_metrics(app.state.metrics, settings.api_host, settings.metrics_port)
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        # Uvicorn would otherwise believe X-Forwarded-For from loopback; the app decides whom
        # to believe, from SIMPLISMART_TRUSTED_PROXIES (simplismart.api.core.clients).
        proxy_headers=False,
        forwarded_allow_ips="",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
