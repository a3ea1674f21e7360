// The staff console: plain modules, no build step, no dependencies. It calls only the
// public API, on the origin that serves it (the load balancer in production, the local
// gateway under `make run`). Everything from the API is put on the page as text
// (textContent, never innerHTML), so no data can become markup or script.

const TOKEN = "mercado-veiculo-console-token"; // sessionStorage: gone when the tab closes
const SERVICES = ["cliente-service", "veiculo-service", "pagamento-service", "orquestrador"];
const STATUSES = ["STARTED", "IN_PROGRESS", "AWAITING_PAYMENT", "COMPENSATING", "COMPLETED", "FAILED", "CANCELLED", "EXPIRED"];
const STEPS = ["CREDIT_RESERVATION", "VEHICLE_RESERVATION", "PAYMENT_CODE_GENERATION", "PAYMENT_PROCESSING",
  "MARK_VEHICLE_AS_SOLD", "SAGA_COMPLETE", "COMPENSATION_COMPLETE"];
const ENDED = new Set(["COMPLETED", "FAILED", "CANCELLED", "EXPIRED"]);

const main = document.getElementById("main");
let leaving = new AbortController(); // aborted when the page changes: stops its long poll

// ------------------------------------------------------------------ the API
class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN)}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const data = answer.status === 204 ? null : await answer.json().catch(() => null);
  if (answer.status === 401) {
    sessionStorage.removeItem(TOKEN);
    location.hash = "#/login";
  }
  if (!answer.ok) {
    const detail = data && typeof data.detail === "object" && !Array.isArray(data.detail) ? data.detail : {};
    throw new ApiError(answer.status, detail.code || answer.status, detail.message || answer.statusText);
  }
  return data;
}

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
}

// ------------------------------------------------------------------ building the page
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const text = (value) => (value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value));

let shown = 0;
function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  main.dataset.shown = String(++shown); // each page drawn counts: what waits for a fresh page watches it
}

function fail(error) {
  const box = document.getElementById("error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
  setTimeout(() => (box.hidden = true), 8000);
}

function table(rows, columns) {
  if (!rows || rows.length === 0) return el("p", { class: "muted" }, "none");
  const keys = columns || Object.keys(rows[0]);
  return el("table", {},
    el("thead", {}, el("tr", {}, keys.map((k) => el("th", {}, k)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, keys.map((k) => el("td", {}, text(row[k])))))));
}

function go(target) {
  const before = location.href;
  location.hash = target;
  if (location.href === before) render(); // searched again: the same URL, no hashchange, fresh results
}

function hashParts() {
  const [path, query = ""] = location.hash.slice(1).split("?");
  return { path: path || "/", params: new URLSearchParams(query) };
}

// ------------------------------------------------------------------ pages
async function login() {
  document.getElementById("nav").hidden = true;
  const totp = el("label", { hidden: true }, "Authenticator code", el("input", { name: "totp", inputmode: "numeric", autocomplete: "one-time-code" }));
  const form = el("form", { class: "login", onsubmit: async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const body = new URLSearchParams({ username: fields.get("username"), password: fields.get("password") });
    if (fields.get("totp")) body.set("totp", fields.get("totp"));
    const answer = await fetch("/auth/token", { method: "POST", body });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      if (data.detail && data.detail.code === "TOTP_REQUIRED") totp.hidden = false;
      return fail(new ApiError(answer.status, data.detail?.code || answer.status, data.detail?.message || "sign-in refused"));
    }
    if (claims(data.access_token).role !== "staff") return fail("This console is for staff: that account is not.");
    sessionStorage.setItem(TOKEN, data.access_token);
    location.hash = "#/";
  } },
  el("h1", {}, "Staff sign-in"),
  el("label", {}, "E-mail", el("input", { name: "username", type: "email", required: true, autocomplete: "username" })),
  el("label", {}, "Password", el("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
  totp,
  el("button", { class: "primary", type: "submit" }, "Sign in"));
  show(form);
}

async function overview() {
  const [now, ...dead] = await Promise.all([
    api("/operations/overview"),
    ...SERVICES.map((s) => api(`/operations/dead-letters/${s}?limit=1`).catch((e) => ({ service: s, held: `? (${e.code})` }))),
  ]);
  const card = (label, value, href, alert) =>
    el("a", { href, class: alert ? "card alert" : "card", "data-card": label }, el("b", {}, value), label);
  show(
    el("h1", {}, "Overview"),
    el("h2", {}, "Purchases by status now"),
    el("div", { class: "cards" }, STATUSES.map((s) => card(s, now.by_status[s] || 0, `#/purchases?status=${s}`))),
    el("h2", {}, "Needs attention"),
    el("div", { class: "cards" },
      card("stuck", now.stuck, "#/purchases?stuck=true", now.stuck > 0),
      dead.map((d) => card(`dead letters: ${d.service}`, d.held, `#/dead-letters?service=${d.service}`, d.held > 0))),
    el("h2", {}, "Completed per hour (last 24 h)"),
    table(now.completed_per_hour.map((h) => ({ hour: when(h.hour), completed: h.completed }))),
  );
}

async function purchases(params) {
  const form = el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (!value) continue;
      query.append(key, key.startsWith("created_") ? new Date(value).toISOString() : value);
    }
    go(`#/purchases?${query}`);
  } },
  el("label", {}, "Customer", el("input", { name: "customer_id", value: params.get("customer_id") || "" })),
  el("label", {}, "Vehicle", el("input", { name: "vehicle_id", value: params.get("vehicle_id") || "" })),
  el("label", {}, "Status", el("select", { name: "status" }, el("option", { value: "" }, "any"),
    STATUSES.map((s) => el("option", { value: s, selected: params.get("status") === s }, s)))),
  el("label", {}, "Step", el("select", { name: "step" }, el("option", { value: "" }, "any"),
    STEPS.map((s) => el("option", { value: s, selected: params.get("step") === s }, s)))),
  el("label", {}, "Failure", el("input", { name: "failure_reason", value: params.get("failure_reason") || "" })),
  el("label", {}, "From", el("input", { name: "created_from", type: "datetime-local" })),
  el("label", {}, "To", el("input", { name: "created_to", type: "datetime-local" })),
  el("label", {}, "Stuck only", el("input", { name: "stuck", type: "checkbox", value: "true", checked: params.get("stuck") === "true" })),
  el("button", { class: "primary", type: "submit" }, "Search"));
  const page = await api(`/operations/purchases?${params}`);
  const totals = STATUSES.map((s) => {
    const query = new URLSearchParams(params);
    query.set("status", s);
    query.delete("cursor");
    return el("a", { class: "card", href: `#/purchases?${query}` }, el("b", {}, page.totals[s]), s);
  });
  const rows = page.purchases.map((p) => el("tr", { "data-purchase": p.transaction_id },
    el("td", {}, el("a", { href: `#/purchases/${p.transaction_id}` }, p.transaction_id)),
    el("td", { class: `status ${p.status}` }, p.status),
    el("td", {}, p.current_step),
    el("td", {}, p.failure_reason || ""),
    el("td", {}, p.stuck ? el("span", { class: "stuck" }, `stuck (attempt ${p.attempts})`) : ""),
    el("td", {}, p.amount),
    el("td", {}, when(p.created_at))));
  const next = new URLSearchParams(params);
  if (page.next_cursor) next.set("cursor", page.next_cursor);
  show(
    el("h1", {}, "Purchases"), form,
    el("div", { class: "cards" }, totals),
    el("table", {}, el("thead", {}, el("tr", {}, ["purchase", "status", "step", "failure", "", "amount", "started"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    page.next_cursor ? el("p", {}, el("a", { href: `#/purchases?${next}` }, "Next page →")) : null,
  );
}

// The saga drawn from its definition: a box per step, its compensation beneath.
function diagram(steps) {
  const width = 182, gap = 16, height = 190;
  const fill = { done: "#d9f2e1", current: "#d6e4ff", stopped: "#ffe9c7", pending: "#f1f2f5", "not reached": "#fbfbfc" };
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "saga");
  svg.setAttribute("viewBox", `0 0 ${steps.length * (width + gap)} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "the purchase's steps");
  const add = (tag, attributes, content) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (content !== undefined) node.textContent = content;
    svg.append(node);
    return node;
  };
  steps.forEach((step, i) => {
    const x = i * (width + gap) + 5;
    const group = add("g", { "data-step": step.name, "data-state": step.state, "data-compensation": step.compensation_state || "" });
    const box = (y, h, color, stroke, lines) => {
      const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      Object.entries({ x, y, width, height: h, rx: 6, fill: color, stroke, "stroke-width": stroke === "#1f5fd1" ? 2.5 : 1 })
        .forEach(([k, v]) => r.setAttribute(k, v));
      group.append(r);
      lines.forEach((line, n) => {
        const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
        t.setAttribute("x", x + 8);
        t.setAttribute("y", y + 16 + n * 14);
        t.textContent = line;
        group.append(t);
      });
    };
    box(10, 70, fill[step.state] || "#fff", step.state === "current" ? "#1f5fd1" : "#9aa3b5",
      [step.name, `${step.kind} · ${step.state}`, step.command || "waits for the buyer"]);
    if (i < steps.length - 1) add("line", { x1: x + width, y1: 45, x2: x + width + gap, y2: 45, stroke: "#9aa3b5" });
    if (step.compensation) {
      const undone = step.compensation_state;
      box(110, 56, undone === "done" ? "#d9f2e1" : undone === "awaited" ? "#ffe9c7" : "#fff",
        undone ? "#a15c00" : "#d0d5de", ["↺ " + step.compensation, undone ? `undo: ${undone}` : "not undone"]);
      add("line", { x1: x + width / 2, y1: 80, x2: x + width / 2, y2: 110, stroke: "#d0d5de", "stroke-dasharray": "3 3" });
    }
  });
  return svg;
}

async function purchase(id) {
  const signal = leaving.signal;
  const draw = (story) => {
    const p = story.purchase;
    const reason = el("input", { name: "reason", placeholder: "why (kept in the audit log)", size: 40, required: true, minlength: 3 });
    const act = (action) => async (event) => {
      event.preventDefault();
      if (!reason.reportValidity()) return;
      try {
        await api(`/operations/purchases/${id}/${action}`, { method: "POST", body: { reason: reason.value } });
        draw(await api(`/operations/purchases/${id}`));
      } catch (error) {
        fail(error);
      }
    };
    const running = !ENDED.has(p.status);
    const actions = el("form", { class: "action" }, reason,
      el("button", { class: "primary", "data-action": "resend", disabled: !running || p.status === "AWAITING_PAYMENT", onclick: act("resend") }, "Resend current step"),
      el("button", { class: "danger", "data-action": "cancel", disabled: !running || p.status === "COMPENSATING", onclick: act("cancel") }, "Cancel (compensate)"),
      el("button", { "data-action": "resolve", disabled: p.status !== "COMPENSATING", onclick: act("resolve") }, "Mark resolved by hand"));
    const timeline = story.timeline.map((e) => ({
      at: when(e.at),
      kind: e.kind,
      what: e.name + (e.applied === false ? " (ignored: the saga had moved on)" : ""),
      then: e.kind === "input" ? `${e.status} · ${e.current_step}` : `${e.actor}: ${e.reason}`,
      sent: e.commands.length ? `${e.commands.join(", ")} (attempt ${e.attempt})` : e.result ? text(e.result) : "",
      deadline: e.deadline_at ? when(e.deadline_at) : "",
    }));
    show(
      el("h1", {}, "Purchase ", el("code", {}, id)),
      el("p", {},
        el("span", { class: `status ${p.status}`, id: "purchase-status" }, p.status), " · ", p.current_step,
        p.failure_reason ? ` · ${p.failure_reason}` : "", p.stuck ? el("span", { class: "stuck" }, " · stuck") : "",
        ` · definition v${p.definition} · attempt ${p.attempts}`, p.deadline_at ? ` · deadline ${when(p.deadline_at)}` : "",
        running ? el("span", { class: "live", id: "live" }, " · live") : ""),
      el("p", { class: "muted" }, `customer ${p.customer_id} · vehicle ${p.vehicle_id} · ${p.amount} (${p.payment_type})`),
      diagram(story.steps),
      el("h2", {}, "Actions"), actions,
      el("h2", {}, "Timeline"), table(timeline),
      el("h2", {}, "Participants' records"),
      Object.entries(story.participants).map(([service, answer]) => el("section", { "data-service": service },
        el("h3", {}, service),
        answer.unavailable ? el("p", { class: "stuck" }, `did not answer: ${answer.unavailable}`)
          : Object.entries(answer.records).map(([kind, rows]) => [el("h4", {}, kind), table(rows)]))),
      el("h2", {}, "Messages"),
      Object.entries(story.messages).map(([service, boxes]) => el("section", {},
        el("h3", {}, service),
        el("h4", {}, "outbox (sent)"), table(boxes.outbox, ["topic", "created_at", "published_at", "publish_attempts"]),
        el("h4", {}, "inbox (handled)"), table(boxes.inbox, ["type", "received_at"]),
        boxes.dead_letters && boxes.dead_letters.length
          ? [el("h4", {}, "dead letters"), table(boxes.dead_letters, ["topic", "state", "dead_at", "last_error", "settled_by", "reason"]),
            el("a", { href: `#/dead-letters?service=${service}` }, "to the dead letters →")]
          : null)),
    );
    return p;
  };
  let p = draw(await api(`/operations/purchases/${id}`, { signal }));
  // Live: the long poll answers the moment the purchase moves; then the story is read again.
  while (!signal.aborted && !ENDED.has(p.status)) {
    try {
      const moved = await api(`/saga-states/${id}?changed_after=${encodeURIComponent(p.updated_at)}&wait=25`, { signal });
      if (moved.updated_at !== p.updated_at && !signal.aborted) p = draw(await api(`/operations/purchases/${id}`, { signal }));
    } catch (error) {
      if (signal.aborted) return;
      fail(error);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

async function deadLetters(params) {
  const service = params.get("service") || SERVICES[0];
  const state = params.get("state") || "HELD";
  const page = await api(`/operations/dead-letters/${service}?state=${state}&limit=100`);
  const reason = el("input", { name: "reason", placeholder: "why (kept in the audit log)", size: 40, required: true, minlength: 3 });
  const boxes = page.dead_letters.map((d) => el("input", { type: "checkbox", value: d.id, "data-dead-letter": d.id }));
  const result = el("p", { class: "muted", id: "dead-letter-result" });
  const run = (action, all) => async (event) => {
    event.preventDefault();
    if (!reason.reportValidity()) return;
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!all && ids.length === 0) return fail("Tick the dead letters first.");
    try {
      const done = await api(`/operations/dead-letters/${service}/${action}`, {
        method: "POST", body: all ? { all: true, reason: reason.value } : { ids, reason: reason.value },
      });
      await deadLetters(params);
      const failed = Object.entries(done.failed).map(([id, why]) => `${id}: ${why}`);
      document.getElementById("dead-letter-result").textContent =
        `${action}: ${done.settled.length} done` + (failed.length ? `; failed again: ${failed.join("; ")}` : "") +
        (done.more ? "; more are held: the time of one request ran out, redrive again" : "");
    } catch (error) {
      fail(error);
    }
  };
  show(
    el("h1", {}, "Dead letters"),
    el("p", {}, SERVICES.map((s) => [el("a", { href: `#/dead-letters?service=${s}`, class: s === service ? "status" : "" }, s), " "])),
    el("p", {}, ["HELD", "REDRIVEN", "DISCARDED"].map((s) => [el("a", { href: `#/dead-letters?service=${service}&state=${s}` }, s), " "]),
      el("span", { class: "muted" }, `${page.held} held `),
      el("button", { type: "button", "data-action": "refresh", onclick: () => render() }, "Refresh")),
    state === "HELD" ? el("form", { class: "action" }, reason,
      el("button", { class: "primary", "data-action": "redrive", onclick: run("redrive", false) }, "Redrive selected"),
      el("button", { "data-action": "redrive-all", onclick: run("redrive", true) }, "Redrive all"),
      el("button", { class: "danger", "data-action": "discard", onclick: run("discard", false) }, "Discard selected")) : null,
    result,
    el("table", {}, el("thead", {}, el("tr", {}, ["", "type", "purchase", "attempts", "dead at", "state", "last error", "message"].map((h) => el("th", {}, h)))),
      el("tbody", {}, page.dead_letters.map((d, i) => el("tr", { "data-row": d.id },
        el("td", {}, state === "HELD" ? boxes[i] : ""),
        el("td", {}, d.topic),
        el("td", {}, d.correlation_id ? el("a", { href: `#/purchases/${d.correlation_id}` }, d.correlation_id) : "—"),
        el("td", {}, `${d.delivery_attempts} (dead ×${d.times_dead})`),
        el("td", {}, when(d.dead_at)),
        el("td", {}, d.state + (d.reason ? `: ${d.reason}` : "")),
        el("td", {}, d.last_error || ""),
        el("td", {}, el("pre", {}, JSON.stringify(d.message, null, 1))))))),
  );
}

// ------------------------------------------------------------------ routing
async function render() {
  leaving.abort();
  leaving = new AbortController();
  const { path, params } = hashParts();
  if (!sessionStorage.getItem(TOKEN) && path !== "/login") {
    location.hash = "#/login";
    return;
  }
  document.getElementById("nav").hidden = path === "/login";
  try {
    if (path === "/login") await login();
    else if (path === "/") await overview();
    else if (path === "/purchases") await purchases(params);
    else if (path.startsWith("/purchases/")) await purchase(decodeURIComponent(path.slice("/purchases/".length)));
    else if (path === "/dead-letters") await deadLetters(params);
    else show(el("p", {}, "No such page."));
  } catch (error) {
    if (error.name !== "AbortError") fail(error);
  }
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN);
  location.hash = "#/login";
});
window.addEventListener("hashchange", render);
render();
