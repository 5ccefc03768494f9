// The customer's signing page: enrollment (N samples, with progress) and verification,
// whose result arrives live over /ws/customer/<id>/ (polling the API is only a fallback).
import { LiveSocket } from "./live.js";
import { Pad, checkQuality } from "./pad.js";

const root = document.getElementById("sign");
const $ = (role) => root.querySelector(`[data-role="${role}"]`);
const token = root.dataset.token;
const customer = Number(root.dataset.customer);
const mode = root.dataset.mode;
const needed = Number(root.dataset.needed);
let collected = Number(root.dataset.collected);
let busy = false;

const feedback = $("feedback");
const submitBtn = root.querySelector('[data-action="submit"]');
root.querySelector(".js-pad").hidden = false;
const upload = document.getElementById("upload");

const pad = new Pad($("canvas"), {
  onChange() {
    $("hint").hidden = !pad.isEmpty();
    setFeedback("", "");
  },
});

function setFeedback(text, kind) {
  feedback.textContent = text;
  feedback.dataset.kind = kind || "";
}

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Signing ${token}`, "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return data;
}

// ------------------------------------------------------------------ live results

const seenVerifications = new Map();
// A finished verification never goes back to pending, whatever order messages arrive in.
const keep = (v) => { const old = seenVerifications.get(v.id); if (!(old && old.status !== "pending" && v.status === "pending")) seenVerifications.set(v.id, v); };
const seenJobs = new Map();
const waiters = [];

function deliver() {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i];
    const item = w.kind === "verification" ? seenVerifications.get(w.id) : seenJobs.get(w.id);
    if (item && w.done(item)) { waiters.splice(i, 1); w.resolve(item); }
  }
}

const live = new LiveSocket(`/ws/customer/${customer}/?token=${encodeURIComponent(token)}`, {
  onMessage(msg) {
    if (msg.type === "snapshot") {
      (msg.verifications || []).forEach(keep);
      (msg.jobs || []).forEach((j) => seenJobs.set(j.id, j));
    } else if (msg.type === "verification") {
      keep(msg.verification);
    } else if (msg.type === "job") {
      seenJobs.set(msg.job.id, msg.job);
    }
    deliver();
  },
}).start();

// Resolve when the socket brings the item (or, as a fallback, when polling the API does);
// reject with a message for the customer after data-wait-seconds (a setting on the server).
const waitSeconds = Number(root.dataset.waitSeconds) || 120;
const WAIT_TIMEOUT_MESSAGE =
  "This is taking longer than it should. Your signature was received, but we could not get a result yet. Please try again in a few minutes.";

function waitFor(kind, id, done, pollPath, timeoutSeconds = waitSeconds) {
  return new Promise((resolve, reject) => {
    let timer = null;
    const finish = (item) => { clearTimeout(timer); resolve(item); };
    const w = { kind, id, done, resolve: finish };
    waiters.push(w);
    timer = setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) waiters.splice(i, 1);
      root.dataset.state = "timeout";
      reject(new Error(WAIT_TIMEOUT_MESSAGE));
    }, timeoutSeconds * 1000);
    deliver();
    let tries = 0;
    const poll = async () => {
      if (!waiters.includes(w)) return;
      tries += 1;
      try {
        const item = await api(pollPath);
        if (done(item) && waiters.includes(w)) { waiters.splice(waiters.indexOf(w), 1); finish(item); return; }
      } catch { /* keep waiting */ }
      setTimeout(poll, Math.min(5000, 1000 * tries));
    };
    setTimeout(poll, 4000);
  });
}

// ------------------------------------------------------------------ results panel

const result = $("result");
function showResult(kind, title, text) {
  result.hidden = false;
  result.className = `result result--${kind}`;
  $("result-title").textContent = title;
  $("result-text").textContent = text;
  result.focus();
}

const OUTCOMES = {
  accept: ["accept", "Signature verified", "Thank you — your signature matches the one you enrolled."],
  review: ["review", "Sent for review", "An analyst will compare it with your enrolled signatures. You don't need to do anything."],
  reject: ["reject", "We could not verify your signature", "It was passed to an analyst. You can also try again."],
};

// ------------------------------------------------------------------ enrollment


function renderProgress() {
  const current = root.querySelector('[data-role="current"]');
  if (current) current.textContent = String(Math.min(collected + 1, needed));
  const bar = $("bar");
  if (bar) {
    bar.style.width = `${Math.min(100, (100 * collected) / needed)}%`;
    bar.parentElement.setAttribute("aria-valuenow", String(Math.min(collected, needed)));
  }
}

function addThumbnail(png) {
  const list = $("samples");
  if (!list) return;
  const li = document.createElement("li");
  const img = document.createElement("img");
  img.src = png;
  img.alt = `Signature ${collected} saved`;
  li.appendChild(img);
  list.appendChild(li);
}

async function finishEnrollment() {
  submitBtn.disabled = true;
  pad.setEnabled(false);
  $("canvas").closest(".pad").classList.add("pad--done");
  root.querySelector("#enroll-status").textContent = "Learning your signature…";
  const started = await api(`/api/customers/${customer}/enrollment/`, {});
  const jobId = started.job.id;
  if (!seenJobs.has(jobId) || ["queued", "running"].includes(seenJobs.get(jobId).status)) seenJobs.set(jobId, started.job);
  const job = await waitFor("job", jobId, (j) => j.status === "succeeded" || j.status === "failed", `/api/jobs/${jobId}/`);
  if (job.status === "failed") throw new Error("Enrollment failed. Please ask your bank for a new enrollment link.");
  root.querySelector("#enroll-status").textContent = "Enrollment complete";
  showResult("accept", "You're enrolled", "Your signature is saved. Next time, you can confirm with it.");
  const link = document.createElement("a");
  link.href = window.location.pathname;
  link.className = "btn btn--primary";
  link.textContent = "Verify a signature now";
  link.dataset.action = "continue";
  $("result-text").after(link);
  root.dataset.state = "enrolled";
}

async function saveSample() {
  const png = pad.toPNG();
  const saved = await api(`/api/customers/${customer}/references/`, { strokes: pad.strokes(), source: "pad" });
  collected += 1;
  addThumbnail(png);
  pad.clear();
  renderProgress();
  if (saved.enrollment_ready) { // the server decides when the samples are complete
    setFeedback(`All ${needed} signatures saved.`, "ok");
    await finishEnrollment();
  } else if (saved.warning) { // the server's pace check (services/pad_dynamics.py)
    setFeedback(`Saved (${collected} of ${needed} done). ${saved.warning}`, "warn");
  } else {
    setFeedback(`Saved. Please sign again (${collected} of ${needed} done).`, "ok");
    $("canvas").focus();
  }
}

// ------------------------------------------------------------------ verification

async function verify() {
  submitBtn.disabled = true;
  pad.setEnabled(false);
  result.hidden = true;
  setFeedback("Checking your signature…", "busy");
  const created = await api("/api/verifications/", { customer, strokes: pad.strokes(), source: "pad" });
  const id = created.verification.id;
  keep(created.verification);
  const v = await waitFor("verification", id, (x) => x.status !== "pending", `/api/verifications/${id}/`);
  setFeedback("", "");
  root.dataset.state = v.status === "done" ? v.decision : "failed";
  root.dataset.verification = String(id);
  if (v.status !== "done") {
    showResult("reject", "We could not check this signature", "Please try again.");
  } else {
    showResult(...OUTCOMES[v.decision]);
  }
  pad.clear();
  pad.setEnabled(true);
  submitBtn.disabled = false;
}

// ------------------------------------------------------------------ wiring

root.querySelector('[data-action="undo"]').addEventListener("click", () => pad.undo());
root.querySelector('[data-action="clear"]').addEventListener("click", () => pad.clear());
submitBtn.addEventListener("click", async () => {
  if (busy) return;
  const q = checkQuality(pad.toData(), pad.width);
  if (!q.ok) {
    setFeedback(q.message, "warn");
    root.dataset.quality = q.code;
    return;
  }
  root.dataset.quality = "ok";
  busy = true;
  try {
    if (mode === "enroll") await saveSample(); else await verify();
  } catch (err) {
    setFeedback(err.message, "error");
    pad.setEnabled(true);
    submitBtn.disabled = false;
  } finally {
    busy = false;
  }
});

renderProgress();
if (upload && !upload.open) upload.classList.add("upload--secondary");
if (root.dataset.enrollmentReady === "1") { // the server's rule (link_enrollment_ready)
  setFeedback("All signatures are saved; finishing your enrollment.", "ok");
  finishEnrollment().catch((err) => setFeedback(err.message, "error"));
} else if (root.dataset.enrolling === "1") {
  setFeedback("Your enrollment is being prepared. This page will update.", "busy");
}
window.sigwebPad = pad; // for support staff and tests: raw strokes stay inspectable
