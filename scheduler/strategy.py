"""The names of the ways to choose a selection."""

import enum


class Strategy(enum.StrEnum):
    """How `solve` searches.

    AUTO enumerates short queues like the original scheduler; on long ones it runs HiGHS
    first and the genetic search only when HiGHS cannot prove the optimum in time.
    """

    AUTO = "auto"
    COMBINATIONS = "combinations"
    GENETIC = "genetic"
    OPTIMAL = "optimal"
