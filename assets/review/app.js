// The reviewer console: a thin page over the review API. The token stays in this tab's
// sessionStorage and goes out only as a bearer header to our own origin; photos are fetched
// with it and shown from blob URLs (an <img src> cannot carry the header).
"use strict";

const $ = (id) => document.getElementById(id);
// Deadlines are Beijing working days: show Beijing time wherever the reviewer sits.
const when = (iso) => new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" });
const api = "/api/v1/review";
let token = sessionStorage.getItem("elicence-reviewer-token") || "";
let reasons = [];
let current = null; // the claimed item
let queue = [];
let awaitingReasonKey = false;

async function call(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, "Accept-Language": "zh-CN", ...(options.headers || {}) },
  });
  if (!res.ok) {
    let detail = `${res.status}`;
    try {
      const body = await res.json();
      detail = `${body.error.code}: ${body.error.message}`;
    } catch (_) { /* not JSON */ }
    const err = new Error(detail);
    err.status = res.status;
    throw err;
  }
  return res;
}

function say(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.className = isError ? "error" : "";
}

function show(section) {
  for (const id of ["sign-in", "queue", "item"]) $(id).hidden = id !== section;
  $("sign-out").hidden = section === "sign-in";
}

async function signIn(event) {
  event.preventDefault();
  token = $("token").value.trim();
  try {
    await call(`${api}/stats`);
    sessionStorage.setItem("elicence-reviewer-token", token);
    $("sign-in-error").textContent = "";
    await start();
  } catch (e) {
    token = "";
    $("sign-in-error").textContent = e.status === 403 ? "该令牌不是审核员令牌 Not a reviewer token" : `登录失败 ${e.message}`;
  }
}

async function start() {
  reasons = await (await call(`${api}/reasons`)).json();
  const list = $("reasons");
  list.replaceChildren();
  reasons.forEach((r, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = `${keyFor(i)} · ${r.message}`;
    b.dataset.reason = r.code;
    b.addEventListener("click", () => decide({ decision: "reject", reason: r.code }));
    li.append(b);
    list.append(li);
  });
  await loadQueue();
}

// Reason keys: 1-9, then 0, then letters that are not commands.
const REASON_KEYS = "1234567890bcdefghij";
const keyFor = (i) => REASON_KEYS[i] || "";

async function loadStats() {
  const s = await (await call(`${api}/stats`)).json();
  $("stats").textContent = `待审 ${s.pending} · 超时 ${s.overdue}` +
    (s.oldest_deadline ? ` · 最早截止 ${when(s.oldest_deadline)}` : "");
}

async function loadQueue() {
  show("queue");
  current = null;
  const page = await (await call(`${api}/queue?limit=50`)).json();
  queue = page.items;
  const body = $("queue-table").querySelector("tbody");
  body.replaceChildren();
  for (const item of queue) {
    const tr = document.createElement("tr");
    tr.className = `clickable${item.overdue ? " overdue" : ""}`;
    tr.dataset.id = item.id;
    const failed = item.prechecks.filter((c) => !c.passed).length;
    const cells = [
      when(item.deadline),
      item.purpose === "photo_change" ? "更换照片" : "首次申领",
      item.source === "camera" ? "拍照" : "相册",
      failed === 0 ? "全部通过" : `${failed} 项未通过`,
      item.claim ? (item.claim.mine ? "我已领取" : "他人处理中") : "",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.addEventListener("click", () => open(item.id));
    body.append(tr);
  }
  $("queue-empty").hidden = queue.length > 0;
  $("queue-table").hidden = queue.length === 0;
  await loadStats();
}

async function next() {
  const free = queue.find((i) => !i.claim || i.claim.mine);
  if (!free) {
    say("没有可领取的照片 Nothing to claim");
    return;
  }
  await open(free.id);
}

async function photoUrl(path) {
  try {
    const blob = await (await call(path)).blob();
    return URL.createObjectURL(blob);
  } catch (_) {
    return "";
  }
}

async function open(id) {
  try {
    current = await (await call(`${api}/submissions/${encodeURIComponent(id)}/claim`, { method: "POST" })).json();
  } catch (e) {
    say(`无法领取 Cannot claim: ${e.message}`, true);
    await loadQueue();
    return;
  }
  show("item");
  $("item-title").textContent = `${current.purpose === "photo_change" ? "更换照片" : "首次申领"} · ${current.licence}`;
  $("item-deadline").textContent = `截止 ${when(current.deadline)}` + (current.overdue ? "（已超时）" : "");
  $("ref-caption").textContent = current.purpose === "photo_change" ? "现电子驾驶证照片 Current" : "留存照片 On file";
  $("photo-new").src = await photoUrl(current.photo_url);
  const reference = await photoUrl(current.reference_photo_url);
  $("photo-ref").hidden = !reference;
  $("photo-ref").src = reference;
  $("no-ref").hidden = Boolean(reference);
  const body = $("checks").querySelector("tbody");
  body.replaceChildren();
  for (const c of current.prechecks) {
    const tr = document.createElement("tr");
    for (const [text, cls] of [[c.code, ""], [c.passed ? "通过" : "未通过", c.passed ? "pass" : "fail"],
      [Number(c.measured).toFixed(2), ""], [Number(c.threshold).toFixed(2), ""]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
  $("note").value = "";
  say("");
}

async function decide(decision) {
  if (!current) return;
  const note = $("note").value.trim();
  const body = decision.decision === "reject" && note ? { ...decision, note } : decision;
  try {
    const res = await call(`${api}/submissions/${encodeURIComponent(current.id)}/decision`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const outcome = await res.json();
    say(outcome.state === "approved"
      ? `已通过 Approved${outcome.e_licence_id ? `：电子驾驶证 ${outcome.e_licence_id} 已生成/更新` : ""}`
      : `已驳回 Rejected: ${outcome.rejection ? outcome.rejection.message : ""}`);
  } catch (e) {
    say(`操作失败 ${e.message}`, true);
  }
  await loadQueue();
}

function onKey(event) {
  if (event.target.tagName === "INPUT") return;
  const key = event.key.toLowerCase();
  if (!$("queue").hidden && key === "n") { next(); return; }
  if ($("item").hidden) return;
  if (key === "escape") {
    call(`${api}/submissions/${encodeURIComponent(current.id)}/release`, { method: "POST" }).catch(() => {});
    loadQueue();
  } else if (key === "a" && !awaitingReasonKey) {
    decide({ decision: "approve" });
  } else if (key === "r") {
    awaitingReasonKey = true;
    say("选择驳回原因 Pick a reason…");
  } else {
    const i = REASON_KEYS.indexOf(key);
    if (i >= 0 && i < reasons.length) {
      awaitingReasonKey = false;
      decide({ decision: "reject", reason: reasons[i].code });
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("next").addEventListener("click", next);
  $("refresh").addEventListener("click", loadQueue);
  $("approve").addEventListener("click", () => decide({ decision: "approve" }));
  $("back").addEventListener("click", () => loadQueue());
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem("elicence-reviewer-token");
    token = "";
    show("sign-in");
  });
  document.addEventListener("keydown", onKey);
  if (token) start().catch(() => show("sign-in")); else show("sign-in");
});
