// The Simplismart dashboard: reads the API with the token from /login and follows /events.
// No framework: the state is two maps (clusters and deployments by name), rendered as HTML
// strings whenever it changes, at most once per animation frame.
"use strict";

const TOKEN_KEY = "simplismart.token";
const PAGE = 1000;
const RECENT_RUNS = 30;
const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: null,
  clusters: new Map(),
  deployments: new Map(),
  lastEventId: null,
  stream: null,
  // Called once the stream has answered, so that lists loaded after it miss no change.
  onStreamReady: null,
  // Changes the stream delivered while the lists load: replayed over them, since the lists
  // may have been read before those changes.
  buffered: null,
  // Bumped by each reload: a reload that a later one overtook keeps its older lists to itself.
  reloads: 0,
  // Bumped when a session ends: work begun for an earlier session stops at its next step.
  session: 0,
  // When the board last started over, and the pause before the next start (see restart).
  restartedAt: 0,
  restartPause: 0,
  // The server's clock minus this browser's, from the Date of its answers: durations and ETAs
  // are the server's.
  offset: 0,
  // A pointer is down on the board: redrawing now would replace the button being clicked.
  pressing: false,
  // The lists have been loaded; then drawn (the moment the dashboard's benchmark measures).
  loaded: false,
  rendered: false,
};
const $ = (selector) => document.querySelector(selector);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function notify(message, isError = false) {
  const notice = $("#notice");
  notice.textContent = message;
  notice.classList.toggle("error", isError);
}

// An answer to a session that has ended since it was asked (logged out, maybe in again as
// someone else): a 401 in it must not end the session now, nor its data reach the board.
class StaleAnswer extends Error {}

function report(error) {
  if (!(error instanceof StaleAnswer)) notify(error.message, true);
}

async function api(method, path, body) {
  const session = state.session;
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  learnClock(response);
  // Not the API's answer (a proxy's page): its status, since HTTP/2 sends no status text.
  let answer = await response.json().catch(() => null);
  if (session !== state.session) throw new StaleAnswer("an answer to an ended session");
  if (!answer || typeof answer !== "object") answer = {};
  if (!answer.message) answer.message = response.statusText || `HTTP ${response.status}`;
  if (response.status === 401 && path !== "/login") logout("Your session ended: log in again.");
  if (response.status === 403 && path !== "/me" && state.user) rereadUser();
  if (!response.ok) {
    const errors = Array.isArray(answer.errors) ? answer.errors.filter((e) => e && typeof e === "object") : [];
    const fields = errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    throw new Error(fields ? `${answer.message} (${fields})` : answer.message);
  }
  return answer;
}

// --- time -----------------------------------------------------------------------------------

function now() {
  return Date.now() + state.offset;
}

// The Date header counts whole seconds: the server's time lies in the second after it. Moves
// under a second are that rounding, not a change of clock, and would only make counters jump.
function learnClock(response) {
  const date = Date.parse(response.headers.get("Date") || "");
  if (Number.isNaN(date)) return;
  const offset = date + 500 - Date.now();
  if (Math.abs(offset - state.offset) > 1000) state.offset = offset;
}

function moment(iso) {
  return Date.parse(iso || "") || 0;
}

function seconds(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

// Statuses are free-form to whoever may write them: a moment that is not one shows as none.
function isMoment(iso) {
  return typeof iso === "string" && !Number.isNaN(Date.parse(iso));
}

// Cells that show a duration carry the moment they count from or to; a timer refreshes them.
function since(iso) {
  return isMoment(iso) ? `<span data-since="${escapeHtml(iso)}">${seconds(now() - Date.parse(iso))}</span>` : "—";
}
// " 3m 20s ago" of a status record's moment, or nothing if it has none.
function ago(iso) {
  return isMoment(iso) ? ` ${since(iso)} ago` : "";
}
// A moment to come reads as what is left ("in 12s" for an ETA); once it has passed, as what
// happens then: an ETA is due (the operator's next pass starts it or writes a later one), a
// run is ending (its pass ends it within a moment), rather than a frozen "0s".
const COUNTDOWNS = {
  eta: { ahead: (left) => `in ${left}`, passed: "due now" },
  remaining: { ahead: (left) => left, passed: "ending" },
};
function countdown(iso, kind, current) {
  const left = Date.parse(iso) - current;
  return left >= 1000 ? COUNTDOWNS[kind].ahead(seconds(left)) : COUNTDOWNS[kind].passed;
}
function until(iso, kind) {
  if (!isMoment(iso)) return "—";
  return `<span data-until="${escapeHtml(iso)}" data-kind="${kind}">${countdown(iso, kind, now())}</span>`;
}
function tick() {
  const current = now();
  for (const cell of document.querySelectorAll("[data-since]")) {
    cell.textContent = seconds(current - Date.parse(cell.dataset.since));
  }
  for (const cell of document.querySelectorAll("[data-until]")) {
    cell.textContent = countdown(cell.dataset.until, cell.dataset.kind, current);
  }
}

// --- rendering ------------------------------------------------------------------------------

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    if (!state.pressing) draw(); // else drawn when the pointer is released
  });
}

function canChange() {
  return state.user && state.user.role !== "VIEWER";
}

function bar(resource, used, total) {
  const share = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return `<div class="bar"><span class="label">${resource}</span>
    <div class="track" role="meter" aria-label="${resource} allocated" aria-valuemin="0"
      aria-valuemax="${total}" aria-valuenow="${used}"><div class="fill" style="width:${share.toFixed(1)}%"></div></div>
    <span class="amount">${used} / ${total}</span></div>`;
}

function isRecord(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

function decision(last) {
  if (!isRecord(last)) return "<p class=\"muted\">No scheduling decision yet.</p>";
  const gap = Number.isFinite(last.gap) ? `${(100 * last.gap).toFixed(3)} %` : "—";
  // Counted, not trusted: the status is free-form to anyone who may write it.
  const count = (list) => (Array.isArray(list) ? list.length : 0);
  const inOrder = count(last.inOrder), selected = count(last.selected);
  return `<p class="decision">Last decision${ago(last.at)}: ${inOrder + selected} started,
    ${inOrder} in queue order and ${selected} chosen by <b>${escapeHtml(last.strategy)}</b>
    among ${escapeHtml(last.candidates)} candidate(s) in ${escapeHtml(last.durationMs)} ms,
    gap ${gap}${last.provenOptimal ? " (proven optimal)" : ""}.</p>`;
}

function preemption(last) {
  if (!isRecord(last)) return "";
  const names = (list) => (Array.isArray(list) ? list.map(escapeHtml).join(", ") : "");
  const lost = Number(last.lostSeconds);
  return `<p class="decision">Last preemption${ago(last.at)}: evicted ${names(last.victims)}
    for ${names(last.preemptors)}${Number.isFinite(lost) ? `, ${lost.toFixed(1)} s of run time lost` : ""}.</p>`;
}

function cancelButton(d) {
  return canChange()
    ? `<button type="button" class="cancel" data-cancel="${escapeHtml(d.name)}">Cancel ${escapeHtml(d.name)}</button>`
    : "";
}

// A deployment's name, and how often it was evicted to make room for HIGH ones, if ever.
function nameCell(d) {
  const times = d.preemptions === 1 ? "once" : `${d.preemptions} times`;
  const evicted = d.preemptions ? ` <small class="preempted">preempted ${times}</small>` : "";
  return `<td>${escapeHtml(d.name)}${evicted}</td>`;
}

function queueTable(queued) {
  if (!queued.length) return "<p class=\"muted\">Nothing waits.</p>";
  // No position yet (just queued, or evicted): the operator's next write gives it one.
  const rows = queued.map((d) => `<tr data-deployment="${escapeHtml(d.name)}">
      <td>${escapeHtml(d.queue_position ?? "—")}</td>${nameCell(d)}
      <td>${d.priority === 1 ? "HIGH" : "LOW"}</td><td>${since(d.queued_at)}</td>
      <td>${until(d.estimated_start_at, "eta")}</td>
      <td>${escapeHtml(d.message || "")}</td><td>${cancelButton(d)}</td></tr>`);
  return `<table class="queue"><caption>Queue</caption><thead><tr><th scope="col">#</th><th scope="col">Name</th>
    <th scope="col">Priority</th><th scope="col">Waited</th><th scope="col">ETA</th>
    <th scope="col">Why it waits</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>`;
}

function runningTable(running) {
  if (!running.length) return "<p class=\"muted\">Nothing runs.</p>";
  const rows = running.map((d) => `<tr data-deployment="${escapeHtml(d.name)}">
      ${nameCell(d)}<td>${d.cpu} / ${d.ram} / ${d.gpu}</td>
      <td>${until(d.expires_at, "remaining")}</td><td>${cancelButton(d)}</td></tr>`);
  return `<table class="running"><caption>Running</caption><thead><tr><th scope="col">Name</th>
    <th scope="col">CPU / RAM / GPU</th><th scope="col">Remaining</th>
    <th scope="col"><span class="sr">Actions</span></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

// Deployments that wait for their cluster to exist or to grow, with the reason.
function pendingTable(pending) {
  if (!pending.length) return "";
  const rows = pending.map((d) => `<tr data-deployment="${escapeHtml(d.name)}">
      ${nameCell(d)}<td>${escapeHtml(d.message || "")}</td><td>${cancelButton(d)}</td></tr>`);
  return `<table class="pending"><caption>Pending</caption><thead><tr><th scope="col">Name</th>
    <th scope="col">Why it is not queued</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>`;
}

function byPosition(a, b) {
  return (a.queue_position ?? 1e9) - (b.queue_position ?? 1e9)
    || moment(a.queued_at) - moment(b.queued_at) || a.name.localeCompare(b.name);
}

function draw() {
  const members = new Map();
  for (const d of state.deployments.values()) {
    if (!members.has(d.cluster_name)) members.set(d.cluster_name, []);
    members.get(d.cluster_name).push(d);
  }
  const cards = [...state.clusters.values()].sort((a, b) => a.name.localeCompare(b.name)).map((c) => {
    const mine = members.get(c.name) || [];
    const queued = mine.filter((d) => d.phase === "Queued").sort(byPosition);
    const running = mine.filter((d) => d.phase === "Running").sort((a, b) => a.name.localeCompare(b.name));
    const pending = mine.filter((d) => d.phase === "Pending").sort((a, b) => a.name.localeCompare(b.name));
    const used = c.allocated || { cpu: 0, ram: 0, gpu: 0 };
    return `<section class="card cluster" id="cluster-${escapeHtml(c.name)}" aria-labelledby="title-${escapeHtml(c.name)}">
      <h2 id="title-${escapeHtml(c.name)}">${escapeHtml(c.name)} <small>${escapeHtml(c.strategy)}</small></h2>
      <p class="counts">${queued.length} queued · ${running.length} running · ${pending.length} pending</p>
      ${bar("CPU", used.cpu, c.total_cpu)}${bar("RAM", used.ram, c.total_ram)}${bar("GPU", used.gpu, c.total_gpu)}
      ${decision(c.last_decision)}${preemption(c.last_preemption)}${runningTable(running)}${queueTable(queued)}${pendingTable(pending)}</section>`;
  });
  // Redrawing replaces the buttons: keep the keyboard focus on the one that had it.
  const focused = document.activeElement && document.activeElement.dataset.cancel;
  $("#clusters").innerHTML = cards.join("") || "<p class=\"card muted\">No clusters yet.</p>";
  if (focused) {
    const again = document.querySelector(`button[data-cancel="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  drawTimeline();
  // Rebuilt only when the names change: rebuilding closes a list the user has open.
  const select = $("#create select[name=cluster_name]");
  const names = [...state.clusters.keys()].sort();
  if (names.join("\n") !== [...select.options].map((o) => o.value).join("\n")) {
    const chosen = select.value;
    select.innerHTML = names.map((n) => `<option>${escapeHtml(n)}</option>`).join("");
    if (chosen) select.value = chosen;
  }
  if (state.loaded && !state.rendered) {
    state.rendered = true;
    window.simplismartFirstRender = performance.now();
    document.body.dataset.rendered = "true";
  }
}

function drawTimeline() {
  const runs = [...state.deployments.values()].filter((d) => d.started_at)
    .sort((a, b) => moment(b.started_at) - moment(a.started_at)).slice(0, RECENT_RUNS);
  if (!runs.length) {
    $("#timeline").innerHTML = "<li class=\"muted\">No runs yet.</li>";
    return;
  }
  const current = now();
  const start = Math.min(...runs.map((d) => Date.parse(d.started_at)));
  const span = Math.max(1, current - start);
  $("#timeline").innerHTML = runs.map((d) => {
    const begin = Date.parse(d.started_at);
    const end = Math.min(current, moment(d.finished_at || d.expires_at) || current);
    const left = (100 * (begin - start)) / span, width = Math.max(0.5, (100 * (end - begin)) / span);
    return `<li><span class="run-name">${escapeHtml(d.name)} <small>${escapeHtml(d.cluster_name)} · ${escapeHtml(d.phase)}</small></span>
      <span class="run-track"><span class="run ${d.phase === "Running" ? "running" : "done"}"
        style="margin-left:${left.toFixed(2)}%;width:${width.toFixed(2)}%"
        title="${escapeHtml(d.started_at)} – ${escapeHtml(d.finished_at || d.expires_at || "")}"></span></span></li>`;
  }).join("");
}

// --- data -----------------------------------------------------------------------------------

// Every page of a list. A server (or proxy) that repeats a continue token, or goes on after an
// empty page, would be asked for ever: that is an error, not a loop.
async function loadAll(path, key) {
  const items = [];
  const seen = new Set();
  let token = null;
  do {
    const query = new URLSearchParams({ limit: PAGE });
    if (token) query.set("continue", token);
    const page = await api("GET", `${path}?${query}`);
    if (!Array.isArray(page[key])) throw new Error(`${path} did not answer like a Simplismart API`);
    for (const item of page[key]) items.push(item);
    token = page.continue;
    if (token && (typeof token !== "string" || seen.has(token) || !page[key].length)) {
      throw new Error(`${path} pages without end (continue ${JSON.stringify(token)})`);
    }
    seen.add(token);
  } while (token);
  return items;
}

// The lists, then every change the stream delivered meanwhile: the lists may have been read
// before some of those changes, and the changes from then on, replayed in order over them,
// give the state now.
async function reload() {
  const session = state.session;
  const generation = ++state.reloads;
  const buffered = state.buffered = [];
  let clusters, deployments;
  try {
    [clusters, deployments] = await Promise.all([
      loadAll("/clusters", "clusters"), loadAll("/deployments", "deployments"),
    ]);
  } finally {
    if (state.buffered === buffered) state.buffered = null;
  }
  if (session !== state.session || generation !== state.reloads) return; // ended, or overtaken
  state.clusters = new Map(clusters.map((c) => [c.name, c]));
  state.deployments = new Map(deployments.map((d) => [d.name, d]));
  state.loaded = true;
  for (const [kind, change] of buffered) apply(kind, change);
  render();
}

function apply(kind, change) {
  if (state.buffered) state.buffered.push([kind, change]);
  const target = kind === "cluster" ? state.clusters : state.deployments;
  const item = change[kind];
  if (change.type === "DELETED") target.delete(item.name);
  else target.set(item.name, item);
  render();
}

const RETRY_MS = 2000;
const PAUSED = "The live view is paused";
const MAX_RETRY_MS = 60000;
// Three of the server's heartbeats (15 s): a connection silent for longer died without a word
// (a laptop's sleep, a proxy's idle drop), and only this ends the wait for it.
const SILENCE_MS = 45000;

// Server-Sent Events over fetch, so that the token travels in a header, never in the URL.
// A refusal that says when to come back (429: too many streams open, 503: busy) is shown and
// waited out; a broken or silent connection is retried every RETRY_MS.
async function follow() {
  const controller = new AbortController();
  if (state.stream) state.stream.abort();
  state.stream = controller;
  while (!controller.signal.aborted) {
    let wait = RETRY_MS;
    const connection = new AbortController();
    const hangUp = () => connection.abort();
    controller.signal.addEventListener("abort", hangUp);
    let silence = setTimeout(hangUp, SILENCE_MS);
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(hangUp, SILENCE_MS);
    };
    try {
      const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const response = await fetch("/events", { headers, signal: connection.signal });
      learnClock(response);
      if (response.status === 401) return logout("Your session ended: log in again.");
      if (response.status === 403) return restart();
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        notify(`${PAUSED}: ${answer.message || response.statusText || `HTTP ${response.status}`}`, true);
        const after = Number(response.headers.get("Retry-After"));
        if (after > 0) wait = Math.min(MAX_RETRY_MS, 1000 * after);
        throw new Error(`the stream answered ${response.status}`);
      }
      setLive(true);
      if ($("#notice").textContent.startsWith(PAUSED)) notify("");
      await readEvents(response.body, onEvent, heard);
      if (!controller.signal.aborted) return restart();
    } catch (error) {
      if (controller.signal.aborted) return;
    } finally {
      clearTimeout(silence);
      controller.signal.removeEventListener("abort", hangUp);
    }
    setLive(false);
    await sleep(wait);
  }
}

async function readEvents(body, handle, heard) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    heard();
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { name: "message", data: [] };
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue;
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") state.lastEventId = text;
        else if (field === "event") event.name = text;
        else if (field === "data") event.data.push(text);
      }
      if (event.data.length) handle(event.name, JSON.parse(event.data.join("\n")));
    }
  }
}

function onEvent(name, data) {
  if (name === "deployment" || name === "cluster") apply(name, data);
  const first = state.onStreamReady;
  if ((name === "ready" || name === "reset") && first) {
    state.onStreamReady = null;
    first();
  } else if (name === "reset") {
    reload().catch(report);
  }
}

function setLive(on) {
  const live = $("#live");
  live.hidden = false;
  live.textContent = on ? "● live" : "○ reconnecting…";
  live.classList.toggle("off", !on);
}

// --- actions --------------------------------------------------------------------------------

// The server ends a stream when the access it was opened with ends (the caller was removed
// from the organization, or moved to another): what the board shows may no longer be theirs.
// Start over from who they are now, until the API answers (or the session has ended).
async function restart() {
  const session = state.session;
  // Ended here, not only forgotten: left running, it would go on applying its organization's
  // changes, hold one of the user's streams, and outlive a logout.
  if (state.stream) state.stream.abort();
  state.stream = null;
  state.lastEventId = null;
  state.clusters.clear();
  state.deployments.clear();
  render();
  const pause = restartPause();
  if (pause) {
    setLive(false);
    notify(`${PAUSED}: the server ended the stream; starting again in ${seconds(pause)}`, true);
    await sleep(pause);
  }
  // From when it starts over (not once the start is done: the stream can end before that).
  state.restartedAt = Date.now();
  while (session === state.session && !(await start())) await sleep(RETRY_MS);
}

// A server or proxy that ends or refuses every stream as soon as it opens must not be asked
// again at once, for ever: a start-over within a minute of the last one's waits twice as long
// as that one did (2 s, 4 s, ... up to a minute); the first in a minute, none.
function restartPause() {
  const calm = Date.now() - state.restartedAt > MAX_RETRY_MS;
  state.restartPause = calm ? 0 : Math.min(MAX_RETRY_MS, Math.max(RETRY_MS, 2 * state.restartPause));
  return state.restartPause;
}

// Shows the caller and follows their organization; false if the API could not say who they are.
async function start() {
  const session = state.session;
  let user;
  try {
    user = (await api("GET", "/me")).user;
  } catch (error) {
    return false;
  }
  if (session !== state.session) return true; // logged out meanwhile: nothing more to do
  showUser(user);
  const org = user.organization;
  $("#login").hidden = true;
  $("#logout").hidden = $("#logout-everywhere").hidden = false;
  $("#board").hidden = false;
  if (!org) {
    $("#live").hidden = true;
    notify("You are not in an organization: join one with its invite code.", true);
    return true;
  }
  // Follow first and load once the stream answers, so that no change between them is missed;
  // if the stream cannot start, load anyway and let it catch up when it does.
  state.lastEventId = null;
  await new Promise((resolve) => {
    state.onStreamReady = resolve;
    setTimeout(resolve, 5000);
    follow();
  });
  if (session !== state.session) return true;
  state.onStreamReady = null;
  await reload().catch((error) => {
    if (session === state.session) report(error);
  });
  // Onto the board after a login, but never away from a field the user is in.
  if (session === state.session && document.activeElement === document.body) $("#main").focus();
  return true;
}

function release() {
  if (!state.pressing) return;
  state.pressing = false;
  render();
}

function showUser(user) {
  state.user = user;
  const org = user.organization;
  $("#who").textContent = `${user.username} · ${user.role}` + (org ? ` · ${org.name}` : "");
  $("#create").hidden = !canChange();
  render(); // the cancel buttons follow the role too
}

// A 403 may mean the caller's role changed since the page read it (an ADMIN made them a VIEWER):
// read who they are again, so that the page offers only what they may do. Another organization
// altogether: start over, as when the stream ends for it.
async function rereadUser() {
  const session = state.session;
  const before = state.user.organization && state.user.organization.id;
  let user;
  try {
    user = (await api("GET", "/me")).user;
  } catch (error) {
    return; // the next call says what is wrong
  }
  if (session !== state.session) return;
  if ((user.organization && user.organization.id) !== before) return restart();
  showUser(user);
}

// Empties the board now, not at the next frame: nothing of a session outlives it on the page.
function clearBoard() {
  $("#clusters").innerHTML = "";
  $("#timeline").innerHTML = "";
  $("#create select[name=cluster_name]").innerHTML = "";
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.stream) state.stream.abort();
  Object.assign(state, {
    token: null, user: null, stream: null, lastEventId: null, onStreamReady: null, buffered: null,
    loaded: false, rendered: false, session: state.session + 1,
  });
  state.clusters.clear();
  state.deployments.clear();
  clearBoard();
  $("#board").hidden = true;
  $("#logout").hidden = $("#logout-everywhere").hidden = true;
  $("#live").hidden = true;
  $("#who").textContent = "";
  $("#login").hidden = false;
  if (message) notify(message, true);
  $("#login input[name=username]").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const answer = await api("POST", "/login", {
        username: form.get("username"), password: form.get("password"),
      });
      state.token = answer.access_token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      event.target.reset();
      notify("");
      await start();
    } catch (error) {
      report(error);
    }
  });
  $("#create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { name: form.get("name"), cluster_name: form.get("cluster_name"),
      docker_path: form.get("docker_path") };
    for (const field of ["cpu", "ram", "gpu", "priority"]) body[field] = Number(form.get(field));
    try {
      const answer = await api("POST", "/create_deployment", body);
      // The stream may have told of it already, and of the operator's decision since.
      if (!state.deployments.has(answer.deployment.name)) {
        apply("deployment", { type: "ADDED", deployment: answer.deployment });
      }
      notify(answer.message);
      event.target.querySelector("input[name=name]").value = "";
    } catch (error) {
      report(error);
    }
  });
  $("#clusters").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-cancel]");
    if (!button) return;
    try {
      const answer = await api("DELETE", `/deployments/${encodeURIComponent(button.dataset.cancel)}`);
      apply("deployment", { type: "DELETED", deployment: answer.deployment });
      notify(answer.message);
    } catch (error) {
      report(error);
    }
  });
  // A click is a press and a release on the same button: hold redraws in between (for a
  // second at most, should the release never reach the page).
  $("#clusters").addEventListener("pointerdown", () => {
    state.pressing = true;
    setTimeout(release, 1000);
  });
  for (const type of ["pointerup", "pointercancel"]) {
    document.addEventListener(type, () => setTimeout(release)); // after the click it completes
  }
  // Log out forgets the token in this tab; it stays valid until it expires (as the CLI's
  // logout). Everywhere revokes every token of the account first: this tab's, the CLI's, and
  // one that was copied.
  $("#logout").addEventListener("click", () => logout("Logged out."));
  $("#logout-everywhere").addEventListener("click", async () => {
    try {
      await api("POST", "/logout");
    } catch (error) {
      return report(error);
    }
    logout("Logged out everywhere: every token of your account is revoked.");
  });
  setInterval(tick, 1000);
  if (state.token) start();
});
