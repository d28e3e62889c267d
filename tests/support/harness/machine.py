"""What every benchmark report says about where its numbers were taken."""

import datetime
import os
import platform


def machine() -> str:
    """Where and when the numbers were taken, with the load that shared the machine."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
        f"({platform.machine()}, {platform.system()}); Python {platform.python_version()}; "
        f"load average at the end {load}"
    )
