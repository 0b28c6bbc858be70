// interbank page: the network's base layer rasterised in a worker. The page posts
// {w, h, layers, id} (see paint.js); the worker paints them on an OffscreenCanvas and answers
// {bitmap, id}, which the page shows with a "bitmaprenderer" canvas (no copy, no raster there).
"use strict";
importScripts("/static/paint.js");

let canvas = null, g = null;
self.onmessage = (msg) => {
  const { w, h, layers, id } = msg.data;
  if (!canvas || canvas.width !== w || canvas.height !== h) { canvas = new OffscreenCanvas(w, h); g = canvas.getContext("2d"); }
  paintLayers(g, w, h, layers);
  const bitmap = canvas.transferToImageBitmap();
  self.postMessage({ bitmap, id }, [bitmap]);
};
