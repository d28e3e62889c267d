"""The identity database: engine, sessions and schema migrations.

SQLite (the default) gets write-ahead logging and a busy timeout, so that concurrent requests
queue for the write lock instead of failing; uniqueness races then surface as integrity errors
that the routes turn into 409.
"""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

#: Alembic's scripts live beside this package; resolve() follows the editable install's links.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(database_url: str, *, connections: int) -> Engine:
    """An engine whose pool holds up to `connections`: the API asks for one per request that
    admission lets in and one per database check outside it (`services`), so that none of them
    ever waits for a connection."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        pool_size = min(10, connections)  # kept open; the rest are opened when needed
        return create_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=connections - pool_size
        )
    connect_args = {"check_same_thread": False, "timeout": 30}
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args=connect_args, pool_size=connections, max_overflow=0
        )
    else:  # in memory: one connection, the one database, shared by every thread
        engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


#: The PostgreSQL advisory lock that migrations take: any number unique to this application.
MIGRATION_LOCK = 0x51_4D_50_4C  # "SMPL"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent), all or nothing.

    A revision that fails (one refusing to merge two users, say) leaves the database as it was,
    so that it can be fixed and migrated again. PostgreSQL's DDL is transactional; SQLite's is
    too, but Python's driver commits each ``ALTER TABLE`` on its own unless it is told to leave
    transactions to us, which this connection is, for the migration only.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            isolation, driver.isolation_level = driver.isolation_level, None  # type: ignore[union-attr]
        try:
            with connection.begin():
                # One migration at a time (every API replica runs one as it starts): the others
                # wait, then find the schema at its newest revision.
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite:
                driver.isolation_level = isolation  # type: ignore[union-attr]


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
