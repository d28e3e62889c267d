"""HEAD is answered as GET without the body, over HTTP to a real server (which drops it)."""

from tests.api.support import Api


def test_head_answers_what_get_would_without_the_body(live: Api) -> None:
    org = live.organization()
    for path, caller in (("/healthz", None), ("/clusters", org.viewer), ("/me", org.viewer)):
        headers = caller.headers if caller else {}
        got = live.client.get(path, headers=headers)
        head = live.client.head(path, headers=headers)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    # Access is checked as for GET.
    assert live.client.head("/clusters").status_code == 401


def test_head_where_no_get_is_a_405_naming_the_methods(live: Api) -> None:
    refused = live.client.head("/login")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
