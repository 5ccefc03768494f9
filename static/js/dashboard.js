// The analyst dashboard: live feed, jobs, counters and the score chart, over /ws/dashboard/.
import { LiveSocket, statusLabel } from "./live.js";
import { scoreChart } from "./charts.js";
import { jobsPanel } from "./jobs.js";

const feed = document.querySelector("#feed tbody");
const chartEl = document.getElementById("score-chart");
const series = JSON.parse(document.getElementById("series-data").textContent);
const rows = new Map();
const names = new Map();
const jobs = jobsPanel(document.getElementById("jobs"), { onlyActive: false, limit: 8 });

scoreChart(chartEl, series);

async function customerName(id) {
  if (names.has(id)) return names.get(id);
  const pending = fetch(`/api/customers/${id}/`, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((c) => (c ? `${c.name} (${c.external_ref})` : `Customer ${id}`))
    .catch(() => `Customer ${id}`);
  names.set(id, pending);
  return pending;
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "");

function badge(v) {
  if (v.status === "pending") return '<span class="badge badge--pending">scoring…</span>';
  if (v.status === "failed") return '<span class="badge badge--failed">failed</span>';
  const reviewed = v.reviewed ? ' <span class="badge">reviewed</span>' : "";
  return `<span class="badge badge--${v.decision}">${v.decision}</span>${reviewed}`;
}

const latest = new Map();

// Messages can arrive out of order (in-process jobs finish before "pending" is sent):
// a finished verification never goes back to pending.
function newer(v) {
  const old = latest.get(v.id);
  if (old && old.status !== "pending" && v.status === "pending") return false;
  latest.set(v.id, v);
  return true;
}

function renderRow(v, isNew) {
  if (!newer(v)) return;
  let tr = rows.get(v.id);
  if (!tr) {
    tr = document.createElement("tr");
    tr.dataset.id = v.id;
    rows.set(v.id, tr);
    const after = [...feed.querySelectorAll("tr[data-id]")].find((r) => Number(r.dataset.id) < v.id);
    feed.insertBefore(tr, after || null);
    feed.querySelector(".empty-row")?.remove();
  }
  tr.dataset.status = v.status;
  tr.dataset.decision = v.decision || "";
  tr.innerHTML = `<td class="mono">${v.id}</td><td data-role="name">Customer ${v.customer}</td><td>${fmtTime(v.created_at)}</td>
    <td>${v.channel}</td><td class="num">${v.score === null ? "–" : v.score.toFixed(3)}</td><td>${badge(v)}</td>
    <td><a class="btn btn--ghost btn--small" href="/dashboard/verifications/${v.id}/">Open<span class="visually-hidden"> verification ${v.id}</span></a></td>`;
  customerName(v.customer).then((name) => { const td = tr.querySelector('[data-role="name"]'); if (td) td.textContent = name; });
  if (isNew) { tr.classList.remove("is-new"); void tr.offsetWidth; tr.classList.add("is-new"); }
  while (feed.querySelectorAll("tr[data-id]").length > 50) {
    const last = feed.querySelector("tr[data-id]:last-child");
    rows.delete(Number(last.dataset.id));
    last.remove();
  }
}

function addToChart(v) {
  if (v.status !== "done" || v.score === null || series.some((p) => p.id === v.id)) return;
  series.push({ id: v.id, t: v.created_at, score: v.score, threshold: v.threshold, decision: v.decision, customer: v.customer });
  while (series.length > 200) series.shift();
  scoreChart(chartEl, series);
}

let counterTimer = null;
function refreshCounters() {
  clearTimeout(counterTimer);
  counterTimer = setTimeout(async () => {
    const r = await fetch("/dashboard/counters.json", { credentials: "same-origin" }).catch(() => null);
    if (!r || !r.ok) return;
    const c = await r.json();
    document.querySelectorAll("[data-counter]").forEach((node) => {
      const value = c[node.dataset.counter];
      if (value === undefined) return;
      node.textContent = node.dataset.format === "pct" ? (value === null ? "–" : `${Math.round(value * 100)}%`) : String(value);
    });
  }, 300);
}

const live = new LiveSocket("/ws/dashboard/", {
  onStatus: (s) => statusLabel(document.querySelector('[data-role="live-status"]'), s),
  onMessage(msg) {
    if (msg.type === "snapshot") {
      const list = [...(msg.verifications || [])].sort((a, b) => a.id - b.id);
      if (!list.length && !rows.size) feed.querySelector(".empty-row td").textContent = "No verifications yet.";
      list.forEach((v) => renderRow(v, false));
      jobs.snapshot(msg.jobs || []);
      refreshCounters();
    } else if (msg.type === "verification") {
      renderRow(msg.verification, true);
      addToChart(msg.verification);
      refreshCounters();
    } else if (msg.type === "job") {
      jobs.update(msg.job);
    }
  },
}).start();
window.sigwebLive = live;
