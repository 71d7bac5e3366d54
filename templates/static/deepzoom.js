/* Deep zoom: a Leaflet map (simple CRS) over a build's tile pyramid, used by the artwork
 * page (#deepzoom) and by the lightbox (window.attnartPyramid). The pyramid's description
 * is in the page (data-pyramid), so nothing is fetched but tiles, and a tile of one colour,
 * which the build did not write, is drawn here instead. Zoom out stops where the whole
 * artwork fits, zoom in at 2x the deepest level's pixels. */
(function () {
  "use strict";
  if (!window.L) return;
  var still = window.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;

  var Pyramid = L.TileLayer.extend({
    createTile: function (coords, done) {
      var colour = this.options.blank[coords.z + "/" + coords.x + "/" + coords.y];
      if (colour === undefined) return L.TileLayer.prototype.createTile.call(this, coords, done);
      var tile = document.createElement("div");
      var rgb = Array.isArray(colour) ? colour : [colour, colour, colour];  // grey, or [r, g, b]
      tile.style.background = "rgb(" + rgb.join(",") + ")";
      setTimeout(function () { done(null, tile); }, 0);
      return tile;
    }
  });

  // el: a box with data-pyramid and data-tiles; inLightbox: the wheel zooms at once, and
  // the lightbox's own buttons zoom instead of Leaflet's.
  function pyramid(el, inLightbox) {
    var p = JSON.parse(el.getAttribute("data-pyramid"));
    var top = p.levels - 1;
    var extent = p.size / Math.pow(2, top);  // the image in map units: pixels at zoom `top`
    var bounds = L.latLngBounds([[-extent, 0], [0, extent]]);
    while (el.firstChild) el.removeChild(el.firstChild);  // the still image, shown until now
    var map = L.map(el, {crs: L.CRS.Simple, zoomSnap: 0, zoomDelta: 0.5, maxZoom: top + 1,
                         maxBounds: bounds.pad(0.5), attributionControl: false,
                         scrollWheelZoom: inLightbox, zoomControl: !inLightbox,
                         fadeAnimation: false, zoomAnimation: !still});
    new Pyramid(el.getAttribute("data-tiles"), {
      tileSize: p.tile, minNativeZoom: 0, maxNativeZoom: top, bounds: bounds, noWrap: true,
      className: "deepzoom-tiles", blank: p.blank
    }).addTo(map);
    function fit() {
      map.setMinZoom(-99);  // lifted, so that the fit may go below the last one
      map.fitBounds(bounds, {animate: false});
      map.setMinZoom(map.getZoom());
    }
    fit();
    map.on("resize", fit);
    return map;
  }
  window.attnartPyramid = pyramid;

  var el = document.getElementById("deepzoom");
  if (!el) return;
  var map = pyramid(el, false);
  // Leaflet's scrollWheelZoom stays off until the viewer is chosen: no scroll trap.
  function activate() { map.scrollWheelZoom.enable(); el.classList.add("active"); }
  function rest() { map.scrollWheelZoom.disable(); el.classList.remove("active"); }
  el.addEventListener("click", activate);
  el.addEventListener("keydown", function (e) { if (e.key === "Enter") activate(); });
  el.addEventListener("mouseleave", rest);
  el.addEventListener("focusout", function (e) { if (!el.contains(e.relatedTarget)) rest(); });
  var hint = document.getElementById("deepzoom-hint");
  if (hint) hint.hidden = false;
  var full = document.getElementById("deepzoom-fullscreen");
  if (!el.requestFullscreen) { if (full) full.hidden = true; return; }
  full.addEventListener("click", function () { el.requestFullscreen(); activate(); });
  document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
})();
