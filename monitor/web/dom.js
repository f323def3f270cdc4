// Small DOM helpers shared by the console's pages (console, history, calibrate). Plain JS, no libraries.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function $(id) { return document.getElementById(id); }
// An SVG element with its attributes and, optionally, its text.
function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
// A figure with `digits` decimals, or a dash when there is none.
function fmt(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
