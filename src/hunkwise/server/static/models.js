// The Models page. This script only arranges the form and shows what the server answers:
// validation, the request-body preview, the connection test and saving are all server calls
// (the same code paths as the JSON API and `hunkwise test`).
import { renderDiagnoses, request, showMessage } from "./diagnosis.js";

(() => {
  const stateEl = document.getElementById("console-state");
  if (!stateEl) return;
  const state = JSON.parse(stateEl.textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const cat = state.catalog;
  const cards = Object.fromEntries(cat.cards.map((c) => [c.id, c]));
  const ROLES = ["main", "fallback"];
  const FIELDS = ["card", "plan", "tier", "provider", "model", "base_url", "api_key",
    "max_concurrent_requests", "thinking", "temperature", "max_output_tokens"];
  const $ = (id) => document.getElementById(id);
  const previewTimers = {};
  const previewState = {}; // role -> {pending: Promise, thinkingError: bool}

  const call = (method, url, body) => request(method, url, body, csrf);

  const checked = (name) => {
    const el = document.querySelector(`input[name="${name}"]:checked`);
    return el ? el.value : null;
  };
  const setRadio = (name, value) => {
    const el = document.querySelector(`input[name="${name}"][value="${CSS.escape(value)}"]`);
    if (el) el.checked = true;
  };
  const norm = (url) => (url || "").trim().replace(/\/+$/, "");

  // ---- errors next to the fields ---------------------------------------------------------
  function clearErrors(role, only) {
    for (const f of only || FIELDS) {
      const e = $(`${role}-${f}-error`);
      if (e) { e.hidden = true; e.textContent = ""; }
      const input = $(`${role}-${f === "thinking" && isCustom(role) ? "custom" : f}`);
      if (input) input.removeAttribute("aria-invalid");
    }
  }
  function clearAll() {
    ROLES.forEach((r) => clearErrors(r));
    const fe = $("form-error");
    if (fe) { fe.hidden = true; fe.textContent = ""; }
  }
  function fieldInput(role, field) {
    if (field === "thinking" && isCustom(role)) return $(`${role}-custom`);
    if (field === "card" || field === "plan") return document.querySelector(`input[name="${role}-${field}"]`);
    return $(`${role}-${field}`);
  }
  // 422 detail [{loc: ["body", "main", "plan"], msg}] -> the message under that field.
  function showErrors(detail, fixedRole) {
    const general = [];
    let first = null;
    for (const err of Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }]) {
      const loc = (err.loc || []).filter((p) => p !== "body");
      let role = fixedRole;
      if (ROLES.includes(loc[0])) role = loc.shift();
      let field = loc[0] === "max_concurrent" ? "max_concurrent_requests" : loc[0];
      const box = role && field ? $(`${role}-${field}-error`) : null;
      if (!box) { general.push(err.msg); continue; }
      box.textContent = err.msg;
      box.hidden = false;
      const input = fieldInput(role, field);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (!described.includes(box.id)) input.setAttribute("aria-describedby", [...described, box.id].join(" "));
        first = first || input;
      }
      if (field === "thinking" || field === "temperature" || field === "max_output_tokens") {
        $(`${role}-advanced`).open = true;
      }
    }
    const fe = $("form-error");
    if (general.length && fe) { fe.textContent = general.join(" "); fe.hidden = false; first = first || fe; }
    return first;
  }

  // ---- arranging the form ----------------------------------------------------------------
  const isCustom = (role) => $(`${role}-thinking`) && $(`${role}-thinking`).value === "custom";

  function onCard(role, fromSaved) {
    const value = checked(`${role}-card`);
    const card = cards[value];
    const zai = !!card && card.provider === "zai";
    $(`${role}-config`).hidden = !value || value === "none";
    $(`${role}-plan-box`).hidden = !zai;
    $(`${role}-manual-box`).hidden = value !== "manual";
    if (!zai) $(`${role}-tier-box`).hidden = true;
    if (!fromSaved) {
      clearErrors(role);
      if (zai) {
        if (!checked(`${role}-plan`)) setRadio(`${role}-plan`, card.plans[0] || "developer");
        onPlan(role, true);
      } else if (card) {
        $(`${role}-base_url`).value = cat.providers[card.provider].base_url;
        $(`${role}-max_concurrent_requests`).value = "";
      } else if (value === "manual") {
        onProvider(role);
      }
    }
    const hint = $(`${role}-thinking-hint`);
    hint.textContent = card ? `Model default: ${card.thinking_default}.` : "";
    $(`${role}-base_url-hint`).textContent = zai
      ? "The plan's endpoint. Change it only to go through a proxy."
      : value === "manual" ? "The server's URL without /chat/completions." : "The provider's endpoint.";
    schedulePreview(role);
  }

  function onPlan(role, resetConcurrency) {
    const plan = cat.plans[checked(`${role}-plan`)];
    if (!plan) return;
    const base = $(`${role}-base_url`);
    const current = norm(base.value);
    // A catalog endpoint (any plan's, any provider's) is replaced; a custom one is a proxy.
    const known = [...Object.values(cat.plans), ...Object.values(cat.providers)]
      .map((p) => norm(p.base_url)).filter(Boolean);
    if (!current || known.includes(current)) {
      base.value = plan.base_url;
    } else {
      // A proxy (or the simulator): keep the host, swap the plan's path.
      const others = Object.values(cat.plans).sort((a, b) => b.path.length - a.path.length);
      for (const other of others) {
        if (current.includes(other.path)) { base.value = current.replace(other.path, plan.path); break; }
      }
    }
    const coding = plan.id === "coding";
    $(`${role}-tier-box`).hidden = !coding;
    if (coding && !$(`${role}-tier`).value) $(`${role}-tier`).value = plan.default_tier || "lite";
    $(`${role}-plan-hint`).textContent = plan.description;
    if (resetConcurrency) {
      const mcr = $(`${role}-max_concurrent_requests`);
      if (coding) mcr.value = String(cat.tiers[$(`${role}-tier`).value].max_concurrent);
      else mcr.value = plan.max_concurrent ? String(plan.max_concurrent) : "";
    }
    schedulePreview(role);
  }

  function onTier(role) {
    const tier = cat.tiers[$(`${role}-tier`).value];
    if (tier) $(`${role}-max_concurrent_requests`).value = String(tier.max_concurrent);
    schedulePreview(role);
  }

  function onProvider(role) {
    const provider = cat.providers[$(`${role}-provider`).value];
    const base = $(`${role}-base_url`);
    const defaults = Object.values(cat.providers).map((p) => norm(p.base_url));
    if (!norm(base.value) || defaults.includes(norm(base.value))) base.value = provider.base_url;
    schedulePreview(role);
  }

  function onThinking(role) {
    $(`${role}-custom-box`).hidden = !isCustom(role);
    clearErrors(role, ["thinking"]);
    schedulePreview(role);
  }

  // ---- the slot as the API expects it ---------------------------------------------------
  function collect(role, withKey = true) {
    const value = checked(`${role}-card`);
    if (!value || value === "none") return null;
    const spec = {};
    const base = $(`${role}-base_url`).value.trim();
    if (value === "manual") {
      spec.provider = $(`${role}-provider`).value;
      spec.model = $(`${role}-model`).value.trim();
      if (base) spec.base_url = base;
    } else {
      const card = cards[value];
      spec.card = value;
      let defaultUrl = cat.providers[card.provider].base_url;
      if (card.provider === "zai") {
        spec.plan = checked(`${role}-plan`) || "developer";
        defaultUrl = cat.plans[spec.plan].base_url;
        if (spec.plan === "coding") spec.tier = $(`${role}-tier`).value;
      }
      if (base && norm(base) !== norm(defaultUrl)) spec.base_url = base;
    }
    const key = $(`${role}-api_key`).value.trim();
    if (withKey && key) spec.api_key = key;
    const mcr = $(`${role}-max_concurrent_requests`).value.trim();
    spec.max_concurrent_requests = mcr === "" ? 0 : Number(mcr);
    const thinking = $(`${role}-thinking`).value;
    if (thinking === "custom") spec.thinking = $(`${role}-custom`).value;
    else if (thinking) spec.thinking = thinking;
    const temperature = $(`${role}-temperature`).value.trim();
    if (temperature !== "") spec.temperature = Number(temperature);
    const maxOut = $(`${role}-max_output_tokens`).value.trim();
    if (maxOut !== "") spec.max_output_tokens = Number(maxOut);
    return spec;
  }
  const collectAll = () => ({ main: collect("main") || {}, fallback: collect("fallback") });

  // ---- preview (and live validation of the custom JSON) ----------------------------------
  function schedulePreview(role) {
    clearTimeout(previewTimers[role]);
    previewState[role] = previewState[role] || {};
    previewState[role].pending = new Promise((resolve) => {
      previewTimers[role] = setTimeout(() => preview(role).then(resolve, resolve), 200);
    });
  }

  async function preview(role) {
    const out = $(`${role}-preview`);
    const spec = collect(role, false);
    if (!spec) { out.textContent = "(choose a model)"; previewState[role].thinkingError = false; return; }
    const resp = await call("POST", `/console/api/byok/preview?role=${role}`, spec);
    clearErrors(role, ["thinking"]);
    previewState[role].thinkingError = false;
    if (resp.ok) {
      out.textContent = JSON.stringify(resp.data.body, null, 2);
      out.dataset.namespace = resp.data.namespace;
      $(`${role}-preview-ns`).textContent = isCustom(role)
        ? `Your override is read as {"${resp.data.namespace}": {…}} (the active provider's namespace) and merged below.`
        : `Sent to ${resp.data.base_url} (provider: ${resp.data.provider}).`;
      return;
    }
    const detail = resp.data && resp.data.detail;
    const list = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail || resp.status) }];
    const thinking = list.filter((e) => (e.loc || []).includes("thinking"));
    if (thinking.length) {
      previewState[role].thinkingError = true;
      showErrors(thinking, role);
    }
    out.textContent = "Cannot show the body yet: " + list.map((e) => e.msg).join(" ");
  }

  // ---- test and save ---------------------------------------------------------------------
  // The diagnosis names a fix this page can apply: a close model id, or the key's real plan.
  const fixes = {
    roleOf: (d) => (state.read_only ? null : ROLES.find((r) => d.slot.startsWith(`${r}:`)) || null),
    useModel,
    planFix(role, d) {
      const card = cards[checked(`${role}-card`)];
      const plan = d.detected_plan && cat.plans[d.detected_plan];
      if (!plan || !card || card.provider !== "zai" || checked(`${role}-plan`) === plan.id) return null;
      return {
        label: `Switch ${role} to the ${plan.name}`,
        apply() {
          setRadio(`${role}-plan`, plan.id);
          onPlan(role, true);
          $(`${role}-plan-${plan.id}`).focus();
        },
      };
    },
  };

  // A suggested model id: typed into the manual form's model field (or its card picked).
  function useModel(role, id) {
    if (checked(`${role}-card`) === "manual") {
      $(`${role}-model`).value = id;
      $(`${role}-model`).focus();
    } else if (cards[id]) {
      setRadio(`${role}-card`, id);
      onCard(role, false);
    }
    schedulePreview(role);
  }

  async function test() {
    const button = $("test");
    clearAll();
    button.disabled = true;
    button.textContent = "Testing…";
    $("test-results").replaceChildren();
    try {
      const body = state.read_only ? undefined : collectAll();
      const resp = await call("POST", "/console/api/byok/test", body);
      if (resp.ok) renderDiagnoses($("test-results"), resp.data.diagnoses, fixes);
      else if (resp.status === 422) {
        const first = showErrors(resp.data.detail);
        showMessage($("test-results"), "Fix the highlighted fields, then test again.");
        if (first) first.focus();
      } else showMessage($("test-results"), (resp.data && resp.data.detail) || `Test failed (HTTP ${resp.status}).`);
    } catch (err) {
      showMessage($("test-results"), `The server did not answer: ${err}`);
    } finally {
      button.disabled = false;
      button.textContent = "Test";
    }
  }

  // The "Saved: ..." line under a slot's heading, from the API's answer (masked key only).
  function showSaved(role, slot) {
    let line = $(`${role}-saved`);
    if (!slot) { if (line) line.remove(); return; }
    if (!line) {
      line = document.createElement("p");
      line.className = "saved";
      line.id = `${role}-saved`;
      $(`${role}-heading`).nextElementSibling.after(line);
    }
    const plan = slot.plan && cat.plans[slot.plan] ? cat.plans[slot.plan].name : slot.plan;
    const bits = [slot.model, plan && `${plan}${slot.tier ? " " + slot.tier : ""}`, slot.base_url, `key ${slot.api_key}`];
    line.textContent = "Saved: " + bits.filter(Boolean).join(" · ");
  }

  async function save(event) {
    event.preventDefault();
    const status = $("save-status");
    clearAll();
    await Promise.all(ROLES.map((r) => (previewState[r] && previewState[r].pending) || null));
    const bad = ROLES.filter((r) => isCustom(r) && previewState[r] && previewState[r].thinkingError);
    if (bad.length) {
      for (const r of bad) await preview(r);
      status.textContent = "Not saved: fix the custom JSON first.";
      $(`${bad[0]}-custom`).focus();
      return;
    }
    status.textContent = "Saving…";
    const resp = await call("PUT", "/console/api/byok", collectAll());
    if (resp.ok) {
      for (const role of ROLES) {
        const slot = resp.data[role];
        const key = $(`${role}-api_key`);
        key.value = "";
        showSaved(role, slot);
        if (slot) {
          key.placeholder = slot.api_key;
          $(`${role}-api_key-hint`).textContent = `A key is stored (${slot.api_key}); leave empty to keep it.`;
        }
      }
      const notes = (resp.data.warnings || []).join(" ");
      status.textContent = `Saved.${notes ? " " + notes : ""}`;
    } else if (resp.status === 422) {
      status.textContent = "Not saved: fix the highlighted fields.";
      const first = showErrors(resp.data.detail);
      if (first) first.focus();
    } else {
      status.textContent = `Not saved: ${(resp.data && resp.data.detail) || "HTTP " + resp.status}`;
    }
  }

  // ---- the saved configuration into the form ---------------------------------------------
  function applySaved(role) {
    const saved = state.saved[role];
    if (!saved) return;
    const cfg = saved.config || {};
    if (cfg.card && cards[cfg.card]) {
      setRadio(`${role}-card`, cfg.card);
      if (cards[cfg.card].provider === "zai") setRadio(`${role}-plan`, cfg.plan || saved.plan || "developer");
      if (cfg.tier || saved.tier) $(`${role}-tier`).value = cfg.tier || saved.tier;
    } else {
      setRadio(`${role}-card`, "manual");
      if (cfg.provider && cat.manual_providers.includes(cfg.provider)) $(`${role}-provider`).value = cfg.provider;
      $(`${role}-model`).value = cfg.model || saved.model || "";
    }
    $(`${role}-base_url`).value = cfg.base_url || saved.base_url || "";
    const mcr = cfg.max_concurrent_requests ?? saved.max_concurrent;
    $(`${role}-max_concurrent_requests`).value = mcr ? String(mcr) : "";
    const thinking = cfg.thinking;
    if (thinking && typeof thinking === "object") {
      $(`${role}-thinking`).value = "custom";
      $(`${role}-custom`).value = JSON.stringify(thinking, null, 2);
    } else if (typeof thinking === "string" && ["off", "low", "medium", "high", "auto"].includes(thinking)) {
      $(`${role}-thinking`).value = thinking;
    } else if (typeof thinking === "string" && thinking.trim()) {
      $(`${role}-thinking`).value = "custom";
      $(`${role}-custom`).value = thinking;
    }
    if (cfg.temperature != null) $(`${role}-temperature`).value = String(cfg.temperature);
    if (cfg.max_output_tokens != null) $(`${role}-max_output_tokens`).value = String(cfg.max_output_tokens);
    const card = cards[checked(`${role}-card`)];
    $(`${role}-tier-box`).hidden = !(card && card.provider === "zai" && checked(`${role}-plan`) === "coding");
    $(`${role}-custom-box`).hidden = !isCustom(role);
    const plan = cat.plans[checked(`${role}-plan`)];
    if (plan) $(`${role}-plan-hint`).textContent = plan.description;
    onCard(role, true);
  }

  const testButton = $("test");
  if (testButton) testButton.addEventListener("click", test);
  if (state.read_only) return;
  for (const role of ROLES) {
    document.querySelectorAll(`input[name="${role}-card"]`).forEach((el) =>
      el.addEventListener("change", () => onCard(role, false)));
    document.querySelectorAll(`input[name="${role}-plan"]`).forEach((el) =>
      el.addEventListener("change", () => onPlan(role, true)));
    $(`${role}-tier`).addEventListener("change", () => onTier(role));
    $(`${role}-provider`).addEventListener("change", () => onProvider(role));
    $(`${role}-thinking`).addEventListener("change", () => onThinking(role));
    for (const f of ["custom", "base_url", "model", "temperature", "max_output_tokens"]) {
      $(`${role}-${f}`).addEventListener("input", () => schedulePreview(role));
    }
    applySaved(role);
  }
  const form = $("byok-form");
  form.addEventListener("submit", save);
  // Once anything changes after a save, say so: the page no longer shows what is stored.
  const dirty = (event) => {
    if (event.target.closest && event.target.closest(".actions")) return;
    const status = $("save-status");
    if (status.textContent.startsWith("Saved")) status.textContent = "Unsaved changes.";
  };
  form.addEventListener("input", dirty);
  form.addEventListener("change", dirty);
})();
