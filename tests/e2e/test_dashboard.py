"""The dashboard at /ui in headless Chromium against the stack `make up` starts.

A developer logs in, watches a cluster fill and drain through the live stream, and cancels a
queued deployment from the keyboard; a viewer sees no create or cancel controls; a member removed
while watching stops seeing the organization at once; a preempted deployment says so and a
pending one says why; a change while the lists load is kept; logging out leaves nothing of the
board for the next user of the tab, and a late answer of the old session leaves the new one be;
streams ended as they open, and lists that page without end, are not asked for again in a
loop. Screenshots of each step are kept in .artifacts/dashboard/.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.browser import chromium
from harness.kube import api_client
from kubernetes import client
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from simplismart.api.core.streams import STREAMS_PER_USER
from simplismart.crds import DEPLOYMENT
from tests.api.live import EventStream
from tests.e2e.accounts import (
    PASSWORD,
    Root,
    Team,
    bearer,
    invite_code,
    join,
    promote,
    register,
    team,
    token,
)
from tests.e2e.clusters import allow_preemption

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).parents[2] / ".artifacts" / "dashboard"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    driver = chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def people(stack: dict[str, Any], installation: Root) -> Team:
    with httpx.Client(base_url=stack["url"], timeout=30) as api:
        return team(api, installation, "dash")


def _log_in(browser: WebDriver, url: str, username: str) -> None:
    browser.get(f"{url}/ui")
    _submit_login(browser, username)
    _until(browser, lambda b: b.find_element(By.ID, "live").text == "● live", "the stream")


def _submit_login(browser: WebDriver, username: str) -> None:
    """Fill in and send the login form of the page already open."""
    form = browser.find_element(By.ID, "login")
    form.find_element(By.NAME, "username").send_keys(username)
    form.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)


def _until(browser: WebDriver, condition: Any, what: str, timeout: float = 30) -> Any:
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(
        condition, message=f"waiting for {what}"
    )


def _text(browser: WebDriver, selector: str) -> str:
    """The element's rendered text, whitespace collapsed; read in one step inside the page,
    since the live page may replace the element between a lookup and a read."""
    text = browser.execute_script(
        "const found = document.querySelector(arguments[0]);return found ? found.innerText : '';",
        selector,
    )
    return " ".join(str(text).split())


def _cluster(api: httpx.Client, developer: dict[str, str], name: str, cpu: int) -> None:
    body = {"name": name, "total_cpu": cpu, "total_ram": cpu, "total_gpu": 0}
    assert api.post("/create_cluster", headers=developer, json=body).status_code == 201


def _deployment(
    api: httpx.Client, developer: dict[str, str], name: str, cluster: str, **fields: int
) -> None:
    body = {
        "name": name,
        "cluster_name": cluster,
        "cpu": 1,
        "ram": 1,
        "gpu": 0,
        "docker_path": "registry.example/model:1",
        **fields,
    }
    created = api.post("/create_deployment", headers=developer, json=body)
    assert created.status_code == 201, created.text


def _member(api: httpx.Client, people: Team, username: str, role: str = "VIEWER") -> int:
    """A new member of the team's organization with ``role`` (joining makes a VIEWER); its id."""
    user_id = register(api, username)
    join(api, username, invite_code(api, people))
    if role != "VIEWER":
        promote(api, token(api, people.admin), user_id, role)
    return user_id


def _shot(browser: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_a_developer_watches_a_cluster_fill_and_drain_and_cancels(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "pool", cpu=4)
    _log_in(browser, stack["url"], people.developer)
    _until(browser, lambda b: "0 / 4" in _text(b, "#cluster-pool .bar"), "the empty pool")
    _shot(browser, "1-empty")

    def submit(name: str, duration: int) -> None:
        deployment = {
            "name": name,
            "cluster_name": "pool",
            "cpu": 2,
            "ram": 1,
            "gpu": 0,
            "priority": 1,
            "docker_path": "registry.example/model:1",
            "duration_seconds": duration,
        }
        created = api.post("/create_deployment", headers=developer, json=deployment)
        assert created.status_code == 201, created.text

    # Runs long enough that gamma is still queued behind them when the browser reads it.
    submit("alpha", 20)
    submit("beta", 20)
    # Filled through the stream alone: the page is never reloaded.
    _until(browser, lambda b: "4 / 4" in _text(b, "#cluster-pool .bar"), "the pool to fill")
    submit("gamma", 60)
    # Pending ("waiting for the operator") until the operator queues it: read the queue's row.
    queue_row = "#cluster-pool table.queue tr[data-deployment=gamma]"
    _until(browser, lambda b: _text(b, queue_row), "the queue")
    queued = _text(browser, queue_row)
    assert queued.startswith("1 gamma HIGH")
    assert "Last decision" in _text(browser, "#cluster-pool .decision")
    _shot(browser, "2-filled")

    def press_cancel(b: WebDriver) -> bool:
        b.find_element(By.CSS_SELECTOR, "button[data-cancel=gamma]").send_keys(Keys.ENTER)
        return True  # the keyboard, not a click

    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        press_cancel
    )
    _until(
        browser,
        lambda b: not b.find_elements(By.CSS_SELECTOR, "tr[data-deployment=gamma]"),
        "gamma to leave the queue",
    )
    assert "cancelled" in _text(browser, "#notice")
    assert api.get("/deployments/gamma", headers=developer).status_code == 404
    _shot(browser, "3-cancelled")

    _until(browser, lambda b: "0 / 4" in _text(b, "#cluster-pool .bar"), "the pool to drain", 45)
    timeline = _text(browser, "#timeline")
    assert "alpha" in timeline
    assert "beta" in timeline
    assert "Succeeded" in timeline
    _shot(browser, "4-drained")


def test_a_viewer_sees_no_create_or_cancel(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "viewed", cpu=1)
    deployment = {
        "name": "waits",
        "cluster_name": "viewed",
        "cpu": 1,
        "ram": 1,
        "gpu": 0,
        "docker_path": "registry.example/model:1",
        "duration_seconds": 60,
    }
    for name in ("holds", "waits"):
        created = api.post(
            "/create_deployment", headers=developer, json={**deployment, "name": name}
        )
        assert created.status_code == 201, created.text
    _log_in(browser, stack["url"], people.viewer)
    _until(browser, lambda b: _text(b, "tr[data-deployment=waits]"), "the queue")
    assert not browser.find_element(By.ID, "create").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "button[data-cancel]") == []
    assert "VIEWER" in _text(browser, "#who")
    _shot(browser, "5-viewer")


def test_a_member_removed_while_watching_stops_seeing_the_organization(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "private", cpu=1)
    user_id = _member(api, people, "dash-leaver")
    _log_in(browser, stack["url"], "dash-leaver")
    _until(browser, lambda b: b.find_elements(By.ID, "cluster-private"), "the cluster")
    removed = api.post(
        "/remove_member", headers=bearer(api, people.admin), json={"user_id": user_id}
    )
    assert removed.status_code == 200, removed.text
    # A change after the removal ends the stream; the board then forgets the organization.
    _cluster(api, developer, "later", cpu=1)
    _until(
        browser,
        lambda b: "not in an organization" in _text(b, "#notice"),
        "the notice that the caller left the organization",
    )
    assert browser.find_elements(By.ID, "cluster-private") == []
    assert browser.find_elements(By.ID, "cluster-later") == []
    _shot(browser, "6-removed")


def test_a_preempted_deployment_says_so_and_a_pending_one_says_why(
    stack: dict[str, Any], kubeconfig: str, people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "contested", cpu=2)
    # Preemption, and a request larger than the cluster (which the REST API refuses), are
    # kubectl's part.
    namespace = api.get("/me", headers=developer).json()["user"]["organization"]["namespace"]
    allow_preemption(kubeconfig, namespace, "contested")
    with api_client(kubeconfig) as kube:
        oversized = {
            "apiVersion": DEPLOYMENT.api_version,
            "kind": DEPLOYMENT.kind,
            "metadata": {"name": "oversized"},
            "spec": {
                "cluster": "contested",
                "resources": {"cpu": 3, "ram": 1, "gpu": 0},
                "image": "registry.example/model:1",
            },
        }
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            DEPLOYMENT.group, DEPLOYMENT.version, namespace, DEPLOYMENT.plural, oversized
        )
    _log_in(browser, stack["url"], people.developer)
    _deployment(api, developer, "evictee", "contested", cpu=2, priority=0, duration_seconds=120)
    _until(browser, lambda b: _text(b, "#cluster-contested .bar").startswith("CPU 2 / 2"), "a run")
    _deployment(api, developer, "usurper", "contested", cpu=2, priority=1, duration_seconds=120)
    _until(
        browser,
        lambda b: "preempted once" in _text(b, "#cluster-contested tr[data-deployment=evictee]"),
        "the evicted run to say it was preempted",
    )
    _until(
        browser,
        lambda b: "usurper" in _text(b, "#cluster-contested table.running"),
        "the preemptor in the Running table",
    )
    _until(
        browser,
        lambda b: "evicted evictee for usurper" in _text(b, "#cluster-contested"),
        "the cluster's last preemption",
    )
    shown = api.get("/clusters/contested", headers=developer).json()["cluster"]
    assert shown["last_preemption"]["victims"] == ["evictee"]
    assert shown["last_preemption"]["preemptors"] == ["usurper"]
    assert [(q["name"], q["preemptions"]) for q in shown["queue"]] == [("evictee", 1)]
    pending = _until(
        browser,
        lambda b: _text(b, "#cluster-contested tr[data-deployment=oversized]"),
        "the pending deployment",
    )
    assert "asks more than cluster 'contested' has in total" in pending
    _shot(browser, "7-preempted-and-pending")


#: Holds the page's first deployments list after the server answered it, until released: the
#: stream meanwhile delivers a change the list was read before.
HOLD_FIRST_LIST = """
const real = window.fetch;
window.fetch = async (url, init) => {
  const answer = await real(url, init);
  if (String(url).startsWith("/deployments?") && !window.listHeld) {
    window.listHeld = true;
    while (!window.releaseList) await new Promise((resolve) => setTimeout(resolve, 50));
    window.listReturned = true;
  }
  return answer;
};
"""


def test_a_change_while_the_lists_load_is_kept(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "roomy", cpu=8)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_FIRST_LIST})
    browser.get(f"{stack['url']}/ui")
    _submit_login(browser, people.developer)
    _until(browser, lambda b: b.execute_script("return window.listHeld === true"), "the list")
    _deployment(api, developer, "latecomer", "roomy", duration_seconds=120)
    # The stream delivers its creation and its start while the older list is held back.
    _until(
        browser,
        lambda b: b.execute_script(
            "return [...document.querySelectorAll('#timeline li')]"
            ".some((li) => li.innerText.includes('latecomer'))"
        ),
        "the stream to show the run",
    )
    browser.execute_script("window.releaseList = true")
    _until(browser, lambda b: b.execute_script("return window.listReturned === true"), "the list")
    # The lists are in a moment later; nothing about the run changes for two minutes, so a
    # board that took the older list over the stream's change would show it no more.
    time.sleep(1)
    assert "latecomer" in _text(browser, "#cluster-roomy tr[data-deployment=latecomer]")


def test_logging_out_leaves_nothing_of_the_board(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    developer = bearer(api, people.developer)
    _cluster(api, developer, "leftover", cpu=1)
    _deployment(api, developer, "leftover-run", "leftover", duration_seconds=120)
    _log_in(browser, stack["url"], people.developer)
    _until(browser, lambda b: b.find_elements(By.ID, "cluster-leftover"), "the cluster")
    browser.find_element(By.ID, "logout").click()
    assert browser.find_elements(By.ID, "cluster-leftover") == []
    assert "leftover-run" not in str(browser.execute_script("return document.body.innerHTML"))
    register(api, "dash-outsider")  # in no organization
    _submit_login(browser, "dash-outsider")
    _until(browser, lambda b: "not in an organization" in _text(b, "#notice"), "the notice")
    assert "leftover" not in str(browser.execute_script("return document.body.innerHTML"))
    assert browser.find_elements(By.CSS_SELECTOR, "button[data-cancel]") == []


def test_a_developer_made_viewer_loses_the_controls_at_the_first_refusal(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    admin = token(api, people.admin)
    user_id = _member(api, people, "dash-demoted", "DEVELOPER")
    _cluster(api, bearer(api, people.developer), "shared", cpu=1)
    _log_in(browser, stack["url"], "dash-demoted")
    _until(browser, lambda b: b.find_element(By.ID, "create").is_displayed(), "the form")
    promote(api, admin, user_id, "VIEWER")
    form = browser.find_element(By.ID, "create")
    form.find_element(By.NAME, "name").send_keys("refused", Keys.ENTER)
    _until(browser, lambda b: "requires the DEVELOPER role" in _text(b, "#notice"), "the refusal")
    _until(browser, lambda b: not b.find_element(By.ID, "create").is_displayed(), "no form")
    assert "VIEWER" in _text(browser, "#who")


def test_a_refused_stream_says_why_and_follows_once_it_may(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    token = bearer(api, people.viewer)["Authorization"].removeprefix("Bearer ")
    held = [EventStream(stack["url"], token) for _ in range(STREAMS_PER_USER)]
    try:
        assert {stream.status_code for stream in held} == {200}
        browser.get(f"{stack['url']}/ui")
        _submit_login(browser, people.viewer)
        _until(browser, lambda b: "event streams open already" in _text(b, "#notice"), "why")
        held.pop().close()
        _until(browser, lambda b: b.find_element(By.ID, "live").text == "● live", "the stream")
        assert "paused" not in _text(browser, "#notice")
    finally:
        for stream in held:
            stream.close()


#: Records what the page's Content-Security-Policy refused, from before any of its scripts runs.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_the_api_docs_render_from_this_origin_alone(
    stack: dict[str, Any], browser: WebDriver
) -> None:
    """/docs runs Swagger UI from the package's copy: no other origin runs script beside the
    dashboard's token, and the page works without internet access."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    browser.get(f"{stack['url']}/docs")
    _until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock"), "the operations")
    assert "/login" in _text(browser, "#swagger-ui")
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((entry) => entry.name)"
    )
    assert loaded
    assert all(str(url).startswith(stack["url"]) for url in loaded), loaded
    assert browser.execute_script("return window.violations") == []
    _shot(browser, "8-api-docs")


def test_a_viewer_made_developer_gets_the_controls_without_a_reload(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    admin = token(api, people.admin)
    user_id = _member(api, people, "dash-promoted")
    _log_in(browser, stack["url"], "dash-promoted")
    assert not browser.find_element(By.ID, "create").is_displayed()
    promote(api, admin, user_id, "DEVELOPER")
    _cluster(api, bearer(api, people.developer), "promotion", cpu=1)  # the stream checks access
    _until(browser, lambda b: b.find_element(By.ID, "create").is_displayed(), "the form")
    assert "DEVELOPER" in _text(browser, "#who")


def test_a_passed_eta_or_deadline_says_so_rather_than_zero(
    stack: dict[str, Any], browser: WebDriver
) -> None:
    """What the queue's ETA and the runs' remaining time read, before and after the moment."""
    browser.get(f"{stack['url']}/ui")
    read = browser.execute_script(
        "const after = (ms, kind) => countdown(new Date(now() + ms).toISOString(), kind, now());"
        "return [after(12400, 'eta'), after(-3000, 'eta'), after(65000, 'remaining'),"
        " after(-200, 'remaining')];"
    )
    assert read == ["in 12s", "due now", "1m 5s", "ending"]


def test_moving_to_another_organization_leaves_one_stream_open(
    stack: dict[str, Any], installation: Root, people: Team, browser: WebDriver
) -> None:
    """A refusal that showed the caller in another organization started the board again, but
    only forgot the stream it had open: that one went on (applying the old organization's
    changes, holding one of the user's streams, starting again when it ended)."""
    api = httpx.Client(base_url=stack["url"], timeout=30)
    _member(api, people, "dash-mover", "DEVELOPER")
    _cluster(api, bearer(api, people.developer), "before-moving", cpu=1)
    _log_in(browser, stack["url"], "dash-mover")
    _until(browser, lambda b: b.find_element(By.ID, "create").is_displayed(), "the form")
    elsewhere = team(api, installation, "dash-elsewhere")
    join(api, "dash-mover", invite_code(api, elsewhere))  # now a VIEWER there
    form = browser.find_element(By.ID, "create")
    form.find_element(By.NAME, "name").send_keys("refused", Keys.ENTER)
    _until(browser, lambda b: not b.find_element(By.ID, "create").is_displayed(), "no form")
    _until(browser, lambda b: b.find_element(By.ID, "live").text == "● live", "the new stream")
    # The dashboard holds one stream: every other one the user may hold opens.
    mover = token(api, "dash-mover")
    held: list[EventStream] = []
    deadline = time.monotonic() + 10
    try:
        while len(held) < STREAMS_PER_USER - 1:
            stream = EventStream(stack["url"], mover)
            if stream.status_code == 200:
                held.append(stream)
                continue
            stream.close()
            assert time.monotonic() < deadline, f"only {len(held)} more open: the page holds more"
            time.sleep(0.5)
    finally:
        for stream in held:
            stream.close()


#: Every stream the page opens is answered and ended at once while ``window.endStreams`` is set
#: (a proxy that closes streams as they open); ``window.streams`` counts the page's attempts.
END_STREAMS_AT_ONCE = """
const real = window.fetch;
window.streams = 0;
window.endStreams = true;
window.fetch = async (url, init) => {
  if (String(url) !== "/events") return real(url, init);
  window.streams += 1;
  if (!window.endStreams) return real(url, init);
  return new Response("", { status: 200, headers: { "Content-Type": "text/event-stream" } });
};
"""


def test_a_stream_ended_as_it_opens_is_started_again_ever_more_slowly(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    """The page started over at once each time the stream ended: a proxy that closes streams
    as they open got /me, /events and both lists hundreds of times a second."""
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": END_STREAMS_AT_ONCE}
    )
    browser.get(f"{stack['url']}/ui")
    _submit_login(browser, people.viewer)
    _until(browser, lambda b: "starting again in" in _text(b, "#notice"), "the pause")
    time.sleep(7)
    # At once, then after 2 s and 4 s (the next after 8 s more): four in 7 s, not hundreds.
    attempts = browser.execute_script("return window.streams")
    assert 3 <= attempts <= 5, attempts
    browser.execute_script("window.endStreams = false")
    _until(browser, lambda b: b.find_element(By.ID, "live").text == "● live", "the stream", 20)
    _until(browser, lambda b: "paused" not in _text(b, "#notice"), "the notice to clear")


#: Answers every deployments list with one page that never ends (the same continue token).
PAGES_WITHOUT_END = """
const real = window.fetch;
window.lists = 0;
window.fetch = async (url, init) => {
  if (!String(url).startsWith("/deployments?")) return real(url, init);
  window.lists += 1;
  const page = { message: "1 deployment", deployments: [], continue: "again" };
  page.deployments.push({ name: `d${window.lists}`, cluster_name: "x", phase: "Queued" });
  return new Response(JSON.stringify(page), {
    status: 200, headers: { "Content-Type": "application/json" },
  });
};
"""


def test_a_list_that_pages_without_end_is_an_error_not_a_loop(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGES_WITHOUT_END})
    browser.get(f"{stack['url']}/ui")
    _submit_login(browser, people.viewer)
    _until(browser, lambda b: "pages without end" in _text(b, "#notice"), "the error")
    assert browser.execute_script("return window.lists") == 2


def test_log_out_everywhere_revokes_the_token_the_page_held(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    _member(api, people, "dash-everywhere")
    _log_in(browser, stack["url"], "dash-everywhere")
    held = browser.execute_script("return sessionStorage.getItem('simplismart.token')")
    assert api.get("/me", headers={"Authorization": f"Bearer {held}"}).status_code == 200
    browser.find_element(By.ID, "logout-everywhere").click()
    _until(browser, lambda b: b.find_element(By.ID, "login").is_displayed(), "the login form")
    assert "every token of your account is revoked" in _text(browser, "#notice")
    assert api.get("/me", headers={"Authorization": f"Bearer {held}"}).status_code == 401
    assert browser.execute_script("return sessionStorage.getItem('simplismart.token')") is None


#: Holds the next deployment creation before it is sent, until released.
HOLD_NEXT_CREATION = """
const real = window.fetch;
window.fetch = async (url, init) => {
  if (String(url) === "/create_deployment" && !window.creationHeld) {
    window.creationHeld = true;
    while (!window.releaseCreation) await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await real(url, init);
    window.creationAnswered = answer.status;
    return answer;
  }
  return real(url, init);
};
"""


def test_a_late_refusal_of_an_ended_session_leaves_the_next_one_alone(
    stack: dict[str, Any], people: Team, browser: WebDriver
) -> None:
    """A request of the first user, answered 401 only after they logged out and another
    logged in, logged the second one out."""
    api = httpx.Client(base_url=stack["url"], timeout=30)
    _member(api, people, "dash-early", "DEVELOPER")
    _cluster(api, bearer(api, people.developer), "late-answers", cpu=1)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_NEXT_CREATION})
    _log_in(browser, stack["url"], "dash-early")
    early = bearer(api, "dash-early")
    form = browser.find_element(By.ID, "create")
    form.find_element(By.NAME, "name").send_keys("never-sent-in-time", Keys.ENTER)
    _until(browser, lambda b: b.execute_script("return window.creationHeld === true"), "the hold")
    browser.find_element(By.ID, "logout").click()
    assert api.post("/logout", headers=early).status_code == 200  # the held request's token too
    _submit_login(browser, people.viewer)
    _until(browser, lambda b: b.find_element(By.ID, "live").text == "● live", "the stream")
    browser.execute_script("window.releaseCreation = true")
    _until(browser, lambda b: b.execute_script("return window.creationAnswered"), "the answer")
    time.sleep(1)
    assert _is_live(browser), _text(browser, "#notice")
    assert "session ended" not in _text(browser, "#notice")
    assert people.viewer in _text(browser, "#who")


def _is_live(browser: WebDriver) -> bool:
    return bool(browser.find_element(By.ID, "board").is_displayed()) and (
        browser.find_element(By.ID, "live").text == "● live"
    )


def test_a_moment_that_is_not_one_shows_as_none(stack: dict[str, Any], browser: WebDriver) -> None:
    """A status written by something else: "Last decision NaNs ago", an ETA "due now"."""
    browser.get(f"{stack['url']}/ui")
    shown = browser.execute_script(
        "const odd = { at: 'yesterday', gap: 'small', inOrder: 2, strategy: 'auto' };"
        "return [decision(odd), preemption({ ...odd, victims: 'a' }), until('soon', 'eta'),"
        " since(12), decision(['not', 'a', 'record'])];"
    )
    assert not any("NaN" in str(part) for part in shown), shown
    assert shown[0].startswith('<p class="decision">Last decision: 0 started')
    assert "gap —" in shown[0]
    assert shown[2:4] == ["—", "—"]
    assert "No scheduling decision yet" in shown[4]
