// Documents page: upload, watch the detection job, draw the boxes over each page, pick one
// and a customer, verify. Limits and decisions come from the server's answers.
const form = document.getElementById("doc-form");
const statusLine = document.getElementById("doc-status");
const progress = document.getElementById("doc-progress");
const pagesBox = document.getElementById("doc-pages");
const verifyForm = document.getElementById("verify-form");
const verifyButton = document.getElementById("verify-button");
const customerSelect = document.getElementById("verify-customer");
const result = document.getElementById("verify-result");
const csrf = () => form.querySelector("input[name=csrfmiddlewaretoken]").value;
let selected = null;

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { Accept: "application/json", "X-CSRFToken": csrf(), ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  return body;
}

function setProgress(value, message) {
  progress.hidden = false;
  progress.setAttribute("aria-valuenow", String(value));
  progress.querySelector(".progress__bar").style.width = `${value}%`;
  statusLine.textContent = message;
}

function pick(button, candidate, page) {
  pagesBox.querySelectorAll(".docbox").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  selected = candidate;
  document.getElementById("cand-figure").hidden = false;
  document.getElementById("cand-none").hidden = true;
  document.getElementById("cand-crop").src = candidate.crop_url;
  document.getElementById("cand-caption").textContent = `Page ${page.number}, signature ${candidate.rank} (score ${candidate.score.toFixed(2)})`;
  verifyButton.disabled = !customerSelect.value;
}

function render(doc) {
  pagesBox.replaceChildren();
  for (const page of doc.pages) {
    const figure = document.createElement("figure");
    figure.className = "docpage";
    const frame = document.createElement("div");
    frame.className = "docpage__frame";
    const img = document.createElement("img");
    img.src = page.image_url;
    img.alt = `Page ${page.number} of ${doc.page_count} (${page.file_name})`;
    frame.append(img);
    for (const c of page.candidates) {
      const [x0, y0, x1, y1] = c.box;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "docbox";
      b.setAttribute("aria-pressed", "false");
      b.setAttribute("aria-label", `Signature ${c.rank} on page ${page.number}, score ${c.score.toFixed(2)}`);
      b.dataset.candidate = String(c.id);
      Object.assign(b.style, {
        left: `${(100 * x0) / page.width}%`,
        top: `${(100 * y0) / page.height}%`,
        width: `${(100 * (x1 - x0)) / page.width}%`,
        height: `${(100 * (y1 - y0)) / page.height}%`,
      });
      b.addEventListener("click", () => pick(b, c, page));
      frame.append(b);
    }
    const caption = document.createElement("figcaption");
    caption.textContent = `Page ${page.number}: ${page.result}`;
    figure.append(frame, caption);
    pagesBox.append(figure);
  }
}

async function watch(doc) {
  while (doc.status === "pending") {
    setProgress(doc.job ? doc.job.progress : 0, doc.job ? doc.job.message : "queued");
    await new Promise((r) => setTimeout(r, 400));
    doc = await api(`/api/documents/${doc.id}/`);
  }
  if (doc.status === "failed") {
    setProgress(100, `Detection failed: ${doc.error}`);
    return;
  }
  const found = doc.candidate_count;
  setProgress(100, found ? `${found} signature(s) found on ${doc.page_count} page(s)` : "No signature found");
  render(doc);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  selected = null;
  verifyButton.disabled = true;
  result.replaceChildren();
  setProgress(0, "Uploading…");
  try {
    await watch(await api("/api/documents/", { method: "POST", body: new FormData(form) }));
  } catch (error) {
    statusLine.textContent = error.message;
  }
});

customerSelect.addEventListener("change", () => {
  verifyButton.disabled = !(selected && customerSelect.value);
});

verifyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!selected || !customerSelect.value) return;
  verifyButton.disabled = true;
  result.textContent = "Verifying…";
  try {
    const body = await api("/api/verifications/?wait=10", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: Number(customerSelect.value), candidate: selected.id, channel: "branch" }),
    });
    const v = body.verification;
    const badge = document.createElement("span");
    badge.className = `badge badge--${v.decision || v.status}`;
    badge.id = "verify-decision";
    badge.textContent = v.decision || v.status;
    const link = document.createElement("a");
    link.href = `/dashboard/verifications/${v.id}/`;
    link.textContent = `Open verification ${v.id}`;
    result.replaceChildren(badge, " ", v.score != null ? `score ${v.score.toFixed(3)} ` : "", link);
  } catch (error) {
    result.textContent = error.message;
  } finally {
    verifyButton.disabled = false;
  }
});
