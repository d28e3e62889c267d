"""The names of the ways to choose a selection."""

import enum


class Strategy(enum.StrEnum):
    """How `solve` searches; AUTO picks by queue length the way the original scheduler did."""

    AUTO = "auto"
    COMBINATIONS = "combinations"
    GENETIC = "genetic"
    OPTIMAL = "optimal"
