"""Helpers shared by the test tiers: Kubernetes access, processes under test, invariant checks."""
