// Small inline-SVG charts: scores over time and an enrollment's threshold trade-off.
import { rules } from "./rules.js";
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(width, height, m) {
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", preserveAspectRatio: "xMidYMid meet", "aria-hidden": "true" });
  const y = (v) => m.top + (1 - v) * (height - m.top - m.bottom);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.appendChild(el("line", { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid-line" }));
    svg.appendChild(el("text", { x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(2)));
  }
  return { svg, y };
}

// series: [{id, t, score, threshold, decision}], oldest first
export function scoreChart(container, series, { highlight = null, margin = rules.review_margin, width = 720, height = 240 } = {}) {
  const m = { top: 12, right: 12, bottom: 26, left: 40 };
  const { svg, y } = frame(width, height, m);
  const n = series.length;
  const x = (i) => m.left + (n <= 1 ? 0.5 : i / (n - 1)) * (width - m.left - m.right);
  if (!n) {
    svg.appendChild(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "No verifications yet"));
  } else {
    // threshold line (and its review band) as a step path
    let band = "", line = "";
    series.forEach((p, i) => {
      const t = p.threshold ?? 0.5;
      const x0 = n <= 1 ? m.left : x(Math.max(0, i - 0.5)), x1 = n <= 1 ? width - m.right : x(Math.min(n - 1, i + 0.5));
      band += `<rect x="${x0}" width="${Math.max(0.5, x1 - x0)}" y="${y(t)}" height="${Math.max(0, y(Math.max(0, t - margin)) - y(t))}" />`;
      line += `${i ? "L" : "M"}${x0} ${y(t)} L${x1} ${y(t)} `;
    });
    const bandG = el("g", { class: "band" });
    bandG.innerHTML = band;
    svg.appendChild(bandG);
    svg.appendChild(el("path", { d: line, class: "threshold", fill: "none" }));
    series.forEach((p, i) => {
      const c = el("circle", { cx: x(i), cy: y(Math.max(0, Math.min(1, p.score))), r: p.id === highlight ? 6 : 3.6, class: `pt-${p.decision}${p.id === highlight ? " pt-current" : ""}` });
      c.appendChild(el("title", {}, `#${p.id} ${p.decision} ${p.score.toFixed(3)} · ${new Date(p.t).toLocaleString()}`));
      svg.appendChild(c);
    });
    const first = new Date(series[0].t), last = new Date(series[n - 1].t);
    svg.appendChild(el("text", { x: m.left, y: height - 6 }, first.toLocaleString()));
    svg.appendChild(el("text", { x: width - m.right, y: height - 6, "text-anchor": "end" }, last.toLocaleString()));
  }
  container.replaceChildren(svg);
}

// profile: {genuine: [...], impostor: [...], threshold, model_threshold}
export function tradeoffChart(container, profile, { width = 560, height = 260 } = {}) {
  const m = { top: 14, right: 14, bottom: 34, left: 40 };
  const { svg, y: yOf } = frame(width, height, m);
  const x = (t) => m.left + t * (width - m.left - m.right);
  const y = (v) => yOf(v);
  const gen = profile.genuine || [], imp = profile.impostor || [];
  let far = "", frr = "";
  for (let i = 0; i <= 100; i++) {
    const t = i / 100;
    const fr = gen.length ? gen.filter((s) => s < t).length / gen.length : 0;
    const fa = imp.length ? imp.filter((s) => s >= t).length / imp.length : 0;
    frr += `${i ? "L" : "M"}${x(t).toFixed(1)} ${y(fr).toFixed(1)} `;
    far += `${i ? "L" : "M"}${x(t).toFixed(1)} ${y(fa).toFixed(1)} `;
  }
  if (gen.length) svg.appendChild(el("path", { d: frr, class: "curve-frr" }));
  if (imp.length) svg.appendChild(el("path", { d: far, class: "curve-far" }));
  // score ticks: genuine (above the axis) and impostor (below)
  gen.forEach((s) => svg.appendChild(el("line", { x1: x(s), x2: x(s), y1: y(0) - 10, y2: y(0), stroke: "var(--accept)", "stroke-width": 2 })));
  imp.forEach((s) => svg.appendChild(el("line", { x1: x(s), x2: x(s), y1: y(0) + 2, y2: y(0) + 10, stroke: "var(--reject)", "stroke-width": 2 })));
  for (const [t, label, dash] of [[profile.threshold, "this customer", "5 4"], [profile.model_threshold, "model", "2 3"]]) {
    if (t === null || t === undefined) continue;
    svg.appendChild(el("line", { x1: x(t), x2: x(t), y1: m.top, y2: y(0), class: "threshold", "stroke-dasharray": dash }));
    const right = t > 0.75;
    svg.appendChild(el("text", { x: x(t) + (right ? -4 : 4), y: m.top + 10 + (label === "model" ? 14 : 0), "text-anchor": right ? "end" : "start" }, `${label} ${t.toFixed(2)}`));
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) svg.appendChild(el("text", { x: x(t), y: height - 8, "text-anchor": "middle" }, t.toFixed(2)));
  container.replaceChildren(svg);
}

// One score on a 0..1 axis against the customer's genuine and impostor scores.
export function rangeChart(container, profile, score, { width = 360, height = 86, margin = rules.review_margin } = {}) {
  const m = { left: 12, right: 12 };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", "aria-hidden": "true" });
  const x = (t) => m.left + Math.max(0, Math.min(1, t)) * (width - m.left - m.right);
  const axisY = 44;
  const t = profile.threshold;
  svg.appendChild(el("rect", { x: x(Math.max(0, t - margin)), width: x(t) - x(Math.max(0, t - margin)), y: 18, height: 40, class: "band" }));
  svg.appendChild(el("line", { x1: x(0), x2: x(1), y1: axisY, y2: axisY, class: "axis" }));
  (profile.impostor || []).forEach((s) => svg.appendChild(el("line", { x1: x(s), x2: x(s), y1: axisY, y2: axisY + 12, stroke: "var(--reject)", "stroke-width": 2, opacity: 0.7 })));
  (profile.genuine || []).forEach((s) => svg.appendChild(el("line", { x1: x(s), x2: x(s), y1: axisY - 12, y2: axisY, stroke: "var(--accept)", "stroke-width": 2.5 })));
  svg.appendChild(el("line", { x1: x(t), x2: x(t), y1: 14, y2: 62, class: "threshold" }));
  svg.appendChild(el("text", { x: x(t), y: 11, "text-anchor": "middle" }, `threshold ${t.toFixed(2)}`));
  if (score !== null && score !== undefined) {
    svg.appendChild(el("circle", { cx: x(score), cy: axisY, r: 7, fill: "none", stroke: "var(--ink)", "stroke-width": 2.5 }));
  }
  for (const v of [0, 0.5, 1]) svg.appendChild(el("text", { x: x(v), y: height - 6, "text-anchor": "middle" }, v.toFixed(1)));
  container.replaceChildren(svg);
}
