#version 300 es
// One grid point per fragment: X(0) (shared, or drawn from the CUDA Philox stream), then T
// steps of generator/dynamics.py's map, all in float32. Out: the speed field (its sign is
// the label), as dynamics.landscape_and_speed defines it.
precision highp float;
precision highp int;
precision highp usampler2D;

// N (points) and PER_POINT are defined by the script before this line is compiled: arrays
// need constant sizes in GLSL ES 3.00.

uniform uvec4 uWq;        // W_Q row-major, float32 bit patterns: never a rounded decimal
uniform uvec4 uWv;
uniform uint uThreshold;
uniform int uIterations;
uniform highp sampler2D uAxes;  // R32F, row 0: a of each canvas row, row 1: b of each column
uniform int uResolution;        // grid points a side (the canvas)
#if PER_POINT
uniform uvec2 uSeed;      // low, high 32 bits of the 64-bit seed
uniform uvec2 uCall;      // the launch's Philox offset / 4, low and high words
uniform uint uStride;     // threads in the launch's grid
uniform uint uFirstDraw;  // DRAWS: the element of the draw the lowest-left fragment shows
#else
uniform uvec2 uX0[N];     // shared X(0), unit rows as render normalises them, as bits
#endif

out vec4 outColor;

#if PER_POINT
// The high and low words of a 32 x 32-bit product: GLSL ES 3.00 has no 64-bit integers and
// no umulExtended, so the high word comes from 16-bit limbs.
uvec2 mulhilo(uint a, uint b) {
  uint a0 = a & 0xFFFFu, a1 = a >> 16, b0 = b & 0xFFFFu, b1 = b >> 16;
  uint p01 = a0 * b1, p10 = a1 * b0;
  uint mid = ((a0 * b0) >> 16) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
  return uvec2(a1 * b1 + (p01 >> 16) + (p10 >> 16) + (mid >> 16), a * b);
}

// Philox4x32-10 as cuRAND computes it (generator/rng.py philox4x32_10).
uvec4 philox(uvec4 c, uvec2 k) {
  for (int i = 0; i < 10; i++) {
    uvec2 p0 = mulhilo(0xD2511F53u, c.x);
    uvec2 p1 = mulhilo(0xCD9E8D57u, c.z);
    c = uvec4(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k += uvec2(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// (sin, cos) of 2 pi t, t in [0, 1]: GPUs' own sin and cos may be off by 2^-11 (all that
// WebGL asks of them), so they are computed here to about an ulp. As CUDA's __sincosf does,
// the angle is first taken in turns.
vec2 sincos_turns(float t) {
  float q = floor(4.0 * t + 0.5);  // the nearest quarter turn
  float x = (t - 0.25 * q) * 6.2831855;  // |x| <= pi / 4
  float x2 = x * x;
  float s = x * (1.0 + x2 * (-1.6666667e-1 + x2 * (8.3333333e-3 + x2 * (-1.9841270e-4
            + x2 * 2.7557319e-6))));
  float c = 1.0 + x2 * (-0.5 + x2 * (4.1666667e-2 + x2 * (-1.3888889e-3 + x2 * 2.4801587e-5)));
  int quadrant = int(q) & 3;
  return quadrant == 0 ? vec2(s, c) : quadrant == 1 ? vec2(c, -s)
       : quadrant == 2 ? vec2(-s, -c) : vec2(-c, s);
}

// Element e of the launch's draw: thread e % stride's call e / (4 stride), component
// (e % (4 stride)) / stride of its curand_normal4, whose Box-Muller pairs are (sin, cos).
float normal(uint e) {
  uint row = 4u * uStride;
  uint round_ = e / row;
  uint k = (e % row) / uStride;
  uint call = uCall.x + round_;
  uvec4 w = philox(uvec4(call, uCall.y + (call < round_ ? 1u : 0u), e % uStride, 0u), uSeed);
  uvec2 pair = k < 2u ? w.xy : w.zw;
  float u = float(pair.x) * 2.3283064e-10 + 1.1641532e-10;  // 2^-32, 2^-33
  float v = float(pair.y) * 1.4629181e-09 + 7.3145904e-10;  // 2^-32 * 6.2831855f, half
  float radius = sqrt(-2.0 * log(u));
  vec2 sc = sincos_turns(v * 0.15915494);  // 1 / (2 pi) in float32, as CUDA's
  return radius * ((k & 1u) == 0u ? sc.x : sc.y);
}
#endif

float spread(vec2 X[N]) {
  float d = 0.0;
  bool nan = isnan(X[0].x);
  for (int i = 1; i < N; i++) {
    d = max(d, abs(X[i].x - X[0].x));
    nan = nan || isnan(X[i].x);
  }
  return nan ? uintBitsToFloat(0x7FC00000u) : d;
}

void main() {
  int col = int(gl_FragCoord.x), row = int(gl_FragCoord.y);  // row 0: the lowest a
#if DRAWS
  // the raw normals, one per fragment, row by row: what the page's draws() reads back
  outColor = vec4(normal(uFirstDraw + uint(row * uResolution + col)), 0.0, 0.0, 1.0);
  return;
#endif
  float a = texelFetch(uAxes, ivec2(row, 0), 0).r;
  float b = texelFetch(uAxes, ivec2(col, 1), 0).r;
  vec2 X[N];
#if PER_POINT
  // Appendix A's flattening: a fastest, so grid point g = col * resolution + row.
  uint first = uint(col * uResolution + row) * uint(2 * N);
  for (int i = 0; i < N; i++) {
    vec2 x = vec2(normal(first + uint(2 * i)), normal(first + uint(2 * i + 1)));
    X[i] = x / sqrt(x.x * x.x + x.y * x.y);
  }
#else
  for (int i = 0; i < N; i++) X[i] = uintBitsToFloat(uX0[i]);
#endif
  vec4 wq = uintBitsToFloat(uWq), wv = uintBitsToFloat(uWv);
  float limit = uintBitsToFloat(uThreshold);
  float diff = spread(X);
  int start = diff < limit ? 0 : 1;
  float total = diff;
  vec2 Q[N], K[N], V[N];
  float s[N];
  for (int t = 1; t <= uIterations; t++) {
    // unroll
    for (int j = 0; j < N; j++) {
      vec2 x = X[j];
      Q[j] = vec2(wq.x * x.x + wq.y * x.y, wq.z * x.x + wq.w * x.y);
      K[j] = vec2(a * x.x, b * x.y);
      V[j] = vec2(wv.x * x.x + wv.y * x.y, wv.z * x.x + wv.w * x.y);
    }
    // unroll
    for (int i = 0; i < N; i++) {
      float top = -uintBitsToFloat(0x7F800000u);
      // unroll
      for (int j = 0; j < N; j++) {
        s[j] = Q[i].x * K[j].x + Q[i].y * K[j].y;
        top = max(top, s[j]);
      }
      float sum = 0.0;
      vec2 acc = vec2(0.0);
      // unroll
      for (int j = 0; j < N; j++) {
        float p = exp(s[j] - top);
        sum += p;
        acc += p * V[j];
      }
      vec2 y = acc / sum;
      X[i] = y / (sqrt(y.x * y.x + y.y * y.y) + 1e-8);
    }
    diff = spread(X);
    start = diff < limit ? start : t + 1;
    total += diff;
  }
  float speed = diff < limit ? float(uIterations + 1 - start)
                             : -(total / float(uIterations + 1));
  outColor = vec4(speed, 0.0, 0.0, 1.0);
}
