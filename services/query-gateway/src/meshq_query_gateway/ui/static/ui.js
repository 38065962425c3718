// The web UI's first page: the query catalogue this caller may see, and a form to run one.
// Every call goes to the REST API with the session cookie; nothing is inserted as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let catalogue = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      const head = body.detail || body.title || response.statusText;
      const errors = (body.errors || [])
        .map((e) => `${e.field || "?"}: ${e.message || ""}`)
        .filter((line) => !head.includes(line));
      return [head, ...errors].join("\n");
    } catch (_) {
      return `${response.status} ${response.statusText}`;
    }
  }

  async function load() {
    const response = await fetch("/queries", { credentials: "same-origin" });
    if (response.status === 401) {
      $("status").textContent = "";
      $("signin").hidden = false;
      return;
    }
    if (!response.ok) {
      // a plan gate or RBAC refusal: said in words where the catalogue would have been
      $("status").textContent = "";
      $("refused").textContent = `The query catalogue is not available to you (${response.status}): ${await problemText(response)}`;
      $("refused").hidden = false;
      return;
    }
    catalogue = await response.json();
    $("status").textContent = `${catalogue.length} queries`;
    $("app").hidden = false;
    renderList("");
  }

  function renderList(filter) {
    const box = $("queries");
    box.replaceChildren();
    const wanted = filter.trim().toLowerCase();
    const groups = new Map();
    for (const q of catalogue) {
      const text = `${q.name} ${q.summary || ""}`.toLowerCase();
      if (wanted && !text.includes(wanted)) continue;
      const category = q.category || "Other";
      if (!groups.has(category)) groups.set(category, []);
      groups.get(category).push(q);
    }
    for (const [category, queries] of [...groups.entries()].sort()) {
      const list = el("ul");
      for (const q of queries.sort((a, b) => a.name.localeCompare(b.name))) {
        const button = el("button", { type: "button", title: q.summary || "", text: q.name });
        button.addEventListener("click", () => choose(q, button));
        list.append(el("li", {}, button));
      }
      box.append(el("h3", { text: category }), list);
    }
  }

  function types(schema) {
    const found = new Set();
    for (const part of [schema, ...(schema.anyOf || []), ...(schema.oneOf || [])]) {
      if (typeof part.type === "string") found.add(part.type);
      if (Array.isArray(part.type)) part.type.forEach((t) => found.add(t));
    }
    found.delete("null");
    return found;
  }

  function field(name, schema, required) {
    const id = `p-${name}`;
    const kinds = types(schema);
    const label = el("label", { for: id, text: `${schema.title || name}${required ? " (required)" : ""}` });
    const example = (schema.examples || [])[0];
    let input;
    if (Array.isArray(schema.enum)) {
      input = el("select", { id, name });
      if (!required) input.append(el("option", { value: "", text: "" }));
      for (const value of schema.enum) input.append(el("option", { value, text: value }));
      if (schema.default !== undefined && schema.default !== null) input.value = schema.default;
    } else if (kinds.size === 1 && kinds.has("boolean")) {
      input = el("input", { id, name, type: "checkbox", checked: schema.default === true });
    } else if (kinds.has("array") || kinds.has("object")) {
      input = el("textarea", { id, name, placeholder: example !== undefined ? JSON.stringify(example) : "JSON" });
      if (schema.default !== undefined && schema.default !== null) input.value = JSON.stringify(schema.default);
    } else {
      const numeric = kinds.size > 0 && [...kinds].every((k) => k === "integer" || k === "number");
      input = el("input", {
        id, name, type: numeric ? "number" : "text", required,
        placeholder: example !== undefined ? String(example) : null,
        min: schema.minimum, max: schema.maximum, maxlength: schema.maxLength,
        step: kinds.has("number") ? "any" : null,
      });
      if (schema.default !== undefined && schema.default !== null && schema.default !== "") input.value = schema.default;
    }
    input.dataset.kinds = [...kinds].join(" ");
    return el("div", { class: "field" }, label, input, el("small", { text: schema.description || "" }));
  }

  function choose(q, button) {
    document.querySelectorAll("#queries button[aria-current]").forEach((b) => b.removeAttribute("aria-current"));
    button.setAttribute("aria-current", "true");
    $("qname").textContent = q.name;
    $("qsummary").textContent = q.summary || "";
    $("answer").replaceChildren();
    const params = q.parameters || {};
    const required = new Set(params.required || []);
    const fields = $("fields");
    fields.replaceChildren();
    for (const [name, schema] of Object.entries(params.properties || {})) {
      fields.append(field(name, schema, required.has(name)));
    }
    const form = $("qform");
    form.hidden = false;
    form.onsubmit = (event) => {
      event.preventDefault();
      run(q, form);
    };
  }

  function collect(form) {
    const body = {};
    for (const input of form.querySelectorAll("input, select, textarea")) {
      const kinds = new Set((input.dataset.kinds || "").split(" ").filter(Boolean));
      if (input.type === "checkbox") {
        body[input.name] = input.checked;
        continue;
      }
      const text = input.value.trim();
      if (text === "") continue;
      if (input.tagName === "TEXTAREA") body[input.name] = JSON.parse(text);
      else if (input.type === "number") body[input.name] = Number(text);
      else if (kinds.has("integer") && /^-?\d+$/.test(text) && !kinds.has("string")) body[input.name] = Number(text);
      else body[input.name] = text;
    }
    return body;
  }

  function cell(value) {
    if (value === null || value === undefined) return el("td");
    if (typeof value === "object") return el("td", {}, el("code", { text: JSON.stringify(value, null, 1) }));
    return el("td", { text: String(value) });
  }

  async function run(q, form) {
    const answer = $("answer");
    let body;
    try {
      body = collect(form);
    } catch (err) {
      answer.replaceChildren(el("p", { class: "error", text: `A JSON field is not valid JSON: ${err.message}` }));
      return;
    }
    answer.replaceChildren(el("p", { class: "meta", text: "Running…" }));
    const response = await fetch(`/queries/${encodeURIComponent(q.name)}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      answer.replaceChildren(el("pre", { class: "error", text: await problemText(response) }));
      return;
    }
    const result = await response.json();
    const rows = result.rows || [];
    const columns = [];
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    const meta = el("p", {
      class: "meta",
      text: `${result.row_count ?? rows.length} rows in ${Math.round(result.elapsed_ms ?? 0)} ms` +
        (result.next_cursor ? " (first page shown)" : ""),
    });
    if (!rows.length) {
      answer.replaceChildren(meta, el("p", { text: "No rows." }));
      return;
    }
    const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c })));
    const table = el(
      "table", {},
      el("caption", { class: "meta", text: q.name }),
      el("thead", {}, head),
      el("tbody", {}, ...rows.map((row) => el("tr", {}, ...columns.map((c) => cell(row[c]))))),
    );
    answer.replaceChildren(meta, el("div", { class: "table-wrap" }, table));
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("filter").addEventListener("input", (event) => renderList(event.target.value));
    load().catch((err) => {
      $("status").textContent = `The catalogue could not be read: ${err.message}`;
    });
  });
})();
