/* The artwork page's deep zoom: a Leaflet map (simple CRS) over the build's tile pyramid.
 * The pyramid's description is in the page (data-pyramid), so nothing is fetched but tiles,
 * and a tile of one colour, which the build did not write, is drawn here instead. */
(function () {
  "use strict";
  var el = document.getElementById("deepzoom");
  if (!el || !window.L) { return; }
  var p = JSON.parse(el.getAttribute("data-pyramid"));
  var top = p.levels - 1;
  var extent = p.size / Math.pow(2, top);  // the image in map units: pixels at zoom `top`
  var bounds = L.latLngBounds([[-extent, 0], [0, extent]]);

  var Pyramid = L.TileLayer.extend({
    createTile: function (coords, done) {
      var colour = p.blank[coords.z + "/" + coords.x + "/" + coords.y];
      if (colour === undefined) { return L.TileLayer.prototype.createTile.call(this, coords, done); }
      var tile = document.createElement("div");
      var rgb = Array.isArray(colour) ? colour : [colour, colour, colour];  // grey, or [r, g, b]
      tile.style.background = "rgb(" + rgb.join(",") + ")";
      setTimeout(function () { done(null, tile); }, 0);
      return tile;
    }
  });

  var map = L.map(el, {crs: L.CRS.Simple, minZoom: -2, maxZoom: top + 2, zoomSnap: 0.25,
                       maxBounds: bounds.pad(0.5), attributionControl: false});
  new Pyramid(el.getAttribute("data-tiles"), {
    tileSize: p.tile, minNativeZoom: 0, maxNativeZoom: top, bounds: bounds, noWrap: true,
    className: "deepzoom-tiles"
  }).addTo(map);
  map.fitBounds(bounds);

  var full = document.getElementById("deepzoom-fullscreen");
  if (!el.requestFullscreen) { full.hidden = true; return; }
  full.addEventListener("click", function () { el.requestFullscreen(); });
  document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
})();
