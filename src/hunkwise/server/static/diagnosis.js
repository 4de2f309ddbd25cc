// The console's fetch helper and the rendering of the gateway's diagnoses (POST .../byok/test).
// The words are the server's (the same as `hunkwise test`); this module only lays them out and
// adds the buttons for fixes the page can apply, which the caller supplies.

export async function request(method, url, body, csrf) {
  const resp = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  return { ok: resp.ok, status: resp.status, data };
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function chip(label, onClick, ariaLabel) {
  const b = el("button", "chip", label);
  b.type = "button";
  if (ariaLabel) b.setAttribute("aria-label", ariaLabel);
  b.addEventListener("click", onClick);
  return b;
}

// fixes: {roleOf(d) -> "main"|"fallback"|null, useModel(role, id), planFix(role, d) -> {label, apply}|null}
export function renderDiagnoses(box, list, fixes) {
  box.replaceChildren();
  for (const d of list) {
    const item = el("div", `diagnosis ${d.ok ? "ok" : "fail"}`);
    item.append(el("p", "summary", `${d.ok ? "✓" : "✗"} ${d.summary}`));
    if (d.advice && d.advice.length) {
      const ul = el("ul");
      for (const a of d.advice) ul.append(el("li", "", a));
      item.append(ul);
    }
    const role = fixes.roleOf(d);
    if (role && d.suggestions && d.suggestions.length) {
      const p = el("p", "suggestions", "Use instead: ");
      for (const id of d.suggestions) {
        p.append(chip(id, () => fixes.useModel(role, id), `Use ${id} for the ${role} model`), " ");
      }
      item.append(p);
    }
    const fix = role && fixes.planFix(role, d);
    if (fix) item.append(chip(fix.label, fix.apply));
    const bits = [`${Math.round(d.latency_ms)} ms`];
    if (d.status) bits.push(`HTTP ${d.status}`);
    if (d.code) bits.push(`code ${d.code}`);
    if (d.detected_plan) bits.push(`key belongs to: ${d.detected_plan}`);
    if (d.reset_at) bits.push(`resets at ${d.reset_at}`);
    item.append(el("p", "hint", bits.join(" · ")));
    box.append(item);
  }
}

export function showMessage(box, text) {
  box.replaceChildren(el("p", "error", text));
}
