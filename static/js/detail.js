// Verification detail: show signatures as signed / as the model sees them, and the charts.
import { rangeChart, scoreChart } from "./charts.js";

const sigs = document.getElementById("sigs");
document.querySelectorAll(".view-toggle button").forEach((button) => {
  button.addEventListener("click", () => {
    sigs.dataset.view = button.dataset.view;
    document.querySelectorAll(".view-toggle button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  });
});

const series = JSON.parse(document.getElementById("series-data").textContent);
const profile = JSON.parse(document.getElementById("profile-data").textContent);
const current = JSON.parse(document.getElementById("current-data").textContent);
scoreChart(document.getElementById("history-chart"), series, { highlight: current.id, height: 200 });
const range = document.getElementById("range-chart");
if (range && profile) rangeChart(range, profile, current.score);
