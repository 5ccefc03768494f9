// A websocket that reconnects with exponential backoff (and jitter), and asks nothing of
// the server but to send its snapshot on connect, as SigWeb's consumers do.
// Close codes 4401/4403 (not signed in / not allowed) are final: no reconnect.

export function wsUrl(path) {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${path}`;
}

export class LiveSocket {
  constructor(path, { onMessage, onStatus, minDelay = 500, maxDelay = 15000 } = {}) {
    this.url = wsUrl(path);
    this.onMessage = onMessage || (() => {});
    this.onStatus = onStatus || (() => {});
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this._timer = null;
    window.addEventListener("online", () => this._reconnectNow());
  }

  start() {
    this.stopped = false;
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this._timer);
    if (this.socket) this.socket.close(1000);
  }

  send(obj) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(obj));
  }

  _reconnectNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this._timer);
    this.attempt = 0;
    this._connect();
  }

  _connect() {
    this.onStatus(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onStatus("live");
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      this.onMessage(data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      if (event.code === 4401 || event.code === 4403) {
        this.stopped = true;
        this.onStatus("denied");
        return;
      }
      if (this.stopped) { this.onStatus("closed"); return; }
      const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
      const delay = base / 2 + Math.random() * base / 2;
      this.attempt += 1;
      this.onStatus("reconnecting", delay);
      this._timer = setTimeout(() => this._connect(), delay);
    });
  }
}

export function statusLabel(el, state) {
  if (!el) return;
  const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", denied: "Not allowed", closed: "Offline" };
  el.textContent = labels[state] || state;
  el.dataset.state = state;
}
