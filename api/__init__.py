"""The FastAPI facade: the original REST endpoints over Kubernetes custom resources.

Identity (users, organizations, roles) lives in SQL; clusters and deployments are custom
resources in the caller's organization's namespace. Run it with ``python -m simplismart.api``.
"""
