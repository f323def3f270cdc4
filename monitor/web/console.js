// The console's live view: every camera's latest frame with its zones, ROI and ignore areas drawn,
// counts, persons/m², alert levels and camera state; site zones below. Updates come as server-sent
// events from /api/events (polling /api/live when the stream is refused). Plain JS, no libraries.
"use strict";

const CM = {
  SVG,
  el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  },
  svg: (tag, attrs) => el(tag, attrs),  // dom.js
  fmt,
  points(poly, w, h) { return poly.map(p => (p[0] * w).toFixed(1) + "," + (p[1] * h).toFixed(1)).join(" "); },
  // Draws a camera's shapes into an SVG whose viewBox is the frame in pixels (uniform scaling).
  draw(svg, w, h, cam, selected) {
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.parentElement.style.aspectRatio = `${w} / ${h}`;  // the frame's shape even before its picture loads
    svg.replaceChildren();
    const font = Math.max(10, w / 45);
    if (cam.roi) svg.append(CM.shape(cam.roi, w, h, "roi", selected && selected.kind === "roi"));
    (cam.ignore || []).forEach((poly, i) =>
      svg.append(CM.shape(poly, w, h, "ignore", selected && selected.kind === "ignore" && selected.index === i)));
    for (const zone of cam.zones) {
      const sel = selected && selected.kind === "zone" && selected.name === zone.zone;
      const shape = CM.shape(zone.polygon, w, h, "zone " + (zone.level || "normal"), sel);
      shape.dataset.zone = zone.zone;
      svg.append(shape);
      if (zone.polygon.length) {
        const x = Math.min(...zone.polygon.map(p => p[0])) * w + 4, y = Math.min(...zone.polygon.map(p => p[1])) * h + font;
        const label = CM.svg("text", {x, y, "font-size": font, class: "label"});
        label.textContent = zone.zone + (zone.count !== undefined ? " " + CM.fmt(zone.count, 1) : "");
        svg.append(label);
      }
    }
    const calib = cam.calibration && cam.calibration.image_points;
    if (calib && calib.length) svg.append(CM.shape(calib, w, h, "calib", selected && selected.kind === "calibration"));
  },
  shape(poly, w, h, cls, selected) {
    const tag = poly.length >= 3 ? "polygon" : "polyline";
    return CM.svg(tag, {points: CM.points(poly, w, h), class: cls + (selected ? " selected" : "")});
  },
};
window.CM = CM;

const Live = {
  view: null,
  source: null,
  pollTimer: null,

  start() {
    Live.connect();
    window.addEventListener("hashchange", Live.route);
    Live.route();
  },
  connect() {
    const link = document.getElementById("link");
    const es = new EventSource("api/events");
    Live.source = es;
    es.addEventListener("live", e => { link.textContent = "live"; link.className = "pill ok"; Live.render(JSON.parse(e.data)); });
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) { link.textContent = "reconnecting"; link.className = "pill bad"; return; }
      link.textContent = "polling"; link.className = "pill";
      Live.poll();
      setTimeout(() => { clearTimeout(Live.pollTimer); Live.connect(); }, 30000);
    };
  },
  async poll() {
    try { Live.render(await (await fetch("api/live", {cache: "no-store"})).json()); } catch (e) { /* next try */ }
    Live.pollTimer = setTimeout(Live.poll, 2000);
  },
  route() {
    const m = location.hash.match(/^#edit\/(.+)$/);
    if (m) window.Editor.open(decodeURIComponent(m[1]));
    else window.Editor.close();
  },

  render(view) {
    Live.view = view;
    const health = document.getElementById("health");
    health.textContent = view.healthy ? "healthy" : "unhealthy: " + view.problems.join("; ");
    health.className = "pill " + (view.healthy ? "ok" : "bad");
    document.getElementById("warnings").replaceChildren(...view.warnings.map(w => CM.el("div", {}, w)));
    const box = document.getElementById("cameras");
    const names = new Set(view.cameras.map(c => c.name));
    for (const card of [...box.children]) if (!names.has(card.dataset.camera)) card.remove();
    for (const cam of view.cameras) Live.renderCamera(box, cam);
    Live.renderSites(view.site_zones);
  },

  renderCamera(box, cam) {
    let card = [...box.children].find(c => c.dataset.camera === cam.name);
    if (!card) {
      card = CM.el("div", {class: "camera"});
      card.dataset.camera = cam.name;
      const title = CM.el("h2", {}, cam.label);
      const edit = CM.el("a", {href: "#edit/" + encodeURIComponent(cam.name), class: "edit"}, "edit zones");
      title.append(edit);
      const picture = CM.el("div", {class: "picture"});
      const img = CM.el("img", {alt: "latest frame of " + cam.name});
      img.addEventListener("load", () => { img.dataset.loaded = img.dataset.want; img.dataset.busy = ""; });
      img.addEventListener("error", () => { img.dataset.busy = ""; });
      picture.append(img, CM.svg("svg", {}));
      const table = CM.el("table", {class: "grid zones"});
      table.innerHTML = "<thead><tr><th>zone</th><th>count</th><th>persons/m²</th><th>level</th></tr></thead><tbody></tbody>";
      card.append(title, CM.el("div", {class: "line"}), picture, table);
      box.append(card);
    }
    card.dataset.state = cam.state;
    const line = card.querySelector(".line");
    line.textContent = cam.state + (cam.reason ? " (" + cam.reason + ")" : "") + " · count " + CM.fmt(cam.count, 1) +
      " · " + CM.fmt(cam.fps, 2) + " fps";
    line.className = "line state-" + cam.state;
    const img = card.querySelector("img");
    const picture = card.querySelector(".picture");
    if (cam.frame) delete picture.dataset.empty;
    else picture.dataset.empty = cam.state === "blind" ? "blind: nothing to count" : "no picture yet";
    if (cam.frame) {
      const want = String(cam.frame.seq);
      // One picture at a time: a slow link skips frames instead of queueing them.
      if (img.dataset.want !== want && !img.dataset.busy) {
        img.dataset.want = want; img.dataset.busy = "1";
        img.src = "api/frame?camera=" + encodeURIComponent(cam.name) + "&overlay=1&seq=" + want;
      }
      CM.draw(card.querySelector("svg"), cam.frame.width, cam.frame.height, cam, null);
    }
    card.querySelector("tbody").replaceChildren(...cam.zones.map(z => {
      const row = CM.el("tr", {"data-zone": z.zone, "data-level": z.level});
      row.append(CM.el("td", {}, z.zone), CM.el("td", {class: "count"}, CM.fmt(z.count, 1)),
                 CM.el("td", {}, CM.fmt(z.density, 2)), CM.el("td", {class: "level-" + z.level}, z.level));
      return row;
    }));
  },

  renderSites(sites) {
    document.querySelector("#sites tbody").replaceChildren(...sites.map(s => {
      const row = CM.el("tr", {"data-zone": s.zone, "data-level": s.level});
      row.append(CM.el("td", {}, s.zone), CM.el("td", {}, s.members.join(", ")),
                 CM.el("td", {class: "count"}, CM.fmt(s.count, 1)), CM.el("td", {}, CM.fmt(s.density, 2)),
                 CM.el("td", {class: "level-" + s.level}, s.level), CM.el("td", {}, s.stale.join(", ")));
      return row;
    }));
  },
};
window.Live = Live;
document.addEventListener("DOMContentLoaded", Live.start);
