// The signature pad: szimek's signature_pad (vendored, global SignaturePad) on a canvas that
// follows its container's width, with undo, clear and immediate quality checks.
// Points are kept raw: throttle 0 and minDistance 0, so every pointer event is a point
// with x, y, time and pressure (toData()).

export const QUALITY = {
  minPoints: 25,        // fewer points than this is not a signature
  minWidthFrac: 0.18,   // the ink must span this share of the pad's width...
  minHeightPx: 18,      // ...and be at least this tall (CSS pixels)
  minDurationMs: 250,   // a signature takes longer than a quarter second
  maxSpeed: 8,          // average pen speed, CSS px per ms
};

export function measure(data) {
  let points = 0, minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  let length = 0, duration = 0;
  for (const group of data) {
    const pts = group.points || [];
    points += pts.length;
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i];
      minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
      minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
      if (i > 0) length += Math.hypot(p.x - pts[i - 1].x, p.y - pts[i - 1].y);
    }
    if (pts.length > 1) duration += pts[pts.length - 1].time - pts[0].time;
  }
  return {
    points,
    strokes: data.length,
    width: points ? maxX - minX : 0,
    height: points ? maxY - minY : 0,
    length,
    duration,
    speed: duration > 0 ? length / duration : Infinity,
  };
}

// -> {ok: bool, code, message}
export function checkQuality(data, padWidth) {
  const m = measure(data);
  if (m.points === 0) return { ok: false, code: "blank", message: "The pad is empty — please sign inside the box.", m };
  if (m.points < QUALITY.minPoints) return { ok: false, code: "too_few_points", message: "That's too short to be a signature. Please sign your full signature.", m };
  if (m.width < QUALITY.minWidthFrac * padWidth || m.height < QUALITY.minHeightPx) {
    return { ok: false, code: "too_small", message: "Your signature is very small. Please sign larger, using more of the box.", m };
  }
  if (m.duration < QUALITY.minDurationMs || m.speed > QUALITY.maxSpeed) {
    return { ok: false, code: "too_fast", message: "That was drawn very fast. Please sign at your normal pace.", m };
  }
  return { ok: true, code: "ok", message: "Looks good.", m };
}

export class Pad {
  constructor(canvas, { onChange } = {}) {
    this.canvas = canvas;
    this.onChange = onChange || (() => {});
    this.pad = new window.SignaturePad(canvas, {
      throttle: 0,
      minDistance: 0,
      minWidth: 0.8,
      maxWidth: 2.8,
      penColor: "#14213d",
      backgroundColor: "rgba(0,0,0,0)",
    });
    this.pad.addEventListener("endStroke", () => this.onChange());
    this._resize = this._resize.bind(this);
    window.addEventListener("resize", this._resize);
    this._resize();
    canvas.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); this.undo(); }
    });
  }

  _resize() {
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width) return;
    const data = this.pad.toData();
    const oldWidth = this._cssWidth || rect.width;
    this.canvas.width = rect.width * ratio;
    this.canvas.height = rect.height * ratio;
    this.canvas.getContext("2d").scale(ratio, ratio);
    this._cssWidth = rect.width;
    // keep what was drawn, scaled to the new width
    const k = rect.width / oldWidth;
    const scaled = data.map((g) => ({ ...g, points: g.points.map((p) => ({ ...p, x: p.x * k, y: p.y * k })) }));
    this.pad.clear();
    if (scaled.length) this.pad.fromData(scaled);
  }

  get width() { return this._cssWidth || this.canvas.getBoundingClientRect().width; }
  isEmpty() { return this.pad.isEmpty(); }
  toData() { return this.pad.toData(); }
  toPNG() { return this.pad.toDataURL("image/png"); }

  clear() {
    this.pad.clear();
    this.onChange();
  }

  undo() {
    const data = this.pad.toData();
    if (data.length) {
      data.pop();
      this.pad.fromData(data);
    }
    this.onChange();
  }

  // The strokes as the API takes them: [{points: [{x, y, time, pressure}]}]
  strokes() {
    return this.pad.toData().map((g) => ({
      points: g.points.map((p) => ({ x: +p.x.toFixed(2), y: +p.y.toFixed(2), time: p.time, pressure: +(p.pressure ?? 0).toFixed(3) })),
    }));
  }

  setEnabled(on) {
    if (on) this.pad.on(); else this.pad.off();
    this.canvas.setAttribute("aria-disabled", on ? "false" : "true");
  }
}
