"""The identity schema on SQLite and PostgreSQL: migrations, constraints, races.

These talk to the database directly (no HTTP, no Kubernetes), so the PostgreSQL half needs only
the throwaway PostgreSQL server.
"""

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from simplismart.api.core.db import MIGRATIONS, make_engine, make_sessionmaker, migrate
from simplismart.api.crud import organizations, users
from simplismart.api.errors import ConflictError, NotFoundError
from simplismart.api.models import Base, FirstAdmin, Organization, Role, User
from tests.api.conftest import fresh_postgres_database

T = TypeVar("T")


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.unit),
        pytest.param("postgresql", marks=pytest.mark.integration),
    ]
)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'db.sqlite'}"])
    else:
        urls = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    for url in urls:
        engine = make_engine(url, connections=4)
        yield engine
        engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    migrate(empty_engine)
    return empty_engine


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


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Expression indexes cannot be reflected on SQLite; everything else must agree.
    assert differences == []


def _first_release(engine: Engine, *usernames: str) -> None:
    """The schema of the first release (revision 0001), with these users in it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for username in usernames:
            connection.execute(
                text(
                    "INSERT INTO users (username, password_hash, role) "
                    "VALUES (:username, 'x', 'VIEWER')"
                ),
                {"username": username},
            )


def _schema(engine: Engine) -> tuple[str, list[str]]:
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(revision), sorted(c["name"] for c in inspect(engine).get_columns("users"))


def test_a_migration_that_fails_changes_nothing(empty_engine: Engine) -> None:
    # Something the migration does not expect: an index of the name a later step creates. Its
    # first steps add columns; on SQLite they used to be committed one by one, and the
    # database was left between two revisions, which no later migrate could get past.
    _first_release(empty_engine, "ada")
    before = _schema(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("CREATE INDEX ix_organizations_created_by_id ON users (role)"))
    with pytest.raises(Exception, match="ix_organizations_created_by_id"):
        migrate(empty_engine)
    assert _schema(empty_engine) == before
    with empty_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_organizations_created_by_id"))
    migrate(empty_engine)
    assert _schema(empty_engine)[0] == "0002"


def test_upgrading_two_users_that_would_merge_is_refused_until_one_is_renamed(
    empty_engine: Engine,
) -> None:
    # The first release let both register; now one could log in as the other.
    _first_release(empty_engine, "straße", "STRASSE")
    before = _schema(empty_engine)
    with pytest.raises(RuntimeError, match="nothing was changed") as refused:
        migrate(empty_engine)
    assert "'straße' (id 1) and 'STRASSE' (id 2)" in str(refused.value)
    assert _schema(empty_engine) == before
    with empty_engine.begin() as connection:  # what the message says to do
        connection.execute(text("UPDATE users SET username = 'strasse-2' WHERE id = 2"))
    migrate(empty_engine)
    assert _schema(empty_engine)[0] == "0002"


def test_replicas_migrating_at_once_all_succeed(empty_engine: Engine) -> None:
    """Every API replica's init container migrates as it starts: on an empty database, two at
    once collided on their first CREATE TABLE, and the loser's pod restarted with a back-off."""
    env = {
        **os.environ,
        "SIMPLISMART_DATABASE_URL": empty_engine.url.render_as_string(hide_password=False),
        "SIMPLISMART_DEV_MODE": "1",
    }
    command = [sys.executable, "-m", "simplismart.api", "migrate"]
    replicas = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(3)]
    failures = [p.stderr.read() for p in replicas if p.wait(timeout=120) != 0 and p.stderr]
    assert failures == []
    assert "users" in inspect(empty_engine).get_table_names()


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    before = inspect(engine).get_table_names()
    migrate(engine)
    assert inspect(engine).get_table_names() == before


def test_usernames_are_unique_regardless_of_case(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        users.register(session, "Alice", "password1", may_be_first_admin=True)
    with sessions() as session, pytest.raises(ConflictError):
        users.register(session, "alice", "password1", may_be_first_admin=True)


def test_parallel_first_users_make_exactly_one_admin(sessions: sessionmaker[Session]) -> None:
    def register(index: int) -> Role:
        with sessions() as session:
            return users.register(
                session, f"first{index}", "password1", may_be_first_admin=True
            ).role

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
            return users.register(session, "same", "password1", may_be_first_admin=True).id

    outcomes = in_parallel(8, register)
    created = [o for o in outcomes if isinstance(o, int)]
    assert len(created) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o not in created)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_usernames_are_unique_by_their_canonical_form(sessions: sessionmaker[Session]) -> None:
    """SQLite's lower() folds ASCII only: ÄLICE and älice were two users (finding 7)."""
    with sessions() as session:
        users.register(session, "ÄLICE", "password1", may_be_first_admin=False)
    # Lower case; A plus a combining diaeresis; fullwidth letters (NFKC folds all three).
    for variant in ("\u00e4lice", "A\u0308LICE", "\uff21\u0308\uff4c\uff49\uff43\uff45"):
        with sessions() as session, pytest.raises(ConflictError):
            users.register(session, variant, "password1", may_be_first_admin=False)
    with sessions() as session:
        found = users.get_by_username(session, "älice")
        assert found is not None
        assert found.username == "ÄLICE"


# --- Membership races (finding 1) ---------------------------------------------------------


def _organization(session: Session, name: str) -> Organization:
    organization = Organization(name=name, namespace=f"ns-{name}", invite_code=f"code-{name}")
    session.add(organization)
    session.flush()
    return organization


def _member(session: Session, name: str, organization: Organization, role: Role) -> User:
    user = User(
        username=name,
        username_key=name,
        password_hash="unused",
        role=role,
        organization=organization,
    )
    session.add(user)
    session.flush()
    return user


ROUNDS = 12
#: An ADMIN's change to a member, given (session, admin, member id).
AdminAction = Callable[[Session, User, int], object]


@dataclass(frozen=True)
class RaceOutcome:
    by_admin: object
    joined: object
    member: User
    new_organization_id: int


def _race_with_a_join(
    sessions: sessionmaker[Session], tag: str, action: AdminAction
) -> RaceOutcome:
    """The ADMIN of A acts on member X while X joins B, both released at the same instant.

    Each side's caller is loaded before the race, as each request loads its caller first.
    """
    with sessions() as session:
        a = _organization(session, f"a{tag}")
        b = _organization(session, f"b{tag}")
        admin = _member(session, f"admin-a{tag}", a, Role.ADMIN)
        _member(session, f"admin-b{tag}", b, Role.ADMIN)
        target = _member(session, f"x{tag}", a, Role.VIEWER)
        session.commit()
    with sessions() as admin_session, sessions() as target_session:
        acting_admin = admin_session.get(User, admin.id)
        joining = target_session.get(User, target.id)
        assert acting_admin is not None
        assert joining is not None

        def act(index: int) -> object:
            if index == 0:
                return action(admin_session, acting_admin, target.id)
            return organizations.join(target_session, joining, b.invite_code)

        by_admin, joined = in_parallel(2, act)
    with sessions() as session:
        member = session.get(User, target.id)
        assert member is not None
    return RaceOutcome(by_admin, joined, member, b.id)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_promotion_racing_a_join_never_lands_in_the_joined_organization(
    sessions: sessionmaker[Session], round_: int
) -> None:
    """Finding 1: an ADMIN of A promotes X while X joins B; X must not become ADMIN of B.

    Whatever the order, X ends as a VIEWER of B: joined after the promotion (and left A's
    ADMIN role behind), or joined first, and the promotion found no such member of A.
    """
    outcome = _race_with_a_join(
        sessions,
        str(round_),
        lambda session, admin, member: users.change_role(session, admin, member, Role.ADMIN),
    )
    assert isinstance(outcome.by_admin, (User, NotFoundError)), outcome.by_admin
    assert isinstance(outcome.joined, Organization), outcome.joined
    assert outcome.member.organization_id == outcome.new_organization_id
    assert outcome.member.role is Role.VIEWER


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_removal_racing_a_join_never_removes_the_member_from_the_new_organization(
    sessions: sessionmaker[Session], round_: int
) -> None:
    """The same pattern in remove_member: it applies only to a member of the ADMIN's own."""
    outcome = _race_with_a_join(sessions, str(round_), users.remove_member)
    # Joined B first, and the removal found no one in A; or removed first, and the join
    # (decided for a member of A) was refused with 409. Never removed from B.
    if isinstance(outcome.joined, Organization):
        assert outcome.member.organization_id == outcome.new_organization_id
    else:
        assert isinstance(outcome.joined, ConflictError), outcome.joined
        assert outcome.member.organization_id is None
    assert outcome.member.role is Role.VIEWER


@pytest.mark.unit
def test_an_in_memory_database_is_one_database_for_every_thread() -> None:
    engine = make_engine("sqlite://", connections=4)
    migrate(engine)

    def tables() -> set[str]:
        with engine.connect() as connection:
            query = text("SELECT name FROM sqlite_master WHERE type = 'table'")
            return set(connection.execute(query).scalars())

    with ThreadPoolExecutor(1) as other_thread:
        assert "alembic_version" in other_thread.submit(tables).result()
    engine.dispose()
