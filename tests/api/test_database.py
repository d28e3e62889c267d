"""The identity schema on SQLite and PostgreSQL: migrations, constraints, races.

These talk to the database directly (no HTTP, no Kubernetes), so the PostgreSQL half needs only
the throwaway PostgreSQL server.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from simplismart.api.core.db import make_engine, make_sessionmaker, migrate
from simplismart.api.crud import users
from simplismart.api.errors import ConflictError
from simplismart.api.models import Base, FirstAdmin, Role, User
from tests.api.conftest import fresh_postgres_database

T = TypeVar("T")


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.unit),
        pytest.param("postgresql", marks=pytest.mark.integration),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'db.sqlite'}"])
    else:
        urls = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    for url in urls:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


def in_parallel(count: int, work: Callable[[int], T]) -> list[T | Exception]:
    """Run ``work(i)`` on ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T | Exception:
        barrier.wait()
        try:
            return work(index)
        except Exception as error:
            return error

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Expression indexes cannot be reflected on SQLite; everything else must agree.
    assert [d for d in differences if "username_lower" not in str(d)] == []


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    before = inspect(engine).get_table_names()
    migrate(engine)
    assert inspect(engine).get_table_names() == before


def test_usernames_are_unique_regardless_of_case(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        users.register(session, "Alice", "password1")
    with sessions() as session, pytest.raises(ConflictError):
        users.register(session, "alice", "password1")


def test_parallel_first_users_make_exactly_one_admin(sessions: sessionmaker[Session]) -> None:
    def register(index: int) -> Role:
        with sessions() as session:
            return users.register(session, f"first{index}", "password1").role

    outcomes = in_parallel(8, register)
    assert sorted(map(str, outcomes)) == ["ADMIN"] + ["VIEWER"] * 7
    with sessions() as session:
        admins = session.scalars(select(User).where(User.role == Role.ADMIN)).all()
        claim = session.get(FirstAdmin, 1)
        assert claim is not None
        assert [admin.id for admin in admins] == [claim.user_id]


def test_parallel_registrations_of_one_name_make_one_user(
    sessions: sessionmaker[Session],
) -> None:
    def register(_index: int) -> int:
        with sessions() as session:
            return users.register(session, "same", "password1").id

    outcomes = in_parallel(8, register)
    created = [o for o in outcomes if isinstance(o, int)]
    assert len(created) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o not in created)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
