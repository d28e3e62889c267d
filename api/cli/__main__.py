"""``python -m simplismart.api.cli``: the same as the ``simplismart`` command."""

from simplismart.api.cli import main

main()
