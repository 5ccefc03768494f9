// Review page: replay a pad signature with its own timing, and plot pen speed and pressure
// over time for the query (blue) beside the pad references (grey). Values come from the
// server (verification/selectors/dynamics.py, rendered as #dynamics-data).
const data = JSON.parse(document.getElementById("dynamics-data").textContent);
const canvas = document.getElementById("replay-canvas");
const clock = document.getElementById("replay-clock");
const speedSelect = document.getElementById("replay-speed");
const ctx = canvas.getContext("2d");
const SVG = "http://www.w3.org/2000/svg";

const all = data.strokes.flat();
const xs = all.map((p) => p[0]);
const ys = all.map((p) => p[1]);
const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
const duration = Math.max(...all.map((p) => p[2]));
const pad = 12;
const scale = Math.min((canvas.width - 2 * pad) / Math.max(maxX - minX, 1), (canvas.height - 2 * pad) / Math.max(maxY - minY, 1));
const px = (p) => [pad + (p[0] - minX) * scale, pad + (p[1] - minY) * scale];

function draw(upTo) {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#1d4ed8";
  for (const stroke of data.strokes) {
    ctx.beginPath();
    let started = false;
    for (const p of stroke) {
      if (p[2] > upTo) break;
      const [x, y] = px(p);
      if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      started = true;
    }
    ctx.stroke();
  }
  clock.textContent = `${Math.round(Math.min(upTo, duration))} / ${Math.round(duration)} ms`;
  canvas.dataset.drawnMs = String(Math.round(Math.min(upTo, duration)));
}

let frame = null;
function play() {
  if (frame) cancelAnimationFrame(frame);
  const rate = Number(speedSelect.value) || 1;
  const start = performance.now();
  canvas.dataset.state = "playing";
  const step = (now) => {
    const t = (now - start) * rate;
    draw(t);
    if (t < duration) frame = requestAnimationFrame(step);
    else { frame = null; canvas.dataset.state = "done"; }
  };
  frame = requestAnimationFrame(step);
}

function plot(el, key, label, unit) {
  const series = [...data.references.map((r) => ({ p: r.profile, color: "#9ca3af" })), { p: data.profile, color: "#1d4ed8" }]
    .filter((s) => s.p && s.p[key]);
  if (!series.length) { el.innerHTML = `<p class="muted">${label}: not reported by the device</p>`; return; }
  const W = 320, H = 90, L = 4;
  const tMax = Math.max(...series.map((s) => s.p.duration_ms), 1);
  const vMax = Math.max(...series.flatMap((s) => s.p[key]), 1e-6);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 14}`);
  svg.setAttribute("width", "100%");
  svg.dataset.series = String(series.length);
  for (const s of series) {
    const path = document.createElementNS(SVG, "polyline");
    const pts = s.p[key].map((v, i) => `${(L + (s.p.t_ms[i] / tMax) * (W - 2 * L)).toFixed(1)},${(H - (v / vMax) * (H - 4)).toFixed(1)}`);
    path.setAttribute("points", pts.join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", s.color);
    path.setAttribute("stroke-width", s.color === "#1d4ed8" ? "2" : "1");
    svg.appendChild(path);
  }
  const text = document.createElementNS(SVG, "text");
  text.setAttribute("x", "4");
  text.setAttribute("y", String(H + 12));
  text.setAttribute("font-size", "10");
  text.textContent = `${label} (${unit}) over ${Math.round(tMax)} ms`;
  svg.appendChild(text);
  el.replaceChildren(svg);
}

plot(document.getElementById("speed-plot"), "speed", "speed", "heights/s");
plot(document.getElementById("pressure-plot"), "pressure", "pressure", "0-1");
document.getElementById("replay-play").addEventListener("click", play);
draw(duration);
canvas.dataset.state = "ready";
