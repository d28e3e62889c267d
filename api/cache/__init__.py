"""The watch cache: every organization's Clusters and Deployments, kept current by watches.

Lists and the live stream are served from memory instead of a LIST of the namespace per
request; see :class:`WatchCache`.
"""

from simplismart.api.cache.changes import Change, ChangeFeed, Resume
from simplismart.api.cache.pages import Page, PageToken
from simplismart.api.cache.store import Entry, Store
from simplismart.api.cache.watch import DeploymentFacets, WatchCache

__all__ = [
    "Change",
    "ChangeFeed",
    "DeploymentFacets",
    "Entry",
    "Page",
    "PageToken",
    "Resume",
    "Store",
    "WatchCache",
]
