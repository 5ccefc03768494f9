// Admin customer page: the threshold trade-off plot and this customer's jobs, live.
import { tradeoffChart } from "./charts.js";
import { jobsPanel } from "./jobs.js";
import { LiveSocket } from "./live.js";

const profile = JSON.parse(document.getElementById("profile-data").textContent);
const plot = document.getElementById("tradeoff");
if (plot && profile) tradeoffChart(plot, profile);

const jobsEl = document.getElementById("jobs");
const customer = Number(jobsEl.dataset.customer);
const panel = jobsPanel(jobsEl, { limit: 10 });
new LiveSocket(`/ws/customer/${customer}/`, {
  onMessage(msg) {
    if (msg.type === "snapshot") panel.snapshot(msg.jobs || []);
    else if (msg.type === "job") panel.update(msg.job);
  },
}).start();
