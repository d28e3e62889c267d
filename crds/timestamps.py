"""RFC 3339 timestamps as the Kubernetes API writes them (UTC, ``Z`` suffix)."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """Millisecond precision: runs last seconds, and ordering by queuedAt needs sub-second ties."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
