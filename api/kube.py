"""Kubernetes access: organization namespaces and the custom resources inside them.

Every call is bounded by a timeout, and every failure is translated here into the API's own
errors: the API server's refusals (404, 409, 422 with the fields it names) come back as the same
4xx, and an unreachable or misbehaving API server as 503, so routes never see a client exception.
"""

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simplismart.api.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    UnavailableError,
    UnprocessableError,
    field_error,
)
from simplismart.crds import GROUP, VERSION, ResourceKind

log = logging.getLogger(__name__)

#: Label on every organization's namespace: which organization row owns it.
ORGANIZATION_LABEL = f"{GROUP}/organization"
#: Annotation on a namespace the API creates: a token only that creation knows, so that when
#: the creation's outcome is unknown (a timeout, a lost answer) the namespace is deleted only
#: if that very creation made it, never one of another installation's with the same name.
CLAIM_ANNOTATION = f"{GROUP}/claim"


#: Objects per page when the watch cache LISTs a kind across all namespaces.
LIST_PAGE = 500


@dataclass(frozen=True, slots=True)
class Listing:
    """Every object of a kind, and the resourceVersion a watch resumes from."""

    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One line of a watch: ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK``."""

    type: str
    object: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Namespace:
    """What the API needs to know of a namespace it may have created."""

    uid: str
    claim: str | None  # the CLAIM_ANNOTATION's token
    terminating: bool  # being deleted: its name is free again once it is gone


class ResourceVersionGoneError(Exception):
    """The watch's resourceVersion was compacted away (HTTP 410): LIST again."""


def namespace_for(prefix: str, organization_id: int) -> str:
    """Deterministic and DNS-safe. A deleted organization's id is never given out again, but
    SQLite gives out a rolled-back creation's: that creation deletes the namespace it made."""
    return f"{prefix}{organization_id}"


class Kube(Protocol):
    """What the routes need from Kubernetes; tests substitute an in-memory double."""

    def ping(self) -> None: ...

    def create_namespace(self, name: str, organization_id: int, claim: str) -> None: ...

    def read_namespace(self, name: str) -> Namespace | None: ...

    def delete_namespace(self, name: str, uid: str) -> None: ...

    def create_object(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        request_fields: Mapping[str, str],
    ) -> dict[str, Any]: ...

    def get_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]: ...

    def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]: ...

    def count_objects(self, kind: ResourceKind, namespace: str) -> int: ...

    def delete_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]: ...

    def list_all(self, kind: ResourceKind) -> Listing: ...

    def watch(
        self, kind: ResourceKind, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]: ...


class KubernetesApi:
    """:class:`Kube` over the real API server, configured from KUBECONFIG or in-cluster."""

    def __init__(self, kubeconfig: str | None, timeout_seconds: float) -> None:
        self._kubeconfig = kubeconfig
        self._timeout = timeout_seconds
        self._client: client.ApiClient | None = None
        self._lock = threading.Lock()
        self._logged_failure: str | None = None  # the configuration error last logged

    def _api_client(self) -> client.ApiClient:
        """Configured on first use, so the API starts (and reports unready) without a cluster."""
        with self._lock:
            if self._client is None:
                configuration = client.Configuration()
                try:
                    if self._kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ:
                        config.load_incluster_config(  # type: ignore[no-untyped-call]
                            client_configuration=configuration
                        )
                    else:
                        config.load_kube_config(  # type: ignore[no-untyped-call]
                            config_file=self._kubeconfig, client_configuration=configuration
                        )
                except (config.ConfigException, OSError) as error:
                    # Its text may name files and hosts of this installation: the log's, not
                    # every caller's. Once while it stays the same, not at every request.
                    if str(error) != self._logged_failure:
                        self._logged_failure = str(error)
                        log.error("Kubernetes is not configured: %s", error)
                    raise UnavailableError(
                        "the Kubernetes API is not configured for this service; try again later"
                    ) from None
                configuration.connection_pool_maxsize = 32
                configuration.retries = 1
                self._client = client.ApiClient(configuration)
            return self._client

    def _custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self._api_client())

    def ping(self) -> None:
        with _translated("the Simplismart API group"):
            self._custom().get_api_resources(GROUP, VERSION, _request_timeout=self._timeout)

    def create_namespace(self, name: str, organization_id: int, claim: str) -> None:
        metadata = {
            "name": name,
            "labels": {ORGANIZATION_LABEL: str(organization_id)},
            "annotations": {CLAIM_ANNOTATION: claim},
        }
        with _translated(f"namespace {name!r}"):
            self._core("POST", "/api/v1/namespaces", {"metadata": metadata})

    def read_namespace(self, name: str) -> Namespace | None:
        try:
            with _translated(f"namespace {name!r}"):
                metadata = self._core("GET", f"/api/v1/namespaces/{name}").get("metadata") or {}
        except NotFoundError:
            return None
        return Namespace(
            uid=str(metadata.get("uid", "")),
            claim=(metadata.get("annotations") or {}).get(CLAIM_ANNOTATION),
            terminating=metadata.get("deletionTimestamp") is not None,
        )

    def delete_namespace(self, name: str, uid: str) -> None:
        """Only the namespace of this uid: not one made again under its name meanwhile."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}
        with _translated(f"namespace {name!r}"):
            self._core("DELETE", f"/api/v1/namespaces/{name}", options)

    def _core(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A call to the core API group without the client's module for it: that module (every
        core resource's methods, each wrapped in a validator) costs some 70 MiB of memory to
        load, for these three calls. Raises the client's exception on a refusal."""
        api = self._api_client()
        json_headers = {"Accept": "application/json", "Content-Type": "application/json"}
        verb, url, headers, payload, _ = api.param_serialize(
            method, path, header_params=json_headers, body=body, auth_settings=["BearerToken"]
        )
        response = api.call_api(verb, url, headers, payload, _request_timeout=self._timeout)
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response.response)
        answer = json.loads(response.read() or b"{}")  # type: ignore[no-untyped-call]
        return answer if isinstance(answer, dict) else {}

    def create_object(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        request_fields: Mapping[str, str],
    ) -> dict[str, Any]:
        body = {
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        with _translated(describe(kind, name), request_fields, namespace=namespace):
            created = self._custom().create_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural, body, _request_timeout=self._timeout
            )
        return _object(created)

    def get_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        with _translated(describe(kind, name), namespace=namespace):
            found = self._custom().get_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural, name, _request_timeout=self._timeout
            )
        return _object(found)

    def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]:
        with _translated(f"{kind.plural} in {namespace!r}"):
            listed = self._custom().list_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural, _request_timeout=self._timeout
            )
        return [_object(item) for item in _object(listed)["items"]]

    def count_objects(self, kind: ResourceKind, namespace: str) -> int:
        """How many there are, from a one-item page and the server's count of the rest."""
        with _translated(f"{kind.plural} in {namespace!r}"):
            page = _object(
                self._custom().list_namespaced_custom_object(
                    GROUP, VERSION, namespace, kind.plural, limit=1, _request_timeout=self._timeout
                )
            )
        remaining = (page.get("metadata") or {}).get("remainingItemCount") or 0
        return len(page["items"]) + int(remaining)

    def delete_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        """Delete and return the object as it was, so the caller can report what it cancelled."""
        current = self.get_object(kind, namespace, name)
        with _translated(describe(kind, name), namespace=namespace):
            self._custom().delete_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                kind.plural,
                name,
                # Only the object we read: a same-named successor created meanwhile stays.
                body=client.V1DeleteOptions(
                    preconditions=client.V1Preconditions(uid=current["metadata"]["uid"])
                ),
                _request_timeout=self._timeout,
            )
        return current

    def list_all(self, kind: ResourceKind) -> Listing:
        """Every namespace's objects, in pages: one consistent snapshot, whatever its size."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            with _translated(f"{kind.plural} in every namespace"):
                page = _object(
                    self._custom().list_cluster_custom_object(
                        GROUP,
                        VERSION,
                        kind.plural,
                        limit=LIST_PAGE,
                        _continue=token,
                        _request_timeout=self._timeout,
                    )
                )
            items.extend(_object(item) for item in page["items"])
            token = page["metadata"].get("continue")
            if not token:
                return Listing(items, str(page["metadata"]["resourceVersion"]))

    def watch(
        self, kind: ResourceKind, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        """Changes after ``resource_version`` until the server ends the watch.

        Read line by line from the raw response: the client's own ``Watch`` retries a 410
        silently from the same version, where the caller has to LIST again instead.
        """
        with _translated(f"the watch of {kind.plural}"):
            try:
                response = self._custom().list_cluster_custom_object(
                    GROUP,
                    VERSION,
                    kind.plural,
                    watch=True,
                    resource_version=resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=timeout_seconds,
                    _preload_content=False,
                    _request_timeout=(self._timeout, timeout_seconds + self._timeout),
                )
            except ApiException as error:
                if error.status == 410:
                    raise ResourceVersionGoneError(resource_version) from None
                raise
            if not isinstance(response, urllib3.BaseHTTPResponse):
                raise UnavailableError("the Kubernetes API sent an unexpected answer")
            try:
                for line in response:
                    if line.strip():
                        yield _watch_event(json.loads(line), resource_version)
            finally:
                response.release_conn()


def _watch_event(line: dict[str, Any], resource_version: str) -> WatchEvent:
    if line.get("type") == "ERROR":
        status = line.get("object") or {}
        if status.get("code") == 410:
            raise ResourceVersionGoneError(resource_version)
        raise UnavailableError(f"the watch failed: {status.get('message', 'no reason given')}")
    return WatchEvent(str(line["type"]), _object(line["object"]))


def _object(value: object) -> dict[str, Any]:
    """The client returns custom objects as parsed JSON, typed as ``object``."""
    if not isinstance(value, dict):
        raise UnavailableError("the Kubernetes API sent an unexpected answer")
    return value


def describe(kind: ResourceKind, name: str) -> str:
    return f"{kind.kind.lower()} {name!r}"


@contextmanager
def _translated(
    subject: str, request_fields: Mapping[str, str] | None = None, namespace: str | None = None
) -> Iterator[None]:
    """Turn client exceptions into :class:`ApiError` about ``subject`` (an object in
    ``namespace``, if it is namespaced)."""
    try:
        yield
    except ApiException as error:
        raise _from_api_exception(error, subject, request_fields or {}, namespace) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("Kubernetes API unreachable: %s", error)
        raise UnavailableError("the Kubernetes API is unreachable; try again later") from None


def _from_api_exception(
    error: ApiException, subject: str, request_fields: Mapping[str, str], namespace: str | None
) -> ApiError:
    status = _status_body(error)
    message = str(status.get("message") or error.reason or "refused")
    if error.status == 404:
        return _not_found(status, subject, namespace)
    if error.status == 409:
        if status.get("reason") == "AlreadyExists":
            name = request_fields.get("metadata.name", "name")
            return ConflictError(f"{subject} already exists", [field_error(name, "is taken")])
        return ConflictError(message)
    if error.status in (400, 422):
        causes = (status.get("details") or {}).get("causes") or []
        errors = [
            field_error(
                request_fields.get(str(cause.get("field", "")), str(cause.get("field") or "body")),
                str(cause.get("message", "")),
            )
            for cause in causes
        ]
        return UnprocessableError(f"Kubernetes refused {subject}: {message}", errors)
    log.error("Kubernetes API answered %s for %s: %s", error.status, subject, message)
    return UnavailableError(f"the Kubernetes API failed ({error.status}); try again later")


def _not_found(status: dict[str, Any], subject: str, namespace: str | None) -> ApiError:
    """A 404 says one of three things. The object is not there: the caller's 404. The namespace
    it would be in is not (an organization's, deleted by hand), or the API server does not
    serve its type at all (no ``Status``, only "404 page not found": the CRDs are not
    installed): faults of the installation, not of the request, and "not found" would send the
    caller looking for the wrong thing (a create answered "deployment 'd1' not found")."""
    details = status.get("details") or {}
    if status.get("kind") != "Status":
        log.error("the Kubernetes API does not serve %s; are the CRDs installed?", subject)
        return UnavailableError(
            "the Kubernetes API does not serve Simplismart's resources (are its CRDs "
            "installed?); try again later"
        )
    if namespace and details.get("kind") == "namespaces" and details.get("name") == namespace:
        log.error("namespace %s of %s is missing from Kubernetes", namespace, subject)
        return UnavailableError(
            f"your organization's namespace {namespace!r} is missing from Kubernetes; "
            "an administrator of the installation must restore it"
        )
    return NotFoundError(f"{subject} not found")


def _status_body(error: ApiException) -> dict[str, Any]:
    """The ``Status`` object the API server sends with a refusal, if it sent one."""
    try:
        body = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}
