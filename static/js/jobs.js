// A list of jobs with live progress bars (used by the dashboard and the jobs page).
import { rules } from "./rules.js";
const KIND = rules.job_kinds; // Job.Kind labels, from the server (static/js/rules.js)

export function jobsPanel(container, { limit = 10 } = {}) {
  const jobs = new Map();

  function render() {
    const list = [...jobs.values()].sort((a, b) => {
      const activeA = a.status === "queued" || a.status === "running", activeB = b.status === "queued" || b.status === "running";
      if (activeA !== activeB) return activeA ? -1 : 1;
      return (b.created_at || "").localeCompare(a.created_at || "");
    }).slice(0, limit);
    if (!list.length) { container.innerHTML = '<p class="empty">No jobs yet.</p>'; return; }
    container.replaceChildren(...list.map((j) => {
      const div = document.createElement("div");
      div.className = "job";
      div.dataset.job = j.id;
      div.dataset.status = j.status;
      const label = `${KIND[j.kind] || j.kind}${j.customer ? ` · customer ${j.customer}` : ""}`;
      div.innerHTML = `<strong></strong><span class="badge badge--${j.status}">${j.status}</span>
        <div class="progress progress--${j.status}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${j.progress}"><span class="progress__bar" style="width:${j.progress}%"></span></div>
        <span class="job__msg"></span>`;
      div.querySelector("strong").textContent = label;
      div.querySelector(".progress").setAttribute("aria-label", `${label}: ${j.progress}%`);
      div.querySelector(".job__msg").textContent = j.error ? `${j.message}: ${j.error.slice(0, 160)}` : `${j.progress}% · ${j.message || ""}`;
      return div;
    }));
  }

  const finished = (j) => j && (j.status === "succeeded" || j.status === "failed");
  const keep = (j) => { if (!(finished(jobs.get(j.id)) && !finished(j))) jobs.set(j.id, j); };
  return {
    snapshot(list) { list.forEach(keep); render(); },
    update(job) { keep(job); render(); },
  };
}
