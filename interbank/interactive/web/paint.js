// interbank page: paints a display list of the network's base layer. Loaded by the page and by
// the layer worker (layer.js), so that the base is rasterised off the page's main thread where
// OffscreenCanvas exists and on the page itself where it does not: one painter either way.
//
// A display list is an array of layers, painted in order, each {kind, style, width?, data}:
// "lines" data = [x1, y1, x2, y2, ...]; "circles" and "squares" data = [x, y, r, ...];
// "triangles" data = [x1, y1, x2, y2, x3, y3, ...]. One path per layer: a software rasteriser
// pays per path, not per shape.
"use strict";

function paintLayers(g, w, h, layers) {
  g.clearRect(0, 0, w, h);
  for (const L of layers) {
    const d = L.data;
    g.beginPath();
    if (L.kind === "lines") {
      for (let k = 0; k < d.length; k += 4) { g.moveTo(d[k], d[k + 1]); g.lineTo(d[k + 2], d[k + 3]); }
      g.strokeStyle = L.style; g.lineWidth = L.width || 1; g.stroke();
      continue;
    }
    if (L.kind === "circles") for (let k = 0; k < d.length; k += 3) { g.moveTo(d[k] + d[k + 2], d[k + 1]); g.arc(d[k], d[k + 1], d[k + 2], 0, 6.2832); }
    else if (L.kind === "squares") for (let k = 0; k < d.length; k += 3) g.rect(d[k] - d[k + 2], d[k + 1] - d[k + 2], 2 * d[k + 2], 2 * d[k + 2]);
    else if (L.kind === "triangles") for (let k = 0; k < d.length; k += 6) { g.moveTo(d[k], d[k + 1]); g.lineTo(d[k + 2], d[k + 3]); g.lineTo(d[k + 4], d[k + 5]); g.closePath(); }
    g.fillStyle = L.style; g.fill();
  }
}
