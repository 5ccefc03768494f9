// Jobs page: progress bars of the listed jobs move live; new jobs appear at the top.
import { rules } from "./rules.js";
import { LiveSocket, statusLabel } from "./live.js";

const tbody = document.querySelector("#jobs-table tbody");
const KIND = rules.job_kinds; // Job.Kind labels, from the server (static/js/rules.js)

function update(job) {
  const prev = tbody.querySelector(`tr[data-job="${job.id}"] [data-role="status"]`);
  if (prev && ["succeeded", "failed"].includes(prev.textContent.trim()) && !["succeeded", "failed"].includes(job.status)) return;
  let tr = tbody.querySelector(`tr[data-job="${job.id}"]`);
  if (!tr) {
    if (new URLSearchParams(location.search).get("page") > 1) return;
    tr = document.createElement("tr");
    tr.dataset.job = job.id;
    tr.innerHTML = `<td></td><td>${job.customer ? `<a href="/manage/customers/${job.customer}/">customer ${job.customer}</a>` : '<span class="muted">–</span>'}</td>
      <td>${new Date(job.created_at).toLocaleTimeString()}</td>
      <td><div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-label="Progress"><span class="progress__bar"></span></div></td>
      <td><span class="badge" data-role="status"></span></td><td class="muted" data-role="message"></td>`;
    tr.firstElementChild.textContent = KIND[job.kind] || job.kind;
    tbody.querySelector(".empty")?.closest("tr")?.remove();
    tbody.prepend(tr);
    tr.classList.add("is-new");
  }
  const bar = tr.querySelector(".progress");
  bar.className = `progress progress--${job.status}`;
  bar.setAttribute("aria-valuenow", job.progress);
  bar.firstElementChild.style.width = `${job.progress}%`;
  const status = tr.querySelector('[data-role="status"]');
  status.className = `badge badge--${job.status}`;
  status.textContent = job.status;
  tr.querySelector('[data-role="message"]').textContent = (job.error || job.message || "").slice(0, 120);
}

new LiveSocket("/ws/dashboard/", {
  onStatus: (s) => statusLabel(document.querySelector('[data-role="live-status"]'), s),
  onMessage(msg) {
    if (msg.type === "snapshot") (msg.jobs || []).filter((j) => tbody.querySelector(`tr[data-job="${j.id}"]`)).forEach(update);
    else if (msg.type === "job") update(msg.job);
  },
}).start();
