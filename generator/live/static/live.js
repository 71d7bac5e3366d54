/* attnart live page: the artwork's landscape rendered in the visitor's browser (WebGL2).
 *
 * The spec comes from the JSON block written by generator/live (float32 values as their bit
 * patterns); the query string may override resolution, window, shade and palette, as
 * `attnart render` takes them, and holds the view while panning and zooming. Rendering is
 * split into passes of a few rows (one per animation frame) so the tab stays responsive and
 * no draw call runs long enough for the browser to kill the GPU context. */
(function () {
  "use strict";
  // inline in a gallery page; set before this script in a token's (export-token)
  var spec = window.ATTNART_SPEC ||
             JSON.parse(document.getElementById("attnart-spec").textContent);
  var SHADER = window.ATTNART_SHADER || document.getElementById("attnart-shader").textContent;
  var VERTEX = "#version 300 es\nin vec2 p;\nvoid main() { gl_Position = vec4(p, 0.0, 1.0); }\n";
  var MAX_SIDE = 4096;       // canvas pixels a side, at most
  var PASS_MS = 30;          // aim of one pass: well inside a frame budget and the GPU watchdog
  // per-point views stay within [-8, 8]^2 (as explore's) or the artwork's own window
  var PER_POINT_LIMIT = Math.max.apply(null, [8].concat(spec.window.map(Math.abs)));
  var MAX_DRAW = Math.floor((2147483647 - 1) / 4) + 1;  // one CUDA launch's elements, at most
  var GAP = 0.08, KNOTS = 2048;  // generator/shade.py
  var root = document.documentElement;
  // A platform's own page (Art Blocks serves the script alone) lacks ours: made here.
  function element(id, tag) {
    var found = document.getElementById(id);
    if (found) return found;
    var made = document.createElement(tag);
    made.id = id;
    made.style.cssText = "display: block; width: 100vmin; margin: 0 auto";
    document.body.appendChild(made);
    return made;
  }
  var canvas = element("art", "canvas");
  var bar = element("progress", "progress");
  var message = element("message", "p");
  message.hidden = true;
  bar.max = 1;

  function say(text) { message.textContent = text; message.hidden = !text; }

  function fail(text) {
    say(text);
    bar.hidden = true;
    if (spec.still) {  // the picture as published, instead of the live one
      var img = document.createElement("img");
      img.src = spec.still;
      img.alt = spec.title || ("Seed " + spec.seed);
      img.className = "still";
      canvas.replaceWith(img);
    }
    root.dataset.rendered = "failed";
  }

  // ---- the query string, checked as render checks its options ----------------------------
  function options() {
    var q = new URLSearchParams(location.search), o = {};
    var res = q.get("resolution");
    if (res !== null) {
      if (!/^[0-9]+$/.test(res) || +res < 1 || +res > MAX_SIDE)
        throw new Error("resolution must be an integer in 1.." + MAX_SIDE + ", got " + res);
      o.resolution = +res;
    }
    var w = q.get("window");
    o.window = spec.window.slice();
    if (w !== null) {
      var v = w.split(",").map(Number);
      if (v.length !== 4 || !v.every(isFinite) || v[0] >= v[1] || v[2] >= v[3])
        throw new Error("window needs 4 numbers AMIN,AMAX,BMIN,BMAX with AMIN < AMAX and " +
                        "BMIN < BMAX, got " + w);
      o.window = v;
    }
    o.shade = q.get("shade") || spec.shade;
    if (o.shade !== "binary" && o.shade !== "speed")
      throw new Error("shade must be binary or speed, got " + o.shade);
    var p = q.get("palette");
    o.palette = spec.palette;
    if (p !== null) {
      if (spec.palettes[p]) o.palette = spec.palettes[p];
      else {
        var colours = p.split(",");
        if (colours.length < 2 || !colours.every(function (c) { return /^#?[0-9a-fA-F]{6}$/.test(c); }))
          throw new Error("palette must be one of " + Object.keys(spec.palettes).join(", ") +
                          " or 2+ colours #rrggbb,..., got " + p);
        o.palette = colours.map(function (c) { return c.replace("#", ""); });
      }
    }
    if (o.shade === "speed" && !o.palette) o.palette = spec.palettes.fire;
    if (o.shade === "speed" && !o.palette)
      throw new Error("this page carries no palette (the build had no colorcet); give " +
                      "?palette=#rrggbb,#rrggbb");
    if (spec.init === "per-point" && !o.window.every(function (x) {
      return Math.abs(x) <= PER_POINT_LIMIT; }))
      throw new Error("a per-point artwork is drawn within [-" + PER_POINT_LIMIT + ", " +
                      PER_POINT_LIMIT + "]^2; got window " + o.window);
    if (spec.init === "per-point" && o.resolution && o.resolution > perPointSide())
      throw new Error("resolution must be at most " + perPointSide() + " for " + spec.points +
                      " points per grid point (one CUDA launch draws them), got " + o.resolution);
    return o;
  }

  // ---- the grid: float32 samples exactly as np.linspace(...).astype(float32) ------------
  function axis(lo, hi, n) {
    var out = new Float32Array(n), step = (hi - lo) / (n - 1);
    for (var i = 0; i < n; i++) out[i] = n > 1 ? i * step + lo : lo;
    if (n > 1) out[n - 1] = hi;
    return out;
  }

  function distinct(values) {
    for (var i = 1; i < values.length; i++) if (!(values[i] > values[i - 1])) return false;
    return true;
  }

  // ---- the launch of the per-point X(0) draw (generator/rng.py cuda_launches) ------------
  function perPointSide() { return Math.floor(Math.sqrt(MAX_DRAW / (2 * spec.points))); }

  function launch(numel) {
    var blocks = Math.min(Math.ceil(numel / 256), spec.cuda.sms * (spec.cuda.threadsPerSm / 256));
    if (1 + (numel - 1) * 4 > 2147483647)
      throw new Error("a per-point view of this many points needs more than one CUDA launch; " +
                      "lower the resolution");
    return 256 * blocks;
  }

  // ---- WebGL2 -----------------------------------------------------------------------------
  var gl = document.createElement("canvas").getContext("webgl2", {antialias: false});
  if (!gl) return fail("This browser has no WebGL2, so the artwork cannot render itself here; " +
                       "this is the published picture.");
  if (!gl.getExtension("EXT_color_buffer_float"))
    return fail("This GPU cannot render to float textures (EXT_color_buffer_float); this is " +
                "the published picture.");
  var program, uniforms = {};

  // The loops over the points marked "// unroll" written out N times (for N <= UNROLL_MAX),
  // innermost first: with constant indices the arrays become registers, which software
  // renderers (SwiftShader) and many GPUs otherwise reach through memory, lane by lane.
  var UNROLL_MAX = 24;

  function unroll(source) {
    if (spec.points > UNROLL_MAX) return source;
    var mark = /\/\/ unroll\n\s*for \(int (\w+) = 0; \1 < N; \1\+\+\) \{/g, found, last = null;
    while ((found = mark.exec(source))) last = found;  // the last mark is an innermost loop
    if (!last) return source;
    var open = last.index + last[0].length, depth = 1, end = open;
    while (depth) {
      var ch = source[end++];
      depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
    }
    var body = source.slice(open, end - 1), copies = [];
    for (var k = 0; k < spec.points; k++)
      copies.push("{" + body.replace(new RegExp("\\b" + last[1] + "\\b", "g"), String(k)) + "}");
    return unroll(source.slice(0, last.index) + copies.join("\n") + source.slice(end));
  }

  function build(perPoint, draws) {
    var defines = "#define N " + spec.points + "\n#define PER_POINT " + (perPoint ? 1 : 0) +
                  "\n#define DRAWS " + (draws ? 1 : 0) + "\n";
    var source = unroll(SHADER.replace(/^(#version[^\n]*\n)/, "$1" + defines));
    var program = gl.createProgram();
    [[gl.VERTEX_SHADER, VERTEX], [gl.FRAGMENT_SHADER, source]].forEach(function (s) {
      var shader = gl.createShader(s[0]);
      gl.shaderSource(shader, s[1]);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS))
        throw new Error("shader: " + gl.getShaderInfoLog(shader));
      gl.attachShader(program, shader);
    });
    gl.bindAttribLocation(program, 0, "p");
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS))
      throw new Error("shader: " + gl.getProgramInfoLog(program));
    return program;
  }

  function compile() {
    program = build(spec.init === "per-point", false);
    gl.useProgram(program);
    ["uWq", "uWv", "uThreshold", "uIterations", "uAxes", "uResolution", "uSeed", "uCall",
     "uStride", "uX0"].forEach(function (name) {
      uniforms[name] = gl.getUniformLocation(program, name);
    });
    gl.uniform4uiv(uniforms.uWq, spec.wq);
    gl.uniform4uiv(uniforms.uWv, spec.wv);
    gl.uniform1ui(uniforms.uThreshold, spec.threshold);
    gl.uniform1i(uniforms.uIterations, spec.iterations);
    if (spec.init === "per-point") {
      gl.uniform2uiv(uniforms.uSeed, spec.seedWords);
      gl.uniform2uiv(uniforms.uCall, [spec.cuda.offset / 4, 0]);
    } else gl.uniform2uiv(uniforms.uX0, spec.x0);
    var buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
  }

  // One render: side^2 grid points over `window`, a band of rows per call of step().
  function Job(side, window) {
    var a = axis(window[0], window[1], side), b = axis(window[2], window[3], side);
    if (!distinct(a) || !distinct(b))
      throw new Error("window too narrow for " + side + " distinct float32 values a side");
    this.side = side;
    this.field = new Float32Array(side * side);  // [row from the bottom][column]
    this.row = 0;
    this.rows = 1;
    var axes = new Float32Array(side * 2);
    axes.set(a, 0);
    axes.set(b, side);
    this.axes = texture(gl.R32F, side, 2, gl.RED, axes);
    this.target = texture(gl.RGBA32F, side, side, gl.RGBA, null);
    this.fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.target, 0);
    if (spec.init === "per-point") this.stride = launch(side * side * spec.points * 2);
  }

  function texture(format, w, h, layout, data) {
    var t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texImage2D(gl.TEXTURE_2D, 0, format, w, h, 0, layout, gl.FLOAT, data);
    return t;
  }

  Job.prototype.step = function () {
    var rows = Math.min(this.rows, this.side - this.row), begun = performance.now();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fb);
    gl.viewport(0, 0, this.side, this.side);
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(0, this.row, this.side, rows);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.axes);
    gl.uniform1i(uniforms.uAxes, 0);
    gl.uniform1i(uniforms.uResolution, this.side);
    if (this.stride) gl.uniform1ui(uniforms.uStride, this.stride);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    var band = new Float32Array(this.side * rows * 4);
    gl.readPixels(0, this.row, this.side, rows, gl.RGBA, gl.FLOAT, band);  // waits for it
    for (var i = 0; i < this.side * rows; i++) this.field[this.row * this.side + i] = band[4 * i];
    var first = this.row;
    this.row += rows;
    // the next band sized to take about PASS_MS, growing at most fourfold
    var took = Math.max(performance.now() - begun, 0.1);
    this.rows = Math.max(1, Math.min(4 * rows, Math.floor(rows * PASS_MS / took)));
    return [first, rows];
  };

  Job.prototype.done = function () { return this.row >= this.side; };

  Job.prototype.free = function () {
    gl.deleteTexture(this.axes);
    gl.deleteTexture(this.target);
    gl.deleteFramebuffer(this.fb);
  };

  // ---- colours ------------------------------------------------------------------------------
  function rgb(hex) { return [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); }); }

  // numpy's rint: halves to even
  function rint(x) {
    var r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2) ? r - 1 : r;
  }

  // generator/shade.py _knots: (distinct values, their mid-rank in 0..1), at most KNOTS
  function knots(values) {
    values = Float32Array.from(values.filter(function (v) { return v === v; })).sort();
    if (!values.length) return null;
    var xs = [], ranks = [];
    for (var i = 0; i < values.length;) {
      var j = i;
      while (j < values.length && values[j] === values[i]) j++;
      xs.push(values[i]);
      ranks.push(i + (j - i) / 2);
      i = j;
    }
    if (xs.length > KNOTS) {
      var kx = [], kr = [];
      for (var k = 0; k < KNOTS; k++) {
        var at = rint(k * (xs.length - 1) / (KNOTS - 1));
        kx.push(xs[at]);
        kr.push(ranks[at]);
      }
      xs = kx;
      ranks = kr;
    }
    var span = ranks[ranks.length - 1] - ranks[0];
    return [xs, ranks.map(function (r) { return span > 0 ? (r - ranks[0]) / span : 1; })];
  }

  function interp(x, k) {
    var xs = k[0], ys = k[1], lo = 0, hi = xs.length - 1;
    if (x <= xs[0]) return ys[0];
    if (x >= xs[hi]) return ys[hi];
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] <= x) lo = mid; else hi = mid;
    }
    return ys[lo] + (ys[hi] - ys[lo]) * (x - xs[lo]) / (xs[hi] - xs[lo]);
  }

  // generator/shade.py colourise: each class equalised on its own histogram
  function colourise(field, palette) {
    var colours = palette.map(rgb), half = 0.5 - GAP / 2, out = new Array(field.length);
    var arr = Array.prototype.slice.call(field);
    var synced = knots(arr.filter(function (v) { return v > 0; }));
    var unsynced = knots(arr.filter(function (v) { return !(v > 0); }));
    for (var i = 0; i < field.length; i++) {
      var v = field[i], pos = 0;
      if (v > 0) pos = 1 - half + half * (synced ? interp(v, synced) : 0.5);
      else if (v <= 0) pos = half * (unsynced ? interp(v, unsynced) : 0.5);
      out[i] = colours[rint(pos * (colours.length - 1))];
    }
    return out;
  }

  // ---- painting: canvas row 0 is the largest a (render's PNG orientation) -----------------
  var context2d = canvas.getContext("2d");
  var image = null;

  function paint(job, first, rows, colours) {
    var side = job.side, data = image.data;
    for (var r = first; r < first + rows; r++) {
      var top = side - 1 - r;
      for (var c = 0; c < side; c++) {
        var v = job.field[r * side + c], o = 4 * (top * side + c);
        var col = colours ? colours[r * side + c] : (v > 0 ? [255, 255, 255] : [0, 0, 0]);
        data[o] = col[0]; data[o + 1] = col[1]; data[o + 2] = col[2]; data[o + 3] = 255;
      }
    }
    context2d.putImageData(image, 0, 0, 0, side - first - rows, side, rows);
  }

  // ---- the view: a render of the canvas's pixels, coarse first ----------------------------
  var current = null, generation = 0, opts;

  function defaultSide() {
    var box = canvas.parentElement.getBoundingClientRect();
    var px = Math.floor(Math.min(box.width, box.height || box.width) * (window.devicePixelRatio || 1));
    var most = spec.init === "per-point" ? Math.min(MAX_SIDE, perPointSide()) : MAX_SIDE;
    return Math.max(16, Math.min(most, px || 512));
  }

  function show(view) {
    var mine = ++generation;
    var side = opts.resolution || defaultSide();
    var sides = opts.resolution ? [side] : [Math.max(16, side >> 3), side];
    root.dataset.rendered = "false";
    bar.hidden = false;
    bar.value = 0;
    var done = 0, total = sides.reduce(function (s, n) { return s + n; }, 0);
    // a view the page cannot draw (or a GPU that gives up) is said, with the still image
    function guarded(fn) {
      return function () {
        try {
          fn();
        } catch (e) {
          fail(e.message);
        }
      };
    }

    function start(k) {
      if (current) current.free();
      current = new Job(sides[k], view);
      canvas.width = canvas.height = sides[k];
      image = context2d.createImageData(sides[k], sides[k]);
      var pass = guarded(function () {
        if (mine !== generation) return;  // a newer view replaced this one
        var band = current.step();
        done += band[1];
        bar.value = done / total;
        paint(current, band[0], band[1], null);
        if (!current.done()) return requestAnimationFrame(pass);
        if (k + 1 < sides.length) return requestAnimationFrame(guarded(function () {
          start(k + 1);
        }));
        if (opts.shade === "speed") paint(current, 0, current.side,
                                          colourise(current.field, opts.palette));
        bar.hidden = true;
        root.dataset.rendered = "true";
        if (typeof window.fxpreview === "function") window.fxpreview();  // fxhash's capture
        else if (window.$fx && typeof window.$fx.preview === "function") window.$fx.preview();
      });
      pass();
    }

    guarded(function () { start(0); })();
  }

  // Labels read back for tests and tools: rows from the top, 1 = synchronised.
  window.attnartLive = {
    labels: function () {
      var side = current.side, out = new Uint8Array(side * side);
      for (var r = 0; r < side; r++)
        for (var c = 0; c < side; c++) out[(side - 1 - r) * side + c] = current.field[r * side + c] > 0;
      return Array.from(out);
    },
    speed: function () { return Array.from(current.field); },
    // elements [first, first + count) of the per-point X(0) draw of a side^2 grid, as the
    // shader draws them (before the rows are normalised): to measure them against CUDA's
    draws: function (side, first, count) {
      var drawing = build(true, true), width = Math.ceil(Math.sqrt(count));
      gl.useProgram(drawing);
      var at = function (name) { return gl.getUniformLocation(drawing, name); };
      gl.uniform2uiv(at("uSeed"), spec.seedWords);
      gl.uniform2uiv(at("uCall"), [spec.cuda.offset / 4, 0]);
      gl.uniform1ui(at("uStride"), launch(side * side * spec.points * 2));
      gl.uniform1ui(at("uFirstDraw"), first);
      gl.uniform1i(at("uResolution"), width);
      var target = texture(gl.RGBA32F, width, width, gl.RGBA, null), fb = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, target, 0);
      gl.viewport(0, 0, width, width);
      gl.disable(gl.SCISSOR_TEST);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      var out = new Float32Array(width * width * 4);
      gl.readPixels(0, 0, width, width, gl.RGBA, gl.FLOAT, out);
      gl.deleteTexture(target);
      gl.deleteFramebuffer(fb);
      gl.useProgram(program);
      return Array.from(out.filter(function (_, i) { return i % 4 === 0; }).slice(0, count));
    },
  };

  // ---- pan and zoom: the URL holds the view as ?window= ---------------------------------
  var view;

  function setView(w) {
    if (spec.init === "per-point") {  // kept within the per-point limits, shifted if need be
      var L = PER_POINT_LIMIT;
      var ha = Math.min(w[1] - w[0], 2 * L), hb = Math.min(w[3] - w[2], 2 * L);
      var a0 = Math.min(Math.max(w[0], -L), L - ha), b0 = Math.min(Math.max(w[2], -L), L - hb);
      w = [a0, a0 + ha, b0, b0 + hb];
    }
    var side = opts.resolution || defaultSide();
    if (!distinct(axis(w[0], w[1], side)) || !distinct(axis(w[2], w[3], side)))
      return say("float32 cannot tell the grid points apart deeper than this");
    say("");
    view = w;
    var q = new URLSearchParams(location.search);
    q.set("window", w.map(String).join(","));  // shortest exact float64: the link is this view
    history.replaceState(null, "", "?" + q);
    show(view);
  }

  function controls() {
    var drag = null, pointers = {}, pinch = null;
    function plane(e) {  // (a, b) under a pointer
      var box = canvas.getBoundingClientRect();
      var fx = (e.clientX - box.left) / box.width, fy = (e.clientY - box.top) / box.height;
      return [view[1] - fy * (view[1] - view[0]), view[2] + fx * (view[3] - view[2])];
    }
    function zoom(at, factor) {
      setView([at[0] - (at[0] - view[0]) * factor, at[0] + (view[1] - at[0]) * factor,
               at[1] - (at[1] - view[2]) * factor, at[1] + (view[3] - at[1]) * factor]);
    }
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      zoom(plane(e), Math.pow(2, e.deltaY / 300));
    }, {passive: false});
    canvas.addEventListener("pointerdown", function (e) {
      pointers[e.pointerId] = e;
      canvas.setPointerCapture(e.pointerId);
      var ids = Object.keys(pointers);
      if (ids.length === 1) drag = {x: e.clientX, y: e.clientY, view: view.slice()};
      if (ids.length === 2) {
        var p = ids.map(function (id) { return pointers[id]; });
        pinch = {d: Math.hypot(p[0].clientX - p[1].clientX, p[0].clientY - p[1].clientY),
                 at: plane({clientX: (p[0].clientX + p[1].clientX) / 2,
                            clientY: (p[0].clientY + p[1].clientY) / 2})};
        drag = null;
      }
    });
    canvas.addEventListener("pointerup", function (e) {
      delete pointers[e.pointerId];
      if (drag && (drag.x !== e.clientX || drag.y !== e.clientY)) {
        var box = canvas.getBoundingClientRect(), v = drag.view;
        var da = (e.clientY - drag.y) / box.height * (v[1] - v[0]);
        var db = -(e.clientX - drag.x) / box.width * (v[3] - v[2]);
        setView([v[0] + da, v[1] + da, v[2] + db, v[3] + db]);
      }
      if (pinch && Object.keys(pointers).length < 2) pinch = null;
      drag = null;
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!(e.pointerId in pointers)) return;
      pointers[e.pointerId] = e;
      var p = Object.keys(pointers).map(function (id) { return pointers[id]; });
      if (pinch && p.length === 2) {
        var d = Math.hypot(p[0].clientX - p[1].clientX, p[0].clientY - p[1].clientY);
        if (d > 0 && Math.abs(Math.log(d / pinch.d)) > 0.2) {
          zoom(pinch.at, pinch.d / d);
          pinch.d = d;
        }
      }
    });
    var reset = document.getElementById("reset");
    if (reset) reset.addEventListener("click", function () { setView(spec.window.slice()); });
  }

  // ---- a token: the platform's hash picks the seed ------------------------------------------
  // W_Q, W_V and a shared X(0) are then drawn here, as generator/rng.py draws them on the
  // emulated CUDA stream (float32 values rounded as it rounds them); a per-point X(0) is
  // drawn by the shader from the seed words.
  var MASK = 0xFFFFFFFFn;

  function tokenSeed() {
    var hash = null;
    if (spec.token === "artblocks" && window.tokenData) hash = window.tokenData.hash;
    if (spec.token === "fxhash")
      hash = (window.$fx && window.$fx.hash) || new URLSearchParams(location.search).get("fxhash");
    if (!hash) return BigInt(spec.seed);  // opened alone: the export's preview seed
    if (/^0x[0-9a-fA-F]{16}/.test(hash)) return BigInt(hash.slice(0, 18));  // first 64 bits
    var digits = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", n = 0n;
    for (var i = 0; i < hash.length; i++) {  // fxhash's base58
      var d = digits.indexOf(hash[i]);
      if (d < 0) throw new Error("the platform's hash " + hash + " is not base58 or 0x-hex");
      n = n * 58n + BigInt(d);
    }
    return n & ((1n << 64n) - 1n);
  }

  function philox(c, k) {  // generator/rng.py philox4x32_10, on BigInt words
    c = c.map(BigInt);
    k = k.map(BigInt);
    for (var i = 0; i < 10; i++) {
      var p0 = 0xD2511F53n * c[0], p1 = 0xCD9E8D57n * c[2];
      c = [(p1 >> 32n) ^ c[1] ^ k[0], p1 & MASK, (p0 >> 32n) ^ c[3] ^ k[1], p0 & MASK];
      k = [(k[0] + 0x9E3779B9n) & MASK, (k[1] + 0xBB67AE85n) & MASK];
    }
    return c;
  }

  var f = Math.fround, C = Math.pow(2, -32) * f(2 * Math.PI), INV_2PI = f(1 / (2 * Math.PI));
  var scratch = new DataView(new ArrayBuffer(8));

  function boxMuller(uWord, vWord) {  // generator/rng.py _box_muller, float32 as it rounds
    var u = f(f(Number(uWord)) * Math.pow(2, -32) + Math.pow(2, -33));
    var radius = f(Math.sqrt(f(Math.log(u)) * -2));
    var v = f(f(Number(vWord)) * C + C / 2);
    scratch.setFloat64(0, v * INV_2PI);
    scratch.setBigUint64(0, scratch.getBigUint64(0) & ~(2n ** 29n - 1n));
    var angle = scratch.getFloat64(0) * (2 * Math.PI);
    return [f(f(Math.sin(angle)) * radius), f(f(Math.cos(angle)) * radius)];
  }

  function normals(seed, offset, numel) {  // one launch of torch.randn(numel) at `offset`
    var stride = launch(numel), out = [];
    for (var e = 0; e < numel; e++) {
      var k = Math.floor((e % (4 * stride)) / stride);
      var w = philox([BigInt(offset / 4 + Math.floor(e / (4 * stride))), 0n,
                      BigInt(e % stride), 0n], [seed & MASK, seed >> 32n]);
      out.push(boxMuller(w[k < 2 ? 0 : 2], w[k < 2 ? 1 : 3])[k % 2]);
    }
    return out;
  }

  function bits(values) { return Array.from(new Uint32Array(Float32Array.from(values).buffer)); }

  function drawToken() {
    var seed = tokenSeed();
    spec.seed = seed.toString();
    spec.seedWords = [Number(seed & MASK), Number(seed >> 32n)];
    if (!spec.wqGiven) spec.wq = bits(normals(seed, 0, 4));
    if (!spec.wvGiven) spec.wv = bits(normals(seed, 4, 4));
    if (spec.init === "shared") {
      var x = normals(seed, spec.cuda.offset, 2 * spec.points), rows = [];
      for (var i = 0; i < x.length; i += 2) {  // generator/rng.py unit_rows
        var norm = f(Math.sqrt(f(x[i + 1] * x[i + 1] + f(x[i] * x[i]))));
        rows.push(f(x[i] / norm), f(x[i + 1] / norm));
      }
      spec.x0 = bits(rows);
    }
    spec.features.Seed = spec.seed;
  }

  // ---- the platforms' hooks ---------------------------------------------------------------
  try {
    if (spec.token) drawToken();
  } catch (e) {
    return fail(e.message);
  }
  if (window.$fx && typeof window.$fx.features === "function") window.$fx.features(spec.features);
  window.$features = spec.features;  // Art Blocks reads traits from here

  if (spec.unsupported) return fail(spec.unsupported);
  try {
    opts = options();
    compile();
    controls();
    view = opts.window;
    show(view);
  } catch (e) {
    fail(e.message);
  }
})();
