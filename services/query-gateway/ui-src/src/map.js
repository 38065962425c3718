// The web UI's map: the topology at a level of detail the gateway chooses (/map/view), search,
// a device panel, and blast radius, path analysis and snapshot diff drawn on it. Every call is
// a REST call with the session cookie; nothing from an answer is inserted as HTML.
import cytoscape from "cytoscape";

const $ = (id) => document.getElementById(id);
const LAYERS = [
  ["internet", "edge", "border", "wan", "firewall"],
  ["core", "spine", "super_spine"],
  ["distribution", "dist", "aggregation", "leaf", "border_leaf"],
  ["access", "wlc", "wireless", "ap", "server", "host", "gpu"],
];
const GAP = 70;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function layerOf(role) {
  const r = String(role || "").toLowerCase();
  const i = LAYERS.findIndex((names) => names.includes(r));
  return i < 0 ? (r && !r.startsWith("(") ? LAYERS.length : LAYERS.length + 1) : i;
}

class Refused extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

async function problemText(response) {
  try {
    const body = await response.json();
    const head = body.detail || body.title || response.statusText;
    const errors = (body.errors || [])
      .map((e) => `${e.field || "?"}: ${e.message || ""}`)
      .filter((line) => !head.includes(line));
    return [`${response.status}: ${head}`, ...errors].join("\n");
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw new Refused(response.status, await problemText(response));
  return response.json();
}

const query = (name, params) => api("POST", `/queries/${encodeURIComponent(name)}?limit=500`, params);

function table(columns, rows) {
  const head = el("tr", {}, ...columns.map(([, title]) => el("th", { scope: "col", text: title })));
  const body = rows.map((row) =>
    el("tr", {}, ...columns.map(([key]) => {
      const value = typeof key === "function" ? key(row) : row[key];
      if (value instanceof Node) return el("td", {}, value);
      return el("td", { text: value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : value });
    })),
  );
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "answer" },
    el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
}

function errorBox(error) {
  return el("p", { class: "error", role: "alert", text: error instanceof Refused ? error.message : String(error) });
}

const state = {
  view: null,
  expanded: new Set(),
  show: new Set(),
  blast: null,
  path: null,
  appeared: [],
};

const STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3, "background-color": "#4a6b8a", width: 18, height: 18, color: "#1b2430" } },
  { selector: "node.site", style: { "background-color": "#eef3f8", "background-opacity": 0.6, "border-color": "#9fb3c8", "border-width": 1, shape: "round-rectangle", "text-valign": "top", "font-size": 14, "font-weight": "bold", padding: 18 } },
  { selector: "node.group", style: { shape: "round-rectangle", width: "mapData(count, 1, 500, 34, 80)", height: 30, "background-color": "#7b93ad", label: "data(label)", "text-valign": "bottom", "text-halign": "center", color: "#1b2430", "font-size": 9, "text-wrap": "wrap" } },
  { selector: "node.device.unmanaged", style: { "background-color": "#b7c2ce", shape: "diamond" } },
  { selector: "node.affected", style: { "background-color": "#b3261e", "border-width": 3, "border-color": "#6b0f0a" } },
  { selector: "node.degraded", style: { "background-color": "#e0a100", "border-width": 3, "border-color": "#8a5a00" } },
  { selector: "node.failed", style: { "background-color": "#000", shape: "octagon", width: 26, height: 26 } },
  { selector: "node.on-path", style: { "border-width": 4, "border-color": "#1d6fd1" } },
  { selector: "node.denied-at", style: { "border-color": "#b3261e", "border-width": 6 } },
  { selector: "node.appeared", style: { "border-width": 4, "border-color": "#1b6e2a" } },
  { selector: "node:selected", style: { "overlay-color": "#1d6fd1", "overlay-opacity": 0.25 } },
  { selector: "edge", style: { width: "mapData(links, 1, 50, 1.5, 8)", "line-color": "#8a9bb0", "curve-style": "bezier" } },
  { selector: "edge.weak", style: { "line-style": "dotted" } },
  { selector: "edge.likely", style: { "line-style": "dashed" } },
  { selector: "edge.lost", style: { "line-color": "#b3261e", width: 4, "line-style": "dashed", "z-index": 10 } },
  { selector: "edge.failed-link", style: { "line-color": "#000", width: 5 } },
  { selector: "edge.on-path", style: { "line-color": "#1d6fd1", width: 5, "target-arrow-color": "#1d6fd1", "source-arrow-color": "#1d6fd1", "arrow-scale": 1.4, "z-index": 11 } },
  { selector: "edge.on-path.fwd", style: { "target-arrow-shape": "triangle" } },
  { selector: "edge.on-path.rev", style: { "source-arrow-shape": "triangle" } },
  { selector: "edge.on-path.denied", style: { "line-color": "#b3261e", "target-arrow-color": "#b3261e", "source-arrow-color": "#b3261e" } },
];

let cy = null; // made once its container is shown

// where each drawn node sits: sites side by side, their layers top to bottom; in a layer the
// groups (or a group's devices, in a grid) side by side, wrapped onto more lines when wide
const LINE = 24;

function positions(view) {
  const drawnGroups = new Set(view.nodes.map((n) => n.group));
  const bySite = new Map();
  for (const g of view.groups) {
    if (!bySite.has(g.site)) bySite.set(g.site, []);
    bySite.get(g.site).push(g);
  }
  const membersOf = new Map();
  for (const n of view.nodes) {
    if (!membersOf.has(n.group)) membersOf.set(n.group, []);
    membersOf.get(n.group).push(n);
  }
  const boxOf = (g) => {
    if (!drawnGroups.has(g.id)) return { w: 1, h: 1, cols: 1 };
    const count = membersOf.get(g.id).length;
    const cols = Math.min(LINE, Math.max(1, Math.ceil(Math.sqrt(count * 2))));
    return { w: cols, h: Math.ceil(count / cols), cols };
  };
  const layerCount = LAYERS.length + 2;
  // per site and layer: its groups packed into lines of at most LINE units
  const packed = new Map();
  const rowHeight = new Array(layerCount).fill(1);
  for (const [site, groups] of bySite) {
    const layers = Array.from({ length: layerCount }, () => ({ items: [], height: 0, width: 0 }));
    const lines = Array.from({ length: layerCount }, () => ({ x: 0, y: 0, h: 0 }));
    groups.sort((a, b) => a.role.localeCompare(b.role) || a.id.localeCompare(b.id));
    for (const g of groups) {
      const layer = layerOf(g.role);
      const box = boxOf(g);
      const line = lines[layer];
      if (line.x > 0 && line.x + box.w > LINE) {
        line.y += line.h + 1;
        line.x = 0;
        line.h = 0;
      }
      layers[layer].items.push({ g, box, x: line.x, y: line.y });
      line.x += box.w + 1;
      line.h = Math.max(line.h, box.h);
      layers[layer].width = Math.max(layers[layer].width, line.x);
      layers[layer].height = line.y + line.h;
    }
    layers.forEach((l, i) => { rowHeight[i] = Math.max(rowHeight[i], l.height); });
    packed.set(site, layers);
  }
  const rowTop = [];
  let top = 0;
  for (let i = 0; i < layerCount; i++) {
    rowTop.push(top);
    top += rowHeight[i] + 1;
  }
  const placed = new Map();
  let left = 0;
  for (const site of [...bySite.keys()].sort()) {
    const layers = packed.get(site);
    let widest = 1;
    layers.forEach((layer, i) => {
      widest = Math.max(widest, layer.width);
      for (const { g, box, x, y } of layer.items) {
        if (drawnGroups.has(g.id)) {
          membersOf.get(g.id).sort((a, b) => a.id.localeCompare(b.id)).forEach((n, k) => {
            placed.set(n.id, { x: (left + x + (k % box.cols)) * GAP, y: (rowTop[i] + y + Math.floor(k / box.cols)) * GAP });
          });
        } else {
          placed.set(g.id, { x: (left + x) * GAP, y: (rowTop[i] + y) * GAP });
        }
      }
    });
    left += widest + 1;
  }
  return placed;
}

function elementsOf(view) {
  const where = positions(view);
  const drawnGroups = new Set(view.nodes.map((n) => n.group));
  const sites = [...new Set(view.groups.map((g) => g.site))];
  const elements = sites.map((site) => ({ group: "nodes", data: { id: `s:${site}`, label: site, kind: "site" }, classes: "site", selectable: false }));
  for (const g of view.groups) {
    if (drawnGroups.has(g.id)) continue;
    elements.push({
      group: "nodes",
      data: { id: g.id, parent: `s:${g.site}`, label: `${g.role} ${g.devices}${g.via ? `\nvia ${g.via}` : ""}`, kind: "group", count: g.devices, site: g.site, role: g.role, managed: g.managed },
      position: where.get(g.id),
      classes: "group",
    });
  }
  for (const n of view.nodes) {
    const site = n.site || "(no site)";
    elements.push({
      group: "nodes",
      data: { ...n, label: n.id, kind: "device", parent: `s:${site}` },
      position: where.get(n.id),
      classes: n.managed ? "device" : "device unmanaged",
    });
  }
  for (const e of view.edges) {
    const grade = e.confidence >= 0.9 ? "sure" : e.confidence >= 0.6 ? "likely" : "weak";
    elements.push({ group: "edges", data: { ...e, evidence: e.evidence.join(",") }, classes: grade });
  }
  return elements;
}

async function loadView() {
  const params = new URLSearchParams();
  for (const g of [...state.expanded].sort()) params.append("expand", g);
  for (const d of [...state.show].sort()) params.append("show", d);
  const view = await api("GET", `/map/view?${params}`);
  if (!state.view) performance.mark("map:view-fetched");
  state.view = view;
  cy.batch(() => {
    cy.elements().remove();
    cy.add(elementsOf(view));
  });
  cy.fit(undefined, 30);
  const detail = view.nodes.length === view.devices ? "every device drawn" : `${view.nodes.length} drawn, the rest grouped by site and role (select a group to open it)`;
  $("status").textContent = `${view.devices} devices, ${view.links} links: ${detail}.`;
  repaint();
  return view;
}

// an edge between two drawn devices, whichever way it was stored
function edgeBetween(a, b) {
  const [x, y] = a < b ? [a, b] : [b, a];
  return cy.getElementById(`e:${x}~${y}`);
}

function repaint() {
  cy.batch(() => {
    cy.elements().removeClass("affected degraded failed on-path fwd rev denied denied-at lost failed-link appeared")
    for (const d of state.appeared) cy.getElementById(d).addClass("appeared");;
    const blast = state.blast;
    if (blast) {
      for (const d of blast.affected_devices || []) cy.getElementById(d).addClass("affected");
      for (const d of blast.degraded_devices || []) cy.getElementById(d).addClass("degraded");
      for (const d of (blast.failed || {}).devices || []) cy.getElementById(d).addClass("failed");
      for (const entry of blast.lost_paths || []) {
        for (const path of entry.lost || []) {
          for (let i = 0; i + 1 < path.length; i++) edgeBetween(path[i], path[i + 1]).addClass("lost");
        }
      }
      for (const iface of (blast.failed || {}).interfaces || []) {
        const device = String(iface).split(":")[0];
        cy.getElementById(device).connectedEdges().filter((e) => e.data("source_interface") === String(iface).slice(device.length + 1) || e.data("target_interface") === String(iface).slice(device.length + 1)).addClass("failed-link");
      }
    }
    const path = state.path;
    if (path) {
      const hops = path.row.hops || [];
      const denied = path.row.branch_verdict === "denied";
      hops.forEach((hop, i) => {
        cy.getElementById(hop.device).addClass("on-path");
        if ((hop.decisions || []).some((d) => d.verdict === "denied")) cy.getElementById(hop.device).addClass("denied-at");
        if (i + 1 < hops.length) {
          const edge = edgeBetween(hop.device, hops[i + 1].device);
          edge.addClass(edge.data("source") === hop.device ? "on-path fwd" : "on-path rev");
          if (denied) edge.addClass("denied");
        }
      });
    }
  });
}

async function expandGroup(id) {
  state.expanded.add(id);
  try {
    await loadView();
  } catch (error) {
    state.expanded.delete(id);
    $("status").textContent = error.message;
  }
}

// ---- search ------------------------------------------------------------------------------
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const MAC = /^([0-9a-f]{2}[:.-]?){5}[0-9a-f]{2}$|^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i;

async function search(text) {
  const box = $("search-results");
  box.replaceChildren(el("li", { class: "meta", text: "Searching…" }));
  const hits = [];
  const notes = [];
  try {
    if (IPV4.test(text) || (text.includes(":") && !MAC.test(text) && /^[0-9a-f:]+$/i.test(text))) {
      const answer = await query("locate_endpoint_by_ip", { ip: text }).catch((e) => { notes.push(e.message); return { rows: [] }; });
      for (const r of answer.rows) if (r.device) hits.push({ id: r.device, why: `${text} on ${r.interface || "?"} (${r.mac || "no MAC"})` });
    } else if (MAC.test(text)) {
      const answer = await query("locate_endpoint_by_mac", { mac: text }).catch((e) => { notes.push(e.message); return { rows: [] }; });
      for (const r of answer.rows) if (r.device) hits.push({ id: r.device, why: `${r.mac} on ${r.interface || "?"}` });
    }
    const found = await api("GET", `/map/find?q=${encodeURIComponent(text)}`);
    for (const d of found.devices) hits.push({ id: d.id, why: [d.role, d.site, d.management_ip].filter(Boolean).join(", ") });
  } catch (error) {
    box.replaceChildren(el("li", {}, errorBox(error)));
    return [];
  }
  box.replaceChildren();
  for (const note of notes) box.append(el("li", {}, errorBox(note)));
  if (!hits.length) box.append(el("li", { class: "meta", text: "Nothing found." }));
  for (const hit of hits) {
    const button = el("button", { type: "button", text: hit.id });
    button.addEventListener("click", () => focusDevice(hit.id));
    box.append(el("li", {}, button, el("span", { class: "meta", text: ` ${hit.why}` })));
  }
  return hits;
}

async function focusDevice(id) {
  if (cy.getElementById(id).empty()) {
    state.show.add(id);
    await loadView();
  }
  const node = cy.getElementById(id);
  if (node.nonempty()) {
    cy.elements().unselect();
    node.select();
    cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1) }, { duration: 200 });
  }
  await showDevice(id);
}

// ---- the device panel ---------------------------------------------------------------------
const SECTIONS = [
  ["Neighbours", "device_neighbors", (d) => ({ device: d }), [["interface", "interface"], ["neighbor", "neighbour"], ["neighbor_interface", "its port"], ["evidence", "evidence"], ["confidence", "confidence"]]],
  ["Interfaces and subnets", "subnets_on_device", (d) => ({ device: d }), null],
  ["Firewall rules", "firewall_rules_by_device", (d) => ({ device: d }), null],
];

async function section(device, [title, name, params, columns], box) {
  const holder = el("div", {}, el("h3", { text: title }), el("p", { class: "meta", text: "Loading…" }));
  box.append(holder);
  try {
    const answer = await query(name, params(device));
    const cols = columns || Object.keys(answer.rows[0] || {}).filter((k) => k !== "device").map((k) => [k, k]);
    holder.replaceChildren(el("h3", { text: title }), el("p", { class: "meta", text: `${answer.row_count} rows (${name})` }));
    if (answer.rows.length) holder.append(table(cols, answer.rows));
    if (name === "device_neighbors") endpointPicker(device, answer.rows, holder);
  } catch (error) {
    holder.replaceChildren(el("h3", { text: title }), errorBox(error));
  }
}

function endpointPicker(device, rows, holder) {
  // endpoints and routes on demand: endpoints_on_interface and route_lookup
  const form = el("form", { class: "row" });
  const iface = el("input", { id: "ep-iface", maxlength: "128", placeholder: "interface" });
  form.append(el("label", { for: "ep-iface", text: "Endpoints on" }), iface, el("button", { type: "submit", text: "Show" }));
  const out = el("div", { "aria-live": "polite" });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await query("endpoints_on_interface", { device, interface: iface.value.trim() });
      out.replaceChildren(el("p", { class: "meta", text: `${answer.row_count} endpoints` }), table([["mac", "MAC"], [(r) => (r.ips || []).join(", "), "IPs"], ["hostname", "host name"], ["vlan", "VLAN"], ["last_seen", "last seen"]], answer.rows));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  const routeForm = el("form", { class: "row" });
  const dest = el("input", { id: "rt-dest", maxlength: "64", placeholder: "10.130.0.20" });
  routeForm.append(el("label", { for: "rt-dest", text: "Route to" }), dest, el("button", { type: "submit", text: "Look up" }));
  const routeOut = el("div", { "aria-live": "polite" });
  routeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await query("route_lookup", { device, destination: dest.value.trim() });
      const cols = Object.keys(answer.rows[0] || {}).filter((k) => k !== "device").map((k) => [k, k]);
      routeOut.replaceChildren(el("p", { class: "meta", text: `${answer.row_count} routes` }), table(cols, answer.rows));
    } catch (error) {
      routeOut.replaceChildren(errorBox(error));
    }
  });
  holder.after(el("div", {}, el("h3", { text: "Endpoints and routes" }), form, out, routeForm, routeOut));
}

async function showDevice(id) {
  const node = cy.getElementById(id);
  const panel = $("device");
  panel.hidden = false;
  $("device-name").textContent = id;
  const facts = $("device-facts");
  facts.replaceChildren();
  for (const key of ["role", "site", "platform", "management_ip", "criticality", "managed"]) {
    const value = node.nonempty() ? node.data(key) : undefined;
    facts.append(el("dt", { text: key.replace("_", " ") }), el("dd", { text: value === null || value === undefined ? "unknown" : value }));
  }
  const box = $("device-sections");
  box.replaceChildren();
  await Promise.all(SECTIONS.map((s) => section(id, s, box)));
}

// ---- blast radius -------------------------------------------------------------------------
const SCENARIO = { device: "device_failure", interface: "link_failure", vlan: "segment_failure", subnet: "segment_failure" };

async function blast(kind, target, depth) {
  const out = $("blast-answer");
  out.replaceChildren(el("p", { class: "meta", text: "Simulating…" }));
  const wanted = kind === "vlan" && /^\d+$/.test(target) ? `vlan ${target}` : target;
  let answer;
  try {
    answer = await api("POST", "/graph/chaos-simulate", { scenario_type: SCENARIO[kind], target: wanted, depth });
  } catch (error) {
    state.blast = null;
    repaint();
    out.replaceChildren(errorBox(error));
    return null;
  }
  state.blast = answer;
  state.path = null;
  const involved = new Set([...(answer.affected_devices || []), ...(answer.degraded_devices || [])]);
  for (const entry of answer.lost_paths || []) for (const p of entry.lost || []) p.forEach((d) => involved.add(d));
  if ([...involved].some((d) => cy.getElementById(d).empty())) {
    [...involved].slice(0, 1000).forEach((d) => state.show.add(d));
    await loadView();
  } else repaint();
  out.replaceChildren(
    el("p", {}, el("strong", { text: `Severity ${answer.severity}` }), ` — ${answer.blast_radius_pct}% of managed devices affected, ${answer.degraded_pct}% degraded, ${answer.affected_endpoints} endpoints, impact ${answer.impact_score}/100.`),
    el("h3", { text: `Affected (${answer.affected_devices.length})` }),
    el("p", { text: answer.affected_devices.join(", ") || "none" }),
    el("h3", { text: `Degraded (${answer.degraded_devices.length})` }),
    el("p", { text: answer.degraded_devices.join(", ") || "none" }),
    el("h3", { text: "Upstream paths lost" }),
    table([["device", "device"], ["status", "status"], [(r) => `${r.paths_before} → ${r.paths_after}`, "paths"], [(r) => r.lost.map((p) => p.join(" → ")).join("\n"), "lost"]], answer.lost_paths || []),
  );
  return answer;
}

// ---- path analysis ------------------------------------------------------------------------
function hopTable(row) {
  return table(
    [
      [(h) => h.index, "hop"],
      ["device", "device"],
      ["vrf", "VRF"],
      [(h) => `${h.ingress_interface || "-"}${h.ingress_zone ? ` [${h.ingress_zone}]` : ""}`, "in"],
      [(h) => `${h.egress_interface || "-"}${h.egress_zone ? ` [${h.egress_zone}]` : ""}`, "out"],
      [(h) => (h.route ? `${h.route.prefix} (${h.route.protocol}, ${h.route.origin})` : h.method || "-"), "route"],
      [(h) => h.next_hop || "-", "next hop"],
      [(h) => {
        if (!(h.decisions || []).length) return "-";
        const box = el("div");
        for (const d of h.decisions) {
          box.append(
            el("span", { class: `verdict-${d.verdict}`, text: `${d.verdict}: ${d.rule_set} #${d.position} ${d.name} (${d.action})` }),
            el("details", {}, el("summary", { text: "rule" }), el("pre", { text: d.text || "" })),
          );
        }
        return box;
      }, "filter decisions"],
    ],
    (row.hops || []).map((h, i) => ({ ...h, index: i + 1 })),
  );
}

async function pathAnalysis(params) {
  const out = $("path-answer");
  out.replaceChildren(el("p", { class: "meta", text: "Tracing…" }));
  let answer;
  try {
    answer = await query("path_analysis", params);
  } catch (error) {
    state.path = null;
    repaint();
    out.replaceChildren(errorBox(error));
    return null;
  }
  const rows = answer.rows;
  if (!rows.length) {
    out.replaceChildren(el("p", { text: "No path (the answer has no rows)." }));
    return answer;
  }
  const devices = new Set(rows.flatMap((r) => (r.hops || []).map((h) => h.device)));
  if ([...devices].some((d) => cy.getElementById(d).empty())) {
    devices.forEach((d) => state.show.add(d));
    await loadView();
  }
  const choose = el("select", { id: "path-branch" });
  rows.forEach((r, i) => choose.append(el("option", { value: String(i), text: `Path ${r.branch}: ${r.branch_verdict}` })));
  const detail = el("div");
  const pick = (i) => {
    state.path = { row: rows[i], index: i };
    state.blast = null;
    repaint();
    const r = rows[i];
    detail.replaceChildren(el("p", { class: `verdict-${r.branch_verdict}`, text: `${r.branch_verdict}: ${r.reason || ""}` }), hopTable(r));
  };
  choose.addEventListener("change", () => pick(Number(choose.value)));
  const src = rows[0].source_owner || {};
  out.replaceChildren(
    el("p", {}, el("strong", { text: `Verdict: ${rows[0].verdict}` }), ` (${rows.length} paths)`),
    el("p", { class: "meta", text: `Source: ${src.kind || "unknown"}${src.device ? ` on ${src.device} ${src.interface || ""}` : ""}` }),
    el("label", { for: "path-branch", text: "Branch" }),
    choose,
    detail,
  );
  pick(0);
  return answer;
}

// ---- snapshot diff ------------------------------------------------------------------------
async function loadSnapshots() {
  try {
    const list = await api("GET", "/snapshots");
    const items = Array.isArray(list) ? list : list.snapshots || [];
    for (const id of ["diff-a", "diff-b"]) {
      $(id).replaceChildren(...items.map((s) => el("option", { value: s.snapshot_id || s.id, text: `${s.snapshot_id || s.id} ${s.applied_at || s.created_at || ""}` })));
    }
    if (items.length > 1) $("diff-a").selectedIndex = 1;
    if (!items.length) $("diff-answer").replaceChildren(el("p", { class: "meta", text: "No snapshots applied yet." }));
  } catch (error) {
    $("diff-answer").replaceChildren(errorBox(error));
  }
}

async function diff(a, b) {
  const out = $("diff-answer");
  try {
    const answer = await api("GET", `/snapshots/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`);
    state.appeared = ((answer.kinds || {}).devices || {}).added || [];
    repaint();
    if (answer.empty) {
      out.replaceChildren(el("p", { text: `Nothing differs from ${answer.from} to ${answer.to}.` }));
      return answer;
    }
    out.replaceChildren(el("p", { class: "meta", text: `From ${answer.from} to ${answer.to}; devices that appeared are ringed green.` }));
    const list = (items) => el("p", { text: items.slice(0, 200).join(", ") + (items.length > 200 ? ` … (${items.length - 200} more)` : "") });
    for (const [kind, change] of Object.entries(answer.kinds).sort()) {
      out.append(el("h3", { text: `${kind}: ${change.added.length} appeared, ${change.removed.length} disappeared, ${change.changed.length} changed` }));
      if (change.added.length) out.append(el("h4", { text: "appeared" }), list(change.added));
      if (change.removed.length) out.append(el("h4", { text: "disappeared" }), list(change.removed));
      if (change.changed.length) out.append(el("h4", { text: "changed" }), list(change.changed));
    }
    return answer;
  } catch (error) {
    out.replaceChildren(errorBox(error));
    return null;
  }
}

// ---- wiring -------------------------------------------------------------------------------
async function start() {
  performance.mark("map:start");
  $("app").hidden = false;
  cy = cytoscape({
    container: $("map"),
    style: STYLE,
    minZoom: 0.02,
    maxZoom: 4,
    textureOnViewport: true,
    hideEdgesOnViewport: true,
  });
  try {
    await loadView();
  } catch (error) {
    $("app").hidden = true;
    $("status").textContent = "";
    if (error.status === 401) $("signin").hidden = false;
    else {
      // a plan gate or RBAC refusal: said in words where the map would have been
      $("refused").textContent = `The map cannot be drawn for you. ${error.message}`;
      $("refused").hidden = false;
    }
    return;
  }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  performance.mark("map:first-view");
  performance.measure("map:first-view", "map:start", "map:first-view");
  performance.measure("map:view-fetch", "map:start", "map:view-fetched");
  cy.on("tap", "node", (event) => {
    const node = event.target;
    if (node.data("kind") === "group") expandGroup(node.id());
    else if (node.data("kind") === "device") showDevice(node.id());
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("search").value.trim());
  });
  $("collapse").addEventListener("click", () => {
    state.expanded.clear();
    state.show.clear();
    loadView();
  });
  $("clear").addEventListener("click", () => {
    state.blast = null;
    state.path = null;
    state.appeared = [];
    repaint();
  });
  $("blast-form").addEventListener("submit", (event) => {
    event.preventDefault();
    blast($("blast-kind").value, $("blast-target").value.trim(), Number($("blast-depth").value || 3));
  });
  $("path-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = { source: $("path-src").value.trim(), destination: $("path-dst").value.trim(), protocol: $("path-proto").value };
    if ($("path-port").value !== "") params.port = Number($("path-port").value);
    pathAnalysis(params);
  });
  $("diff-form").addEventListener("submit", (event) => {
    event.preventDefault();
    diff($("diff-a").value, $("diff-b").value);
  });
  $("diff-box").addEventListener("toggle", () => { if ($("diff-box").open && !$("diff-a").options.length) loadSnapshots(); });
}

// what the browser tests read: the drawing itself, through Cytoscape's API
window.meshqMap = { get cy() { return cy; }, state, search, focusDevice, blast, pathAnalysis, diff, ready: null };
window.meshqMap.ready = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => start().then(resolve, resolve));
});
