// The server's rules (verification/decisions.py: the review margin, the job kinds), rendered
// into every page as non-executable JSON by templates/base.html. Never repeat them here.
const el = document.getElementById("rules-data");
export const rules = el ? JSON.parse(el.textContent) : { review_margin: 0, job_kinds: {} };
