/* attnart explore: the (a, b) plane as a Leaflet map of tiles the local server renders.
 *
 * Coordinates: lat = a (up), lng = b (right), the published orientation. Zoom 0 shows
 * [-8, 8]² in one 256-pixel tile; tile and pixel geometry are defined once, on the server
 * (generator/explore/tiles.py), and this transformation only mirrors it.
 * The URL's query holds the whole state (parameters, zoom, centre): reload or share it.
 */
(function () {
  "use strict";

  var FIELDS = ["seed", "init", "iterations", "points", "threshold", "shade", "palette"];
  var SEED_MAX = (1n << 64n) - 1n;
  var crs = L.extend({}, L.CRS.Simple, {
    transformation: new L.Transformation(16, 128, -16, 128)
  });
  var config, map, layers = [], params = {}, viewRequest = null;

  function $(id) { return document.getElementById(id); }

  function say(text) { $("message").textContent = text || ""; }

  function paramQuery(source, extra) {
    var q = new URLSearchParams();
    FIELDS.forEach(function (k) { q.set(k, source[k]); });
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q.toString();
  }

  function digits(z) { return Math.ceil((4 + z) * 0.302) + 3; }

  // The largest square of whole pixels in the view: what "save" and the command describe.
  function viewSquare() {
    var z = map.getZoom(), b = map.getPixelBounds(), size = b.getSize();
    var side = Math.max(16, Math.floor(Math.min(size.x, size.y)));
    var c = b.getCenter();
    return {z: z, px: Math.round(c.x - side / 2), py: Math.round(c.y - side / 2), size: side};
  }

  function writeUrl() {
    var c = map.getCenter(), z = map.getZoom();
    var q = paramQuery(params, {z: z, a: c.lat.toFixed(digits(z)), b: c.lng.toFixed(digits(z))});
    history.replaceState(null, "", "?" + q);
  }

  function fmt(v, z) { return v.toFixed(digits(z)); }

  function showWindow() {
    var b = map.getBounds(), z = map.getZoom();
    $("window").textContent = "a " + fmt(b.getSouth(), z) + " … " + fmt(b.getNorth(), z) +
      ", b " + fmt(b.getWest(), z) + " … " + fmt(b.getEast(), z);
    $("zoom").textContent = z + " of " + map.getMaxZoom();
  }

  // Ask the server about the view under `candidate` parameters: it validates them and
  // returns the render command. Resolves to the reply, or rejects with its message.
  function describe(candidate) {
    if (viewRequest) { viewRequest.abort(); }
    viewRequest = new AbortController();
    return fetch("api/view?" + paramQuery(candidate, viewSquare()), {signal: viewRequest.signal}).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.error); }
        return body;
      });
    });
  }

  function showCommand(reply) {
    $("command").firstChild.textContent = reply.command;
  }

  function maxZoom(init) { return config.tile_ranges[init].length - 1; }

  // Where the tiles of zoom z are in `init` mode: tile x spans b from -8 + x w, tile y spans
  // a down from 8 - y w (w = 16 / 2^z), for x and y in the server's [first, stop).
  function reach(init, z) {
    z = Math.min(z, maxZoom(init));
    var r = config.tile_ranges[init][z], w = 16 / Math.pow(2, z);
    return L.latLngBounds([[8 - r[1] * w, -8 + r[0] * w], [8 - r[0] * w, -8 + r[1] * w]]);
  }

  // The view stays where there are tiles (in shared mode that narrows at zooms 15 and 16,
  // where float32 tells fewer pixels apart beyond [-8, 8]²). Moved inside at once, not
  // animated: the view the server is asked about is the one that stays.
  function limitView() {
    var inside = reach(params.init, map.getZoom());
    map.panInsideBounds(inside, {animate: false});
    map.setMaxBounds(inside);
  }

  // A tile layer asking only for tiles that exist: x and y in options.ranges[zoom].
  var Tiles = L.TileLayer.extend({
    _isValidTile: function (coords) {
      var r = this.options.ranges[coords.z + this.options.zoomOffset];
      return !!r && coords.x >= r[0] && coords.x < r[1] && coords.y >= r[0] && coords.y < r[1];
    }
  });

  // Two layers: a coarse one (tiles of the zoom above, shown 2x: a quarter of the work) that
  // covers the view first, under the fine one. The coarse one keeps to [-8, 8]² (tiles 0 to
  // 2^z - 1), so that the first view, all of it, is one tile. Replacing them on a change
  // removes every old tile, which aborts its request; the server then skips rendering it.
  function makeLayers() {
    layers.forEach(function (layer) { map.removeLayer(layer); });
    var max = maxZoom(params.init), plane = [];
    for (var z = 0; z <= max; z++) { plane.push([0, Math.pow(2, z)]); }
    map.setMaxZoom(max);
    var url = "tiles/{z}/{x}/{y}.png?" + paramQuery(params);
    var common = {maxNativeZoom: max, maxZoom: max, keepBuffer: 1, updateWhenZooming: false};
    layers = [
      new Tiles(url, L.extend({tileSize: 2 * config.tile, zoomOffset: -1, minZoom: 1,
                               ranges: plane, className: "coarse"}, common)),
      new Tiles(url, L.extend({tileSize: config.tile, ranges: config.tile_ranges[params.init],
                               className: "fine"}, common))
    ];
    layers.forEach(function (layer) {
      layer.on("tileerror", function () { say("a tile failed to load; is the server running?"); });
      layer.addTo(map);
    });
    limitView();
  }

  // The palette list: the server's names, and a palette of one's own ('#rrggbb,...', from
  // the command line or a link) when the parameters hold one.
  function listPalettes(own) {
    var select = $("palette");
    select.textContent = "";
    config.palettes.concat(own && config.palettes.indexOf(own) < 0 ? [own] : []).forEach(function (p) {
      var option = document.createElement("option");
      option.value = p;
      option.textContent = p.charAt(0) === "#" ? "your colours" : p;
      select.appendChild(option);
    });
  }

  function fillForm() {
    listPalettes(params.palette);
    FIELDS.forEach(function (k) { $(k).value = params[k]; });
    if (!params.palette) { $("palette").value = config.default_palette; }
    $("palette").disabled = params.shade !== "speed";  // a palette colours the speed field
  }

  function readForm() {
    var candidate = {};
    FIELDS.forEach(function (k) { candidate[k] = $(k).value.trim(); });
    if (candidate.shade !== "speed") { candidate.palette = ""; }
    return candidate;
  }

  function apply(candidate) {
    return describe(candidate).then(function (reply) {
      params = candidate;
      say("");
      fillForm();
      makeLayers();  // a mode's deepest zoom and its tiles' reach hold the view
      showCommand(reply);
      writeUrl();
      showWindow();
      return true;
    }, function (error) {
      if (error.name === "AbortError") { return false; }  // a newer change replaced it
      say(error.message);
      fillForm();
      return false;
    });
  }

  // The form's own constraints (HTML min, max, pattern) first, then the server's.
  function changed() {
    var bad = Array.prototype.find.call($("controls").elements, function (e) {
      return e.willValidate && !e.checkValidity();
    });
    if (bad) {
      say(bad.name + ": " + bad.validationMessage);
      fillForm();
      return;
    }
    var candidate = readForm();
    if (FIELDS.some(function (k) { return candidate[k] !== params[k]; })) { apply(candidate); }
  }

  function stepSeed(delta) {
    var seed;
    try { seed = BigInt(params.seed) + delta; } catch (e) { return; }
    if (seed < 0n) { seed = SEED_MAX; }
    if (seed > SEED_MAX) { seed = 0n; }
    apply(L.extend({}, params, {seed: seed.toString()}));
  }

  function randomSeed() {
    var words = new Uint32Array(1);
    crypto.getRandomValues(words);
    apply(L.extend({}, params, {seed: String(words[0] % 10000000)}));
  }

  function onMoved() {
    writeUrl();
    showWindow();
    describe(params).then(showCommand, function (error) {
      if (error.name !== "AbortError") { say(error.message); }
    });
  }

  function save(event) {
    event.preventDefault();
    var body = L.extend({}, params, viewSquare(), {title: $("title").value});
    body.threshold = Number(body.threshold);
    $("save").disabled = true;
    fetch("api/save", {method: "POST", headers: {"Content-Type": "application/json"},
                       body: JSON.stringify(body)}).then(function (r) {
      return r.json().then(function (reply) {
        if (!r.ok) { throw new Error(reply.error); }
        $("save-note").textContent = (reply.saved ? "saved to " : "already in ") + reply.file +
          ": " + reply.title + " (" + reply.resolution + "², id " + reply.id + ")";
        showCommand(reply);
      });
    }).catch(function (error) {
      $("save-note").textContent = "not saved: " + error.message;
    }).then(function () { $("save").disabled = !config.save; });
  }

  function start(reply) {
    config = reply;
    var url = new URLSearchParams(location.search);
    FIELDS.forEach(function (k) {
      params[k] = url.has(k) ? url.get(k) : String(config.parameters[k]);
    });
    fillForm();
    $("iterations").max = config.limits.iterations;
    $("points").max = config.limits.points;
    // a wheel notch (100-120 px) zooms one level, never two (Leaflet's 60 px made it two)
    map = L.map("map", {crs: crs, zoomSnap: 1, zoomDelta: 1, minZoom: 0, fadeAnimation: false,
                        wheelPxPerZoomLevel: 120,
                        maxZoom: maxZoom(config.parameters.init), maxBoundsViscosity: 1,
                        attributionControl: false});
    var z = parseInt(url.get("z"), 10), a = parseFloat(url.get("a")), b = parseFloat(url.get("b"));
    if (isFinite(z) && isFinite(a) && isFinite(b)) {
      map.setView([a, b], z);
    } else {
      var w = config.window;
      map.fitBounds([[w[0], w[2]], [w[1], w[3]]]);
    }
    if (config.save) {
      $("save-note").textContent = "appends to " + config.save;
    } else {
      $("save").disabled = true;
      $("save-note").textContent = "saving is off: start attnart explore with --save FILE.toml";
    }
    map.on("mousemove", function (e) {
      $("cursor").textContent = "a " + fmt(e.latlng.lat, map.getZoom()) +
        ", b " + fmt(e.latlng.lng, map.getZoom());
    });
    map.on("moveend", onMoved);
    map.on("zoomend", limitView);
    $("controls").addEventListener("change", changed);
    $("controls").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); changed(); }
    });
    $("prev").addEventListener("click", function () { stepSeed(-1n); });
    $("next").addEventListener("click", function () { stepSeed(1n); });
    $("random").addEventListener("click", randomSeed);
    $("save-form").addEventListener("submit", save);
    var defaults = {};
    FIELDS.forEach(function (k) { defaults[k] = String(config.parameters[k]); });
    var linked = L.extend({}, params);
    params = defaults;  // until the server has checked the link's
    map.getContainer().focus();
    if (FIELDS.every(function (k) { return linked[k] === defaults[k]; })) {
      makeLayers();  // the server's own parameters, valid: their tiles need not wait for it
      onMoved();
      return;
    }
    limitView();  // a link's view far off the plane comes back to it before it is described
    apply(linked).then(function (ok) {
      if (ok) { return; }
      var why = $("message").textContent;
      return apply(defaults).then(function () { say("the link's parameters were refused: " + why); });
    });
  }

  fetch("api/config").then(function (r) { return r.json(); }).then(start).catch(function (e) {
    say("cannot reach the explorer's server: " + e.message);
  });
})();
