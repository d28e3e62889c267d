"""Security: canonical usernames, token versions, and who founded each organization.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from simplismart.api.core.usernames import MAX_CANONICAL_LENGTH, canonical_username

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table(
    "users", sa.column("id", sa.Integer()), sa.column("username"), sa.column("username_key")
)


def upgrade() -> None:
    keys = _username_keys()
    op.add_column(
        "users", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
    )
    # Filled in below; the empty default only lets existing rows take the NOT NULL column.
    op.add_column(
        "users",
        sa.Column(
            "username_key",
            sa.String(length=MAX_CANONICAL_LENGTH),
            server_default="",
            nullable=False,
        ),
    )
    connection = op.get_bind()
    for user_id, key in keys.items():
        connection.execute(_users.update().where(_users.c.id == user_id).values(username_key=key))
    op.drop_index("uq_users_username_lower", table_name="users")
    op.create_index(op.f("ix_users_username_key"), "users", ["username_key"], unique=True)
    op.add_column("organizations", sa.Column("created_by_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_organizations_created_by_id"), "organizations", ["created_by_id"])


def _username_keys() -> dict[int, str]:
    """Each user's canonical username (computed in Python: the databases fold differently),
    refusing to merge two users, before anything is changed."""
    owners: dict[str, tuple[int, str]] = {}
    for user_id, username in op.get_bind().execute(sa.select(_users.c.id, _users.c.username)):
        key = canonical_username(username)
        if key in owners:
            first_id, first = owners[key]
            raise RuntimeError(
                f"users {first!r} (id {first_id}) and {username!r} (id {user_id}) have the same "
                "canonical username, so either could log in as the other: rename one of them "
                f"(the username column of the users row with id {user_id}) and migrate again; "
                "nothing was changed"
            )
        owners[key] = (user_id, username)
    return {user_id: key for key, (user_id, _) in owners.items()}


def downgrade() -> None:
    op.drop_index(op.f("ix_organizations_created_by_id"), table_name="organizations")
    op.drop_column("organizations", "created_by_id")
    op.drop_index(op.f("ix_users_username_key"), table_name="users")
    op.create_index(
        "uq_users_username_lower", "users", [sa.func.lower(sa.column("username"))], unique=True
    )
    op.drop_column("users", "username_key")
    op.drop_column("users", "token_version")
