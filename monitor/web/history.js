// The history page: a zone's count or density over a range (thresholds drawn, alert periods shaded),
// its CSV export, and a camera's accumulated density heatmap. Plain JS and SVG, data from /api/.
"use strict";
// $, el (SVG elements) and fmt come from dom.js.

const W = 960, H = 340, M = {left: 56, right: 16, top: 14, bottom: 34};
const STEPS = [30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400];
const state = {camera: null, zone: null, metric: "count", range: "1h", from: null, to: null, zones: []};

function when(t) { return new Date(t * 1000).toLocaleString(); }
function localInput(t) { const d = new Date(t * 1000); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }

function span() {  // the query part naming the range, and the range itself in epoch seconds
  if (state.from !== null) return {query: "from=" + state.from + "&to=" + state.to, from: state.from, to: state.to};
  return {query: "range=" + state.range};
}

async function getJSON(url) {
  const resp = await fetch(url, {cache: "no-store"});
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

async function loadZones() {
  const data = await getJSON("api/zones");
  state.zones = data.zones;
  const zone = $("zone"), camera = $("camera");
  zone.replaceChildren(...data.zones.map(z => new Option(z.camera + " / " + z.zone, z.camera + "/" + z.zone)));
  const cameras = [...new Set(data.zones.map(z => z.camera).filter(c => c !== "site"))];
  camera.replaceChildren(...cameras.map(c => new Option(c, c)));
  if (state.camera === null && data.zones.length) { state.camera = data.zones[0].camera; state.zone = data.zones[0].zone; }
  zone.value = state.camera + "/" + state.zone;
  camera.value = state.camera !== "site" && cameras.includes(state.camera) ? state.camera : cameras[0] || "";
}

function remember() {  // the page's address says what it shows, so it can be shared or reloaded
  const p = new URLSearchParams({camera: state.camera, zone: state.zone, metric: state.metric});
  if (state.from !== null) { p.set("from", state.from); p.set("to", state.to); } else p.set("range", state.range);
  history.replaceState(null, "", "?" + p.toString());
  document.querySelectorAll("button[data-range]").forEach(b => b.classList.toggle("on", state.from === null && b.dataset.range === state.range));
}

async function refresh() {
  if (!state.zone) return;
  remember();
  const s = span(), who = "camera=" + encodeURIComponent(state.camera) + "&zone=" + encodeURIComponent(state.zone);
  try {
    const data = await getJSON("api/series?" + who + "&metric=" + state.metric + "&" + s.query);
    $("error").textContent = "";
    draw(data);
    listAlerts(data.alerts);
    $("csv").href = "api/export.csv?" + who + "&from=" + data.from + "&to=" + data.to + "&resolution=" + data.resolution;
    $("from").value = localInput(data.from); $("to").value = localInput(data.to);
    heatmap(data.from, data.to);
  } catch (err) { $("error").textContent = "history: " + err.message; }
}

function thresholdLines(data) {  // [{level, value, label}] in the chart's metric (converted through the zone's area)
  const area = (state.zones.find(z => z.camera === data.camera && z.zone === data.zone) || {}).area_m2;
  const lines = [];
  for (const level of ["warning", "critical"]) {
    const t = (data.thresholds || {})[level];
    if (!t) continue;
    const [metric, value] = Object.entries(t)[0];
    if (metric === data.metric) lines.push({level, value, label: level + " " + value});
    else if (area && metric === "density") lines.push({level, value: value * area, label: level + " " + value + "/m² × " + area + " m²"});
    else if (area && metric === "count") lines.push({level, value: value / area, label: level + " " + value + " people"});
  }
  return lines;
}

function niceStep(range, ticks) {
  const raw = range / ticks, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 2.5, 5, 10].map(f => f * mag).find(s => s >= raw) || raw;
}

function draw(data) {
  const svg = $("chart"), lines = thresholdLines(data), pts = data.points;
  const x0 = data.from, x1 = data.to, pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const top = Math.max(1e-9, ...pts.map(p => p.max), ...lines.map(l => l.value)) * 1.1;
  const yStep = niceStep(top, 5), yMax = Math.ceil(top / yStep) * yStep;
  const X = t => M.left + (t - x0) / (x1 - x0) * pw, Y = v => M.top + ph - v / yMax * ph;
  svg.replaceChildren();
  Object.assign(svg.dataset, {points: pts.length, resolution: data.resolution, metric: data.metric, zone: data.camera + "/" + data.zone});
  const axis = el("g", {class: "axis"});
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    axis.append(el("line", {class: "grid", x1: M.left, x2: W - M.right, y1: Y(v), y2: Y(v)}),
                el("text", {x: M.left - 6, y: Y(v) + 4, "text-anchor": "end"}, +v.toFixed(3)));
  }
  const step = STEPS.find(s => (x1 - x0) / s <= 8) || STEPS[STEPS.length - 1];
  const offset = new Date().getTimezoneOffset() * 60;  // ticks on local whole minutes, hours, days
  for (let t = Math.ceil((x0 - offset) / step) * step + offset; t <= x1; t += step) {
    const d = new Date(t * 1000);
    const label = step >= 86400 ? d.toLocaleDateString()
      : d.toLocaleTimeString([], step < 60 ? {hour: "2-digit", minute: "2-digit", second: "2-digit"} : {hour: "2-digit", minute: "2-digit"});
    axis.append(el("line", {class: "grid", x1: X(t), x2: X(t), y1: M.top, y2: M.top + ph}),
                el("text", {x: X(t), y: H - M.bottom + 16, "text-anchor": "middle"}, label));
  }
  svg.append(axis);
  for (const a of data.alerts) {  // alert periods, shaded; still open ones run to the end of the range
    const start = Math.max(a.started_at, x0), end = Math.min(a.ended_at === null ? x1 : a.ended_at, x1);
    const rect = el("rect", {class: "alert alert-" + a.level, x: X(start), y: M.top, width: Math.max(1, X(end) - X(start)), height: ph,
                             "data-id": a.id, "data-level": a.level});
    rect.append(el("title", {}, a.level + " alert from " + when(a.started_at) + (a.ended_at ? " to " + when(a.ended_at) : " (ongoing)")));
    svg.append(rect);
  }
  for (const segment of segments(pts, data.bucket_s)) {
    const mid = p => X(Math.min(Math.max(p.t + data.bucket_s / 2, x0), x1));  // a bucket in progress stays inside
    const band = segment.map(p => mid(p) + "," + Y(p.max)).concat(segment.slice().reverse().map(p => mid(p) + "," + Y(p.min)));
    svg.append(el("polygon", {class: "band", points: band.join(" ")}),
               el("path", {class: "mean", d: "M" + segment.map(p => mid(p) + "," + Y(p.mean)).join("L")}));
    for (const p of segment) {
      svg.append(el("circle", {class: "point", cx: mid(p), cy: Y(p.mean), r: segment.length > 200 ? 0.8 : 2,
                               "data-t": p.t, "data-mean": p.mean, "data-min": p.min, "data-max": p.max, "data-samples": p.samples}));
    }
  }
  for (const l of lines) {
    svg.append(el("line", {class: "threshold threshold-" + l.level, x1: M.left, x2: W - M.right, y1: Y(l.value), y2: Y(l.value), "data-value": l.value}),
               el("text", {class: "threshold-label label-" + l.level, x: W - M.right - 4, y: Y(l.value) - 4, "text-anchor": "end"}, l.label));
  }
  if (!pts.length) svg.append(el("text", {class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle"}, "nothing recorded in this range"));
  const cursor = el("line", {class: "cursor", y1: M.top, y2: M.top + ph, x1: -10, x2: -10});
  svg.append(cursor);
  svg.onmousemove = ev => hover(ev, svg, pts, X, cursor, data);
  const peak = pts.reduce((best, p) => (best === null || p.max > best.max ? p : best), null);
  const each = data.bucket_s % 3600 === 0 ? data.bucket_s / 3600 + " h" : data.bucket_s % 60 === 0 ? data.bucket_s / 60 + " min" : data.bucket_s + " s";
  $("summary").textContent = pts.length ? pts.length + " points of " + each + " recorded; peak " + fmt(peak.max, 2) + " at " + when(peak.t) : "";
}

function segments(points, bucket) {  // runs of consecutive buckets: a gap (no samples) breaks the line
  const runs = [];
  for (const p of points) {
    const run = runs[runs.length - 1];
    if (run && p.t - run[run.length - 1].t <= bucket * 1.5) run.push(p); else runs.push([p]);
  }
  return runs;
}

function hover(ev, svg, pts, X, cursor, data) {
  if (!pts.length) return;
  const box = svg.getBoundingClientRect(), x = (ev.clientX - box.left) / box.width * W;
  const p = pts.reduce((a, b) => Math.abs(X(b.t + data.bucket_s / 2) - x) < Math.abs(X(a.t + data.bucket_s / 2) - x) ? b : a);
  cursor.setAttribute("x1", X(p.t + data.bucket_s / 2)); cursor.setAttribute("x2", X(p.t + data.bucket_s / 2));
  const digits = data.metric === "density" ? 3 : 1;
  $("tip").textContent = when(p.t) + ": mean " + fmt(p.mean, digits) + ", min " + fmt(p.min, digits) + ", max " + fmt(p.max, digits) + " (" + p.samples + " samples)";
}

function listAlerts(alerts) {
  $("alerts").tBodies[0].replaceChildren(...alerts.map(a => {
    const row = document.createElement("tr");
    const cells = [a.level, when(a.started_at), a.ended_at === null ? "ongoing" : when(a.ended_at), fmt(a.peak_count, 1), fmt(a.peak_density, 2)];
    cells.forEach((c, i) => { const td = document.createElement("td"); td.textContent = c; if (i === 0) td.className = "level-" + a.level; row.append(td); });
    return row;
  }));
}

async function heatmap(from, to) {
  const camera = $("camera").value;
  if (!camera) return;
  const query = "camera=" + encodeURIComponent(camera) + "&from=" + from + "&to=" + to;
  try {
    const info = await getJSON("api/heatmap?format=json&" + query);
    $("heatmap-info").textContent = camera + ": mean of " + info.frames + " frames over " + info.hours + " hour(s); mean count " + fmt(info.sum, 1) + " (red: the densest cell)";
    $("heatmap-img").src = $("heatmap-link").href = "api/heatmap?scale=10&" + query;
    $("heatmap-img").hidden = false;
  } catch (err) { $("heatmap-info").textContent = err.message; $("heatmap-img").hidden = true; }
}

function setup() {
  const p = new URLSearchParams(location.search);
  if (p.get("camera") && p.get("zone")) { state.camera = p.get("camera"); state.zone = p.get("zone"); }
  state.metric = p.get("metric") === "density" ? "density" : "count";
  if (p.get("from") && p.get("to")) { state.from = Number(p.get("from")); state.to = Number(p.get("to")); }
  else if (p.get("range")) state.range = p.get("range");
  $("metric").value = state.metric;
  $("zone").onchange = () => { [state.camera, state.zone] = $("zone").value.split(/\/(.*)/s); refresh(); };
  $("metric").onchange = () => { state.metric = $("metric").value; refresh(); };
  $("camera").onchange = refresh;
  document.querySelectorAll("button[data-range]").forEach(b => b.onclick = () => { state.range = b.dataset.range; state.from = state.to = null; refresh(); });
  $("custom").onclick = () => {
    const from = new Date($("from").value).getTime() / 1000, to = new Date($("to").value).getTime() / 1000;
    if (!(from < to)) { $("error").textContent = "choose a 'from' before 'to'"; return; }
    state.from = from; state.to = to; refresh();
  };
  loadZones().then(refresh).catch(err => { $("error").textContent = "zones: " + err.message; });
  setInterval(() => { if (state.from === null) refresh(); }, 30000);  // a range ending now moves on
}

setup();
