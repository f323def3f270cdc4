// The calibration page: freeze snapshots, click heads (or box a group and type its count), save them
// as the camera's counts dataset, measure the settings and apply one. Plain JS and SVG, data from /api/.
"use strict";
// $, el (SVG elements) and fmt come from dom.js.

const DRAG_PX = 8;  // a press that moves further than this draws a box instead of a head
const page = {camera: null, shots: [], shot: null, points: [], boxes: [], pending: null, poll: null, trials: []};

function say(text, cls) { $("message").textContent = text; $("message").className = cls || ""; }
function q(extra) { return "camera=" + encodeURIComponent(page.camera) + (extra ? "&" + extra : ""); }

async function call(method, path, body) {
  const headers = {"Content-Type": "application/json"};
  if (method === "POST") headers.Authorization = "Bearer " + $("token").value.trim();
  const resp = await fetch(path, {method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

async function loadCameras() {
  const snap = await (await fetch("status.json", {cache: "no-store"})).json();
  const names = snap.cameras.map(c => c.name);
  $("camera").replaceChildren(...names.map(n => new Option(n, n)));
  const wanted = new URLSearchParams(location.search).get("camera");
  page.camera = names.includes(wanted) ? wanted : names[0];
  $("camera").value = page.camera;
}

async function loadShots(keep) {
  const data = await call("GET", "api/calibration?" + q());
  page.shots = data.snapshots;
  $("shots").replaceChildren(...page.shots.map(s => {
    const b = document.createElement("button");
    b.textContent = s.image + ": " + (s.count === null ? "not counted" : s.count);
    b.className = (s.count === null ? "uncounted" : "") + (s.image === keep ? " current" : "");
    b.dataset.image = s.image;
    b.onclick = () => choose(s.image);
    return b;
  }));
  showScan(data.scan);
  const next = page.shots.find(s => s.image === keep) || page.shots.find(s => s.count === null) || page.shots[0];
  if (next && next.image !== (page.shot && page.shot.image)) choose(next.image);
  if (!next) { page.shot = null; draw(); }
}

function choose(image) {
  page.shot = page.shots.find(s => s.image === image);
  page.points = (page.shot.points || []).map(p => p.slice());
  page.boxes = (page.shot.boxes || []).map(b => b.slice());
  page.pending = null;
  $("box-form").hidden = true;
  $("editor").setAttribute("viewBox", "0 0 " + page.shot.width + " " + page.shot.height);
  document.querySelectorAll("#shots button").forEach(b => b.classList.toggle("current", b.dataset.image === image));
  draw();
}

function draw() {
  const svg = $("editor");
  svg.replaceChildren();
  if (!page.shot) { $("title").textContent = "no snapshot yet: freeze one"; $("tally").textContent = ""; return; }
  $("title").textContent = page.shot.image;
  svg.append(el("image", {href: "api/calibration/image?" + q("image=" + encodeURIComponent(page.shot.image)),
                          x: 0, y: 0, width: page.shot.width, height: page.shot.height}));
  const r = Math.max(3, page.shot.width / 160);
  for (const [x0, y0, x1, y1, n] of page.boxes) {
    svg.append(el("rect", {class: "box", x: x0, y: y0, width: x1 - x0, height: y1 - y0}),
               el("text", {class: "box-label", x: x0 + 4, y: y0 + 18}, n));
  }
  page.points.forEach(([x, y], i) => svg.append(el("circle", {class: "head", cx: x, cy: y, r, "data-index": i})));
  if (page.pending) {
    const [x0, y0, x1, y1] = page.pending;
    svg.append(el("rect", {class: "pending", x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0)}));
  }
  const inBoxes = page.boxes.reduce((sum, b) => sum + b[4], 0);
  $("tally").textContent = page.points.length + " heads" + (page.boxes.length ? " + " + inBoxes + " in boxes" : "") + " = " + (page.points.length + inBoxes);
}

function imagePoint(ev) {  // the pointer in the snapshot's own pixels
  const m = $("editor").getScreenCTM().inverse(), p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m);
  return [Math.min(Math.max(p.x, 0), page.shot.width), Math.min(Math.max(p.y, 0), page.shot.height)];
}

function setupEditor() {
  const svg = $("editor");
  let down = null;
  svg.onmousedown = ev => { if (page.shot) { down = imagePoint(ev); ev.preventDefault(); } };
  svg.onmousemove = ev => {
    if (!down) return;
    const [x, y] = imagePoint(ev), scale = page.shot.width / svg.getBoundingClientRect().width;
    if (Math.hypot(x - down[0], y - down[1]) > DRAG_PX * scale) { page.pending = [...down, x, y]; draw(); }
  };
  svg.onmouseup = ev => {
    if (!down) return;
    const start = down;
    down = null;
    if (page.pending) { $("box-form").hidden = false; $("box-count").value = ""; $("box-count").focus(); return; }
    const hit = ev.target.closest && ev.target.closest("circle.head");
    if (hit) page.points.splice(Number(hit.dataset.index), 1);
    else page.points.push(start.map(v => Math.round(v * 10) / 10));
    draw();
  };
  $("box-add").onclick = () => {
    const n = Number($("box-count").value), [x0, y0, x1, y1] = page.pending || [];
    if (!page.pending || !(n >= 0) || $("box-count").value === "") { say("type how many people are in the box", "error"); return; }
    page.boxes.push([Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1), n]);
    page.pending = null; $("box-form").hidden = true; draw();
  };
  $("box-count").onkeydown = ev => { if (ev.key === "Enter") $("box-add").click(); };
  $("undo").onclick = () => { if (page.pending) page.pending = null; else if (page.points.length) page.points.pop(); else page.boxes.pop(); $("box-form").hidden = !page.pending; draw(); };
  $("clear").onclick = () => { page.points = []; page.boxes = []; page.pending = null; draw(); };
}

async function act(what, work) {  // run one write, report it; on failure say why and keep the page as it is
  try { say(what + "…"); const result = await work(); say(what + ": done", "ok"); return result; }
  catch (err) { say(what + ": " + err.message, "error"); return null; }
}

function showScan(job) {
  clearTimeout(page.poll);
  const body = $("trials").tBodies[0];
  if (!job || job.state === "none") { $("scan-state").textContent = ""; body.replaceChildren(); $("apply").disabled = true; return; }
  $("scan-state").textContent = job.state === "running" ? "measuring… (a few seconds per snapshot and setting)" : job.state === "failed" ? "failed: " + job.error : "done";
  $("log").textContent = job.log.join("\n");
  const isChosen = t => job.chosen !== null && t.max_side === job.chosen.max_side && t.correction === job.chosen.correction;
  body.replaceChildren(...job.trials.map((t, i) => {
    const row = document.createElement("tr"), radio = document.createElement("input");
    radio.type = "radio"; radio.name = "side"; radio.value = String(i); radio.checked = isChosen(t);
    row.className = isChosen(t) ? "chosen" : "";
    const cells = [radio, String(t.max_side), t.correction ? "on" : "off", t.gain.toFixed(3), t.mae.toFixed(2), (t.bias >= 0 ? "+" : "") + t.bias.toFixed(2)];
    cells.forEach(c => { const td = document.createElement("td"); td.append(c); row.append(td); });
    return row;
  }));
  $("apply").disabled = job.state !== "done";
  page.trials = job.trials;
  if (job.state === "running") page.poll = setTimeout(async () => showScan(await call("GET", "api/calibration/scan?" + q())), 2000);
}

function setupActions() {
  $("token").value = sessionStorage.getItem("crowd-console-token") || "";
  $("token").onchange = () => sessionStorage.setItem("crowd-console-token", $("token").value.trim());
  $("camera").onchange = () => { page.camera = $("camera").value; page.shot = null; loadShots(); };
  $("freeze").onclick = () => act("freezing a snapshot", async () => { const s = await call("POST", "api/calibration/snapshot?" + q()); await loadShots(s.image); });
  $("save").onclick = () => page.shot && act("saving " + page.shot.image, async () => {
    await call("POST", "api/calibration/clicks?" + q("image=" + encodeURIComponent(page.shot.image)), {points: page.points, boxes: page.boxes});
    await loadShots(page.shot.image);
  });
  $("delete").onclick = () => page.shot && act("deleting " + page.shot.image, async () => {
    await call("POST", "api/calibration/delete?" + q("image=" + encodeURIComponent(page.shot.image)));
    page.shot = null; await loadShots();
  });
  $("scan").onclick = () => act("starting the scan", async () => showScan(await call("POST", "api/calibration/scan?" + q())));
  $("apply").onclick = () => act("writing the setting", async () => {
    const picked = page.trials[Number(document.querySelector("input[name=side]:checked").value)];
    const result = await call("POST", "api/calibration/apply?" + q(), {max_side: picked.max_side, correction: picked.correction});
    $("log").textContent = Object.entries(result.written).map(([k, v]) => result.file + ": " + k + " = " + v).join("\n") + "\nprevious file kept as " + result.backup + "; reload requested";
  });
}

setupEditor();
setupActions();
loadCameras().then(() => loadShots()).catch(err => say("cannot load: " + err.message, "error"));
