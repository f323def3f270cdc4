// The zone editor: polygons of zones, ROI and ignore areas and the four calibration points, edited
// with the mouse on the camera's latest frame; area and thresholds in the panel. Save sends one
// camera's shapes to PUT /api/config with the console token; the daemon validates them as
// check-config does (each problem comes back with its key path and is shown at its field),
// writes the YAML (comments kept, FILE.bak) and reloads it as SIGHUP does.
"use strict";

const Editor = {
  camera: null, version: null, state: null, saved: [], sel: null, drag: null, w: 1280, h: 720,

  async open(name) {
    document.getElementById("live").hidden = true;
    document.getElementById("editor").hidden = false;
    Editor.camera = name; Editor.sel = null;
    document.getElementById("ed-camera").textContent = name;
    document.getElementById("ed-token").value = sessionStorage.getItem("crowd-console-token") || "";
    Editor.clearProblems(); Editor.message("loading…");
    const answer = await fetch("api/config", {cache: "no-store"});
    const body = await answer.json();
    if (!answer.ok) { Editor.message(body.error, true); Editor.showProblems(body.problems || []); return; }
    if (!body.cameras[name]) { Editor.message("no camera " + name + " in " + body.file, true); return; }
    Editor.version = body.version;
    Editor.state = JSON.parse(JSON.stringify(body.cameras[name]));
    Editor.saved = Object.keys(Editor.state.zones);  // zones in the file: one deleted here is sent as null
    Editor.message(body.saving ? "editing " + body.file : "saving is disabled here: " +
                   "no console token is configured (health.console_token)", !body.saving);
    Editor.newFrame();
    Editor.renderPanel();
  },
  close() {
    document.getElementById("editor").hidden = true;
    document.getElementById("live").hidden = false;
    Editor.camera = null;
  },
  newFrame() {
    const img = document.getElementById("ed-image");
    img.onload = () => { Editor.w = img.naturalWidth; Editor.h = img.naturalHeight; img.dataset.loaded = "1"; Editor.draw(); };
    img.onerror = () => { img.dataset.loaded = "missing"; Editor.draw(); };
    img.src = "api/frame?camera=" + encodeURIComponent(Editor.camera) + "&overlay=0&t=" + Date.now();
    Editor.draw();
  },
  path(...parts) { return ["cameras", Editor.camera, ...parts].join("."); },
  message(text, bad) {
    const box = document.getElementById("ed-message");
    box.textContent = text; box.className = bad ? "bad" : "ok";
  },

  // -- the shapes on the picture -------------------------------------------------------------
  points(create) {
    const s = Editor.state, sel = Editor.sel;
    if (!sel) return null;
    if (sel.kind === "zone") return s.zones[sel.name] ? s.zones[sel.name].polygon : null;
    if (sel.kind === "ignore") return s.ignore[sel.index] || null;
    if (sel.kind === "roi") { if (!s.roi && create) s.roi = []; return s.roi; }
    if (!s.calibration && create) s.calibration = {image_points: [], world_points: [[null, null], [null, null], [null, null], [null, null]]};
    return s.calibration ? s.calibration.image_points : null;
  },
  draw() {
    const svg = document.getElementById("ed-svg"), s = Editor.state;
    if (!s) return;
    const zones = Object.entries(s.zones).map(([zone, z]) => ({zone, polygon: z.polygon, level: "normal"}));
    CM.draw(svg, Editor.w, Editor.h, {roi: s.roi, ignore: s.ignore, zones, calibration: s.calibration}, Editor.sel);
    const pts = Editor.points(false) || [];
    const r = 7 * Editor.w / (svg.getBoundingClientRect().width || Editor.w);  // 7 screen pixels
    pts.forEach((p, i) => {
      const cls = "handle" + (Editor.sel.kind === "calibration" ? " calib-point" : "");
      const handle = CM.svg("circle", {cx: p[0] * Editor.w, cy: p[1] * Editor.h, r, class: cls, "data-index": i});
      svg.append(handle);
    });
  },
  at(event) {
    const rect = document.getElementById("ed-svg").getBoundingClientRect();
    const clamp = v => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height)];
  },
  addPoint(p) {
    const pts = Editor.points(true);
    if (!pts) { Editor.message("select a zone, the ROI, an ignore area or the calibration first", true); return; }
    if (Editor.sel.kind === "calibration") { if (pts.length < 4) pts.push(p); }
    else pts.splice(Editor.insertAt(pts, p), 0, p);
    Editor.changed();
  },
  // A new point goes into the edge nearest to it, so an existing polygon can be refined.
  insertAt(pts, p) {
    if (pts.length < 3) return pts.length;
    let best = 0, bestD = Infinity;
    for (let i = 0; i < pts.length; i++) {
      const a = pts[i], b = pts[(i + 1) % pts.length];
      const dx = b[0] - a[0], dy = b[1] - a[1], len = dx * dx + dy * dy || 1e-12;
      const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len));
      const d = Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
      if (d < bestD) { bestD = d; best = i + 1; }
    }
    return best;
  },
  removePoint(index) {
    const pts = Editor.points(false);
    if (pts) { pts.splice(index, 1); Editor.changed(); }
  },
  changed() { Editor.draw(); Editor.renderCounts(); },

  // -- the panel ------------------------------------------------------------------------------
  renderPanel() {
    const s = Editor.state;
    const zones = document.getElementById("ed-zones");
    zones.replaceChildren(...Object.keys(s.zones).map(Editor.zoneBox));
    document.getElementById("ed-roi-row").dataset.path = Editor.path("roi");
    document.getElementById("ed-ignores").replaceChildren(...s.ignore.map((poly, i) => {
      const row = CM.el("div", {class: "row", "data-path": Editor.path("ignore", i)});
      const del = CM.el("button", {type: "button"}, "delete");
      del.onclick = () => { s.ignore.splice(i, 1); Editor.sel = null; Editor.renderPanel(); };
      row.append(Editor.radio({kind: "ignore", index: i}, "ignore area " + (i + 1)), CM.el("span", {class: "n"}), del);
      return row;
    }));
    Editor.renderCalibration();
    Editor.renderCounts();
    Editor.draw();
  },
  radio(sel, text) {
    const label = CM.el("label");
    const input = CM.el("input", {type: "radio", name: "shape"});
    input.checked = JSON.stringify(Editor.sel) === JSON.stringify(sel);
    input.onchange = () => { Editor.sel = sel; Editor.renderPanel(); };
    label.append(input, " " + text);
    return label;
  },
  zoneBox(name) {
    const zone = Editor.state.zones[name];
    const sel = {kind: "zone", name};
    const box = CM.el("div", {class: "zone-box", "data-path": Editor.path("zones", name)});
    if (JSON.stringify(Editor.sel) === JSON.stringify(sel)) box.classList.add("active");
    const head = CM.el("div", {class: "row"});
    const del = CM.el("button", {type: "button", class: "delete-zone"}, "delete zone");
    del.onclick = () => { delete Editor.state.zones[name]; Editor.sel = null; Editor.renderPanel(); };
    head.append(Editor.radio(sel, name), CM.el("span", {class: "n", "data-path": Editor.path("zones", name, "polygon")}), del);
    const area = CM.el("div", {class: "row"});
    const areaInput = CM.el("input", {name: "area_m2", "data-path": Editor.path("zones", name, "area_m2"), placeholder: "m²"});
    areaInput.value = zone.area_m2 === null || zone.area_m2 === undefined ? "" : zone.area_m2;
    areaInput.oninput = () => { zone.area_m2 = Editor.number(areaInput.value); };
    area.append(CM.el("span", {}, "area m²"), areaInput);
    box.append(head, area, Editor.threshold(zone, name, "warning"), Editor.threshold(zone, name, "critical"));
    return box;
  },
  threshold(zone, name, level) {
    const row = CM.el("div", {class: "row", "data-path": Editor.path("zones", name, level)});
    const metric = CM.el("select", {name: level + "_metric"});
    for (const m of ["none", "count", "density"]) metric.append(CM.el("option", {value: m}, m === "density" ? "persons/m²" : m));
    const value = CM.el("input", {name: level});
    const current = zone[level] || {};
    metric.value = Object.keys(current)[0] || "none";
    value.value = metric.value === "none" ? "" : current[metric.value];
    const update = () => {
      value.disabled = metric.value === "none";
      value.dataset.path = Editor.path("zones", name, level, metric.value);
      zone[level] = metric.value === "none" ? null : {[metric.value]: Editor.number(value.value)};
    };
    metric.onchange = update; value.oninput = update; update();
    row.append(CM.el("span", {}, level), metric, value);
    return row;
  },
  renderCalibration() {
    const box = document.getElementById("ed-calibration"), s = Editor.state;
    box.dataset.path = Editor.path("calibration");
    const head = CM.el("div", {class: "row", "data-path": Editor.path("calibration", "image_points")});
    const clear = CM.el("button", {type: "button"}, "clear");
    clear.onclick = () => { s.calibration = null; Editor.renderPanel(); };
    head.append(Editor.radio({kind: "calibration"}, "4 floor points on the picture"), CM.el("span", {class: "n"}), clear);
    const rows = [CM.el("div", {class: "help"}, "and where each lies on the floor, in metres (x, y):")];
    for (let i = 0; i < 4; i++) {
      const row = CM.el("div", {class: "row", "data-path": Editor.path("calibration", "world_points", i)});
      row.append(CM.el("span", {}, "point " + (i + 1)));
      for (let axis = 0; axis < 2; axis++) {
        const input = CM.el("input", {"data-path": Editor.path("calibration", "world_points", i, axis), placeholder: axis ? "y" : "x"});
        const world = s.calibration ? s.calibration.world_points[i] : null;
        input.value = world && world[axis] !== null ? world[axis] : "";
        input.oninput = () => { Editor.points(true); s.calibration.world_points[i][axis] = Editor.number(input.value); };
        row.append(input);
      }
      rows.push(row);
    }
    box.replaceChildren(head, ...rows);
  },
  renderCounts() {
    const s = Editor.state;
    for (const [name, zone] of Object.entries(s.zones)) {
      const n = document.querySelector(`#ed-zones [data-path="${CSS.escape(Editor.path("zones", name, "polygon"))}"]`);
      if (n) n.textContent = zone.polygon.length + " points";
    }
    document.querySelectorAll("#ed-ignores .n").forEach((n, i) => { n.textContent = s.ignore[i].length + " points"; });
    const calib = document.querySelector("#ed-calibration .n");
    if (calib) calib.textContent = (s.calibration ? s.calibration.image_points.length : 0) + " of 4";
  },
  number(text) {
    const t = String(text).trim();
    if (t === "") return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : t;  // the server says what is wrong with a non-number
  },

  // -- saving ---------------------------------------------------------------------------------
  async save() {
    const s = Editor.state, token = document.getElementById("ed-token").value.trim();
    sessionStorage.setItem("crowd-console-token", token);
    Editor.clearProblems();
    const zones = Object.assign(Object.fromEntries(Editor.saved.map(name => [name, null])), s.zones);
    const body = {version: Editor.version, camera: Editor.camera, zones,
                  roi: s.roi && s.roi.length ? s.roi : null, ignore: s.ignore, calibration: s.calibration};
    const headers = {"Content-Type": "application/json"};
    if (token) headers.Authorization = "Bearer " + token;
    Editor.message("saving…");
    let answer, reply;
    try {
      answer = await fetch("api/config", {method: "PUT", headers, body: JSON.stringify(body)});
      reply = await answer.json();
    } catch (e) { Editor.message("the daemon did not answer: " + e, true); return; }
    if (answer.status === 401 || answer.status === 403) {
      Editor.showProblems([{path: ["token"], field: "token", message: reply.error}]);
      Editor.message(reply.error, true);
    } else if (!answer.ok) {
      Editor.message(reply.error, true);
      Editor.showProblems(reply.problems || []);
    } else {
      Editor.version = reply.version;
      Editor.saved = Object.keys(s.zones);
      const r = reply.reload;
      Editor.message(r.applied ? "saved and applied (previous file kept as " + reply.backup + ")"
                     : "saved, but " + (r.error || "the reload did not finish"), !r.applied);
    }
  },
  clearProblems() {
    document.querySelectorAll("#editor .problem").forEach(e => e.remove());
    document.querySelectorAll("#editor .invalid").forEach(e => { e.classList.remove("invalid"); e.removeAttribute("aria-invalid"); });
    document.getElementById("ed-problems").replaceChildren();
  },
  // Each problem at the field of its key path (the longest prefix that has one), else in the list on top.
  showProblems(problems) {
    for (const p of problems) {
      const key = p.path.map(String);
      let field = null;
      for (let n = key.length; n > 0 && !field; n--) {
        field = document.querySelector(`#editor [data-path="${CSS.escape(key.slice(0, n).join("."))}"]`);
      }
      if (!field) { document.getElementById("ed-problems").append(CM.el("li", {}, p.field + ": " + p.message)); continue; }
      field.classList.add("invalid"); field.setAttribute("aria-invalid", "true");
      (field.closest(".row") || field).append(CM.el("div", {class: "problem", "data-for": p.field}, p.message));
    }
  },
};
window.Editor = Editor;

document.addEventListener("DOMContentLoaded", () => {
  const svg = document.getElementById("ed-svg");
  let moved = false;
  svg.addEventListener("mousedown", e => {
    moved = false;  // a click that ends a drag adds no point; any other click does
    if (e.button !== 0 || !e.target.classList.contains("handle")) return;
    Editor.drag = Number(e.target.dataset.index); e.preventDefault();
  });
  window.addEventListener("mousemove", e => {
    if (Editor.drag === null) return;
    const pts = Editor.points(false);
    if (pts && pts[Editor.drag]) { pts[Editor.drag] = Editor.at(e); moved = true; Editor.draw(); }
  });
  window.addEventListener("mouseup", () => { Editor.drag = null; });
  svg.addEventListener("click", e => {
    if (e.target.classList.contains("handle") || moved) return;
    Editor.addPoint(Editor.at(e));
  });
  const remove = e => {
    if (!e.target.classList.contains("handle")) return;
    e.preventDefault(); Editor.removePoint(Number(e.target.dataset.index));
  };
  svg.addEventListener("dblclick", remove);
  svg.addEventListener("contextmenu", remove);
  document.getElementById("ed-back").onclick = () => { location.hash = ""; };
  document.getElementById("ed-refresh").onclick = Editor.newFrame;
  document.getElementById("ed-save").onclick = Editor.save;
  document.getElementById("ed-roi-clear").onclick = () => { Editor.state.roi = null; Editor.renderPanel(); };
  document.getElementById("ed-add-ignore").onclick = () => {
    Editor.state.ignore.push([]); Editor.sel = {kind: "ignore", index: Editor.state.ignore.length - 1}; Editor.renderPanel();
  };
  document.getElementById("ed-add-zone").onclick = () => {
    const input = document.getElementById("ed-new-zone"), name = input.value.trim();
    if (!name || Editor.state.zones[name]) { Editor.message(name ? "zone " + name + " exists" : "give the new zone a name", true); return; }
    Editor.state.zones[name] = {polygon: [], area_m2: null, warning: null, critical: null};
    Editor.sel = {kind: "zone", name}; input.value = ""; Editor.renderPanel();
  };
  document.querySelector('#ed-roi-row input[type=radio]').onchange = () => { Editor.sel = {kind: "roi"}; Editor.renderPanel(); };
});
