// coreface-lab native kernels: NHWC float32 convolution (forward and both gradients) as im2col + OpenBLAS
// sgemm, depthwise convolution and its gradients, max-pool gradient, contiguous-axis sums and batched matmul,
// and fused losses (cosine margin heads, CoReFace's contrastive term) with their gradients.
//
// The TypeScript side (src/backends/native-kernels.ts) registers these as tfjs kernels of the wasm backend. It
// passes Float32Array views straight onto the wasm heap (inputs and the already allocated output), so nothing
// is copied; the views are only used during the synchronous call. Every function checks that each array is
// at least as long as the shapes need before touching memory, and throws a JS error otherwise.
//
// Plain N-API (node_api.h, ABI-stable): one build runs on every Node version >= 16.
#include <node_api.h>
#include <cblas.h>
#include <omp.h>
#ifdef COREFACE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace {

// Largest im2col buffer per call, in floats (default 1 Mi = 4 MiB, so that the columns written by im2col are still in
// cache when sgemm reads them: 16 Mi, the earlier default, was up to 1.4x slower); bigger batches are processed in chunks of
// images. setColumnBudget changes it (tests use a tiny budget to exercise chunking on small shapes).
int64_t kMaxColFloats = 1024 * 1024;

// Threads of the non-BLAS loops (set with the BLAS threads by setThreads).
int gThreads = 1;

// Fewest elements worth a parallel part of a memory-bound loop: below it, waking another thread costs more than it
// saves (and every parallel region is a wake-up when the threads sleep between regions).
constexpr int64_t kMinWorkPerPart = 1 << 16;
int64_t MinRows(int64_t width) { return std::max<int64_t>(1, kMinWorkPerPart / std::max<int64_t>(1, width)); }

// Runs body(begin, end, part) on `parts` contiguous ranges of [0, n) in parallel (OpenMP, static: range k always
// goes to part k, so per-part partial results combined in part order are deterministic for a thread count).
// Small loops (< minPerPart items per part) use fewer parts.
template <class F>
int ParallelRanges(int64_t n, int64_t minPerPart, F&& body) {
  const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(gThreads, n / std::max<int64_t>(1, minPerPart))));
  if (parts == 1) {
    body(int64_t{0}, n, 0);
    return 1;
  }
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int k = 0; k < parts; ++k) body(n * k / parts, n * (k + 1) / parts, k);
  return parts;
}

// Forces v to be rounded to its type here: the compiler may not fuse a product and a sum across this point into one
// FMA (which rounds once instead of twice), so float/double arithmetic reproduces JavaScript's / tfjs's exactly.
template <class T>
inline T Materialize(T v) {
  asm("" : "+x"(v));
  return v;
}

// Reusable scratch arrays (the kernels are called from the JS thread only): slot k grows as needed and is never freed,
// so a training step does not page-fault fresh allocations in every call. Slots: 0-4 the margin loss kernels,
// kColSlot... and kFilterSlot... the im2col convolutions.
float* Scratch(size_t slot, size_t n) {
  static std::vector<std::vector<float>> slots;
  if (slots.size() <= slot) slots.resize(slot + 1);
  if (slots[slot].size() < n) slots[slot].resize(n);
  return slots[slot].data();
}

// Scratch slots of the im2col convolutions: per parallel part, columns and filter-gradient partial sums.
constexpr int kMaxThreads = 256;
constexpr size_t kColSlot = 8;
constexpr size_t kFilterSlot = kColSlot + kMaxThreads;
// The two-view objective's second part and its gradient's two parts (slots taken on the JS thread before the region).
constexpr size_t kPairSlot = kFilterSlot + kMaxThreads;

// One scratch array of n floats per possible parallel part (gThreads of them), from slots base, base + 1, ...
// Prepared on the JS thread: Scratch must not grow inside a parallel region.
std::vector<float*> PartBuffers(size_t base, int64_t n) {
  std::vector<float*> out(std::max(1, gThreads));
  for (size_t k = 0; k < out.size(); ++k) out[k] = Scratch(base + k, n);
  return out;
}

struct Arr {
  float* data = nullptr;
  size_t length = 0;
};

bool ThrowIf(napi_env env, bool cond, const std::string& msg) {
  if (cond) napi_throw_error(env, "ERR_COREFACE_NATIVE", msg.c_str());
  return cond;
}

bool GetF32(napi_env env, napi_value v, const char* name, Arr* out) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) return !ThrowIf(env, true, std::string(name) + " must be a Float32Array");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
  if (ThrowIf(env, type != napi_float32_array, std::string(name) + " must be a Float32Array")) return false;
  out->data = static_cast<float*>(data);
  out->length = length;
  return true;
}

bool GetI32(napi_env env, napi_value v, const char* name, std::vector<int64_t>* out, size_t expected) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t offset;
  if (is_ta) napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
  if (ThrowIf(env, !is_ta || type != napi_int32_array || length != expected,
              std::string(name) + " must be an Int32Array of " + std::to_string(expected) + " values")) {
    return false;
  }
  const int32_t* p = static_cast<const int32_t*>(data);
  out->assign(p, p + length);
  return true;
}

bool Need(napi_env env, const Arr& a, int64_t n, const char* name) {
  return !ThrowIf(env, n < 0 || static_cast<uint64_t>(n) > a.length,
                  std::string(name) + " has " + std::to_string(a.length) + " values, the shapes need " + std::to_string(n));
}

bool GetArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return !ThrowIf(env, argc != n, "expected " + std::to_string(n) + " arguments");
}

// ---------------------------------------------------------------------------------------------------------------
// Convolution geometry: [N, H, W, C] input, [KH, KW, C, CO] filter (or [KH, KW, C, mult] depthwise),
// [N, OH, OW, CO] output; strides SH, SW; dilations DH, DW; zero padding PT (top), PL (left), PB (bottom) and
// PR (right; tfjs's padInfo, negative-free: rows no window reaches are simply not read).
struct Conv {
  int64_t n, h, w, c, oh, ow, co, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  static constexpr size_t kParams = 17;
  explicit Conv(const std::vector<int64_t>& p)
      : n(p[0]), h(p[1]), w(p[2]), c(p[3]), oh(p[4]), ow(p[5]), co(p[6]), kh(p[7]), kw(p[8]), sh(p[9]),
        sw(p[10]), dh(p[11]), dw(p[12]), pt(p[13]), pl(p[14]), pb(p[15]), pr(p[16]) {}
  bool Valid() const {
    return n > 0 && h > 0 && w > 0 && c > 0 && oh > 0 && ow > 0 && co > 0 && kh > 0 && kw > 0 && sh > 0 && sw > 0 &&
           dh > 0 && dw > 0 && pt >= 0 && pl >= 0 && pb >= 0 && pr >= 0;
  }
  int64_t K() const { return kh * kw * c; }
  int64_t InSize() const { return n * h * w * c; }
  int64_t OutSize() const { return n * oh * ow * co; }
  // A 1x1, stride-1, unpadded conv needs no im2col: the input is already the [N*H*W, C] matrix.
  bool Pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w; }
  // Images per im2col chunk.
  int64_t Chunk() const { return std::max<int64_t>(1, std::min<int64_t>(n, kMaxColFloats / std::max<int64_t>(1, oh * ow * K()))); }
};

bool GetConv(napi_env env, napi_value v, Conv* out) {
  std::vector<int64_t> p;
  if (!GetI32(env, v, "params", &p, Conv::kParams)) return false;
  *out = Conv(p);
  return !ThrowIf(env, !out->Valid(), "invalid convolution geometry");
}

// ---------------------------------------------------------------------------------------------------------------
// oneDNN convolutions (built with -DCOREFACE_DNNL and -ldnnl when Debian's libdnnl-dev is installed; native/build.js
// decides). Forward, backward-data and backward-weights of regular and depthwise convolutions on the tensors as
// they lie on the wasm heap: activations NHWC, filters in tfjs's [KH, KW, C, CO] (hwio, or hwigo for depthwise).
// Each primitive is created once per geometry and thread count (JIT code and blocking depend on both) and kept;
// filters are reordered into the layout the primitive prefers (a small copy). A geometry oneDNN has no
// implementation for returns false and runs as im2col + BLAS instead.
enum ConvEngine { kEngineBlas = 0, kEngineDnnl = 1 };
#ifdef COREFACE_DNNL
constexpr bool kHaveDnnl = true;
int gConvEngine = kEngineDnnl;
#else
constexpr bool kHaveDnnl = false;
int gConvEngine = kEngineBlas;
#endif

#ifdef COREFACE_DNNL
namespace dn {
using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

dnnl::engine& Engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
// Stream 0 serves every call from the JS thread; streams 1 and 2 the two parts of RunPair (a stream must not be used
// from two threads at once). Create them on the JS thread (PairStreams) before a region uses them.
dnnl::stream& Stream(int i = 0) {
  static dnnl::stream s[3] = {dnnl::stream(Engine()), dnnl::stream(Engine()), dnnl::stream(Engine())};
  return s[i];
}

enum Op { kFwd = 0, kBwdData = 1, kBwdWeights = 2 };

// One convolution geometry's primitives, created on first use.
struct Plan {
  memory::desc src, dst, wUser;
  memory::dims strides, dilates, padL, padR;
  dnnl::convolution_forward::primitive_desc fwdPd;
  std::unique_ptr<dnnl::primitive> prim[3];
  memory::desc wPrim[3];                 // the filter layout each primitive wants
  std::unique_ptr<memory> wBuf[3];       // filter in that layout, when it differs from the user's
  std::unique_ptr<dnnl::reorder> wReorder[3];
  bool failed[3] = {false, false, false};
};

using Key = std::array<int64_t, Conv::kParams + 2>;
std::map<Key, std::unique_ptr<Plan>>& Plans() {
  static std::map<Key, std::unique_ptr<Plan>> plans;
  return plans;
}

Plan* GetPlan(const Conv& g, bool depthwise) {
  Key key{g.n, g.h, g.w, g.c, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr, depthwise ? 1 : 0, gThreads};
  auto& plans = Plans();
  auto it = plans.find(key);
  if (it != plans.end()) return it->second.get();
  auto plan = std::make_unique<Plan>();
  Plan& p = *plan;
  p.src = memory::desc({g.n, g.c, g.h, g.w}, kF32, Tag::nhwc);
  p.dst = memory::desc({g.n, g.co, g.oh, g.ow}, kF32, Tag::nhwc);
  p.wUser = depthwise ? memory::desc({g.c, g.co / g.c, 1, g.kh, g.kw}, kF32, Tag::hwigo)
                      : memory::desc({g.co, g.c, g.kh, g.kw}, kF32, Tag::hwio);
  p.strides = {g.sh, g.sw};
  p.dilates = {g.dh - 1, g.dw - 1};
  p.padL = {g.pt, g.pl};
  p.padR = {g.pb, g.pr};
  const memory::desc wAny(p.wUser.dims(), kF32, Tag::any);
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, p.src, wAny, p.dst,
                                     p.strides, p.dilates, p.padL, p.padR);
  p.fwdPd = dnnl::convolution_forward::primitive_desc(fd, Engine());
  Plan* raw = plan.get();
  plans.emplace(key, std::move(plan));
  return raw;
}

// Creates primitive `op` of the plan (once).
void Ensure(Plan& p, Op op) {
  if (p.prim[op]) return;
  const memory::desc wAny(p.wUser.dims(), kF32, Tag::any);
  if (op == kFwd) {
    p.prim[op] = std::make_unique<dnnl::convolution_forward>(p.fwdPd);
    p.wPrim[op] = p.fwdPd.weights_desc();
  } else if (op == kBwdData) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, p.src, wAny, p.dst, p.strides, p.dilates, p.padL, p.padR);
    dnnl::convolution_backward_data::primitive_desc pd(d, Engine(), p.fwdPd);
    p.prim[op] = std::make_unique<dnnl::convolution_backward_data>(pd);
    p.wPrim[op] = pd.weights_desc();
  } else {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, p.src, wAny, p.dst, p.strides, p.dilates, p.padL, p.padR);
    dnnl::convolution_backward_weights::primitive_desc pd(d, Engine(), p.fwdPd);
    p.prim[op] = std::make_unique<dnnl::convolution_backward_weights>(pd);
    p.wPrim[op] = pd.diff_weights_desc();
  }
  if (p.wPrim[op] != p.wUser) {
    p.wBuf[op] = std::make_unique<memory>(p.wPrim[op], Engine());
    p.wReorder[op] = op == kBwdWeights ? std::make_unique<dnnl::reorder>(*p.wBuf[op], memory(p.wUser, Engine(), DNNL_MEMORY_NONE))
                                       : std::make_unique<dnnl::reorder>(memory(p.wUser, Engine(), DNNL_MEMORY_NONE), *p.wBuf[op]);
  }
}

// Runs `op` of a convolution: kFwd (a = x, b = filter, out = y), kBwdData (a = dy, b = filter, out = dx),
// kBwdWeights (a = x, b = dy, out = dfilter). False when oneDNN cannot run this geometry.
bool Run(const Conv& g, bool depthwise, Op op, float* a, float* b, float* out) {
  Plan* p = nullptr;
  try {
    p = GetPlan(g, depthwise);
    if (p->failed[op]) return false;
    Ensure(*p, op);
  } catch (const dnnl::error&) {
    if (p) p->failed[op] = true;
    return false;
  }
  dnnl::stream& s = Stream();
  const dnnl::engine& e = Engine();
  const bool reorderW = p->wBuf[op] != nullptr;
  if (op == kFwd || op == kBwdData) {
    memory w(p->wUser, e, b);
    if (reorderW) p->wReorder[op]->execute(s, w, *p->wBuf[op]);
    const memory& wp = reorderW ? *p->wBuf[op] : w;
    if (op == kFwd) {
      p->prim[op]->execute(s, {{DNNL_ARG_SRC, memory(p->src, e, a)}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_DST, memory(p->dst, e, out)}});
    } else {
      p->prim[op]->execute(s, {{DNNL_ARG_DIFF_DST, memory(p->dst, e, a)}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_DIFF_SRC, memory(p->src, e, out)}});
    }
  } else {
    memory dw(p->wUser, e, out);
    const memory& dwp = reorderW ? *p->wBuf[op] : dw;
    p->prim[op]->execute(s, {{DNNL_ARG_SRC, memory(p->src, e, a)}, {DNNL_ARG_DIFF_DST, memory(p->dst, e, b)}, {DNNL_ARG_DIFF_WEIGHTS, dwp}});
    if (reorderW) p->wReorder[op]->execute(s, *p->wBuf[op], dw);
  }
  s.wait();
  return true;
}
// Batched matmul out[i] = op(a[i]) op(b[i]) (a batch of 1 broadcasts): one oneDNN matmul primitive per shape and
// thread count; transposes are strides of the operands' descriptors (no copies).
struct MatMulPlan {
  memory::desc a, b, c, scratch;
  std::unique_ptr<dnnl::matmul> prim;
  bool failed = false;
};

// The matmuls' scratchpad, one per stream: oneDNN's own (global) scratchpad is shared by every thread, so two parts of
// RunPair running primitives at once would overwrite each other's; user-mode scratchpads avoid that.
std::vector<uint8_t>& ScratchBytes(int si) {
  static std::vector<uint8_t> bytes[3];
  return bytes[si];
}

// Grows stream si's scratchpad for a plan (on the JS thread only).
void ReserveScratch(const MatMulPlan* plan, int si) {
  if (plan->failed) return;
  std::vector<uint8_t>& v = ScratchBytes(si);
  if (v.size() < plan->scratch.get_size()) v.resize(plan->scratch.get_size());
}

// The plan of a shape, created when missing (only on the JS thread: the map is not safe to grow from a region).
MatMulPlan* MatMulPlanFor(int64_t ba, int64_t bb, int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  using MKey = std::array<int64_t, 8>;
  static std::map<MKey, std::unique_ptr<MatMulPlan>> plans;
  const MKey key{ba, bb, m, k, n, ta ? 1 : 0, tb ? 1 : 0, gThreads};
  auto& slot = plans[key];
  if (!slot) {
    slot = std::make_unique<MatMulPlan>();
    const int64_t batch = std::max(ba, bb);
    // logical [batch, rows, cols]; a transposed operand is stored [cols, rows]
    slot->a = memory::desc({ba, m, k}, kF32, ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
    slot->b = memory::desc({bb, k, n}, kF32, tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    slot->c = memory::desc({batch, m, n}, kF32, memory::dims{m * n, n, 1});
    try {
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(slot->a, slot->b, slot->c), attr, Engine());
      slot->scratch = pd.scratchpad_desc();
      slot->prim = std::make_unique<dnnl::matmul>(pd);
    } catch (const dnnl::error&) {
      slot->failed = true;
    }
  }
  return slot.get();
}

// Runs a plan (made by MatMulPlanFor) on stream `si`; false when oneDNN has no implementation for the shape.
bool RunMatMul(MatMulPlan* plan, float* a, float* b, float* out, int si) {
  if (plan->failed) return false;
  const dnnl::engine& e = Engine();
  dnnl::stream& s = Stream(si);
  plan->prim->execute(s, {{DNNL_ARG_SRC, memory(plan->a, e, a)}, {DNNL_ARG_WEIGHTS, memory(plan->b, e, b)}, {DNNL_ARG_DST, memory(plan->c, e, out)},
                          {DNNL_ARG_SCRATCHPAD, memory(plan->scratch, e, ScratchBytes(si).data())}});
  s.wait();
  return true;
}

bool MatMul(int64_t ba, int64_t bb, int64_t m, int64_t k, int64_t n, bool ta, bool tb, float* a, float* b, float* out) {
  MatMulPlan* plan = MatMulPlanFor(ba, bb, m, k, n, ta, tb);
  ReserveScratch(plan, 0);
  return RunMatMul(plan, a, b, out, 0);
}
}  // namespace dn
#endif

// True when the batched matmul ran on oneDNN (with the oneDNN engine selected; else BLAS sgemm runs it).
bool DnnlMatMul(int64_t ba, int64_t bb, int64_t m, int64_t k, int64_t n, bool ta, bool tb, float* a, float* b, float* out) {
#ifdef COREFACE_DNNL
  if (gConvEngine == kEngineDnnl) return dn::MatMul(ba, bb, m, k, n, ta, tb, a, b, out);
#else
  (void)ba, (void)bb, (void)m, (void)k, (void)n, (void)ta, (void)tb, (void)a, (void)b, (void)out;
#endif
  return false;
}

// Convolution calls (forward or gradient, regular or depthwise) run by each engine since the addon loaded.
int64_t gConvCalls[2] = {0, 0};

// True when the convolution ran on oneDNN (engine selected and the geometry supported); counts the call.
bool DnnlConv(const Conv& g, bool depthwise, int op, float* a, float* b, float* out) {
  bool ran = false;
#ifdef COREFACE_DNNL
  if (gConvEngine == kEngineDnnl) ran = dn::Run(g, depthwise, static_cast<dn::Op>(op), a, b, out);
#else
  (void)g, (void)depthwise, (void)op, (void)a, (void)b, (void)out;
#endif
  ++gConvCalls[ran ? kEngineDnnl : kEngineBlas];
  return ran;
}

// col[(b*OH + oy)*OW + ox, (ky*KW + kx)*C + ci] = x[n0 + b, oy*SH - PT + ky*DH, ox*SW - PL + kx*DW, ci] (0 outside).
// Serial: the convolutions run it inside their own parallel parts.
void Im2Col(const Conv& g, const float* x, int64_t n0, int64_t nb, float* col) {
  const int64_t K = g.K();
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + (n0 + b) * g.h * g.w * g.c;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float* row = col + ((b * g.oh + oy) * g.ow + ox) * K;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          float* dst = row + ky * g.kw * g.c;
          if (iy < 0 || iy >= g.h) {
            std::memset(dst, 0, sizeof(float) * g.kw * g.c);
            continue;
          }
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
            float* d = dst + kx * g.c;
            if (ix < 0 || ix >= g.w) {
              std::memset(d, 0, sizeof(float) * g.c);
            } else {
              std::memcpy(d, xb + (iy * g.w + ix) * g.c, sizeof(float) * g.c);
            }
          }
        }
      }
    }
  }
}

// The adjoint of Im2Col: dx[n0 + b, iy, ix, ci] += dcol[...] for every window position that read it.
void Col2Im(const Conv& g, const float* dcol, int64_t n0, int64_t nb, float* dx) {
  const int64_t K = g.K();
  for (int64_t b = 0; b < nb; ++b) {
    float* xb = dx + (n0 + b) * g.h * g.w * g.c;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float* row = dcol + ((b * g.oh + oy) * g.ow + ox) * K;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            const float* s = row + (ky * g.kw + kx) * g.c;
            float* d = xb + (iy * g.w + ix) * g.c;
            for (int64_t ci = 0; ci < g.c; ++ci) d[ci] += s[ci];
          }
        }
      }
    }
  }
}

using Sizes3 = std::array<int64_t, 3>;

// Parses the arguments (a, b, out, params) shared by the convolution-like kernels and checks each array against
// sizes(geometry) = {len a, len b, len out}.
template <class SizesFn>
bool ConvArgs(napi_env env, napi_callback_info info, const char* na, const char* nb, Arr* a, Arr* b, Arr* out, Conv* g,
              SizesFn sizes) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv)) return false;
  if (!GetF32(env, argv[0], na, a) || !GetF32(env, argv[1], nb, b) || !GetF32(env, argv[2], "out", out) ||
      !GetConv(env, argv[3], g)) {
    return false;
  }
  const Sizes3 n = sizes(*g);
  return Need(env, *a, n[0], na) && Need(env, *b, n[1], nb) && Need(env, *out, n[2], "out");
}

// conv2d(x, w, y, params): y = conv(x, w).
napi_value Conv2D(napi_env env, napi_callback_info info) {
  Arr x, w, y;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  if (!ConvArgs(env, info, "x", "filter", &x, &w, &y, &g, [](const Conv& c) { return Sizes3{c.InSize(), c.K() * c.co, c.OutSize()}; })) {
    return nullptr;
  }
  if (DnnlConv(g, false, 0, x.data, w.data, y.data)) return nullptr;
  const int64_t K = g.K();
  const int64_t rowsPerImage = g.oh * g.ow;
  if (g.Pointwise()) {
    ParallelRanges(g.n * rowsPerImage, 256, [&](int64_t r0, int64_t r1, int) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, g.co, K, 1.0f, x.data + r0 * K, K, w.data, g.co, 0.0f,
                  y.data + r0 * g.co, g.co);
    });
    return nullptr;
  }
  const int64_t chunk = g.Chunk();
  const std::vector<float*> cols = PartBuffers(kColSlot, chunk * rowsPerImage * K);
  ParallelRanges(g.n, 1, [&](int64_t b0, int64_t b1, int k) {
    for (int64_t n0 = b0; n0 < b1; n0 += chunk) {
      const int64_t nb = std::min(chunk, b1 - n0);
      Im2Col(g, x.data, n0, nb, cols[k]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb * rowsPerImage, g.co, K, 1.0f, cols[k], K, w.data, g.co, 0.0f,
                  y.data + n0 * rowsPerImage * g.co, g.co);
    }
  });
  return nullptr;
}

// conv2dBackpropInput(dy, w, dx, params): dx = d(loss)/dx given dy = d(loss)/dy.
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) {
  Arr dy, w, dx;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  if (!ConvArgs(env, info, "dy", "filter", &dy, &w, &dx, &g, [](const Conv& c) { return Sizes3{c.OutSize(), c.K() * c.co, c.InSize()}; })) {
    return nullptr;
  }
  if (DnnlConv(g, false, 1, dy.data, w.data, dx.data)) return nullptr;
  const int64_t K = g.K();
  const int64_t rowsPerImage = g.oh * g.ow;
  if (g.Pointwise()) {
    ParallelRanges(g.n * rowsPerImage, 256, [&](int64_t r0, int64_t r1, int) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, K, g.co, 1.0f, dy.data + r0 * g.co, g.co, w.data, g.co, 0.0f,
                  dx.data + r0 * K, K);
    });
    return nullptr;
  }
  const int64_t chunk = g.Chunk();
  const std::vector<float*> cols = PartBuffers(kColSlot, chunk * rowsPerImage * K);
  ParallelRanges(g.n, 1, [&](int64_t b0, int64_t b1, int k) {  // images write disjoint parts of dx
    std::memset(dx.data + b0 * g.h * g.w * g.c, 0, sizeof(float) * (b1 - b0) * g.h * g.w * g.c);
    for (int64_t n0 = b0; n0 < b1; n0 += chunk) {
      const int64_t nb = std::min(chunk, b1 - n0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb * rowsPerImage, K, g.co, 1.0f, dy.data + n0 * rowsPerImage * g.co, g.co,
                  w.data, g.co, 0.0f, cols[k], K);
      Col2Im(g, cols[k], n0, nb, dx.data);
    }
  });
  return nullptr;
}

// Adds the parts' filter gradients dws[1..] to dws[0] in part order (deterministic per thread count).
void SumParts(const std::vector<float*>& dws, int used, int64_t size) {
  for (int k = 1; k < used; ++k) {
    float* __restrict out = dws[0];
    const float* __restrict in = dws[k];
    for (int64_t i = 0; i < size; ++i) out[i] += in[i];
  }
}

// conv2dBackpropFilter(x, dy, dw, params): dw = d(loss)/dw. Each part accumulates its images' contribution in its own
// buffer (part 0 in dw itself), then the parts are added in order.
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  Arr x, dy, dw;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  if (!ConvArgs(env, info, "x", "dy", &x, &dy, &dw, &g, [](const Conv& c) { return Sizes3{c.InSize(), c.OutSize(), c.K() * c.co}; })) {
    return nullptr;
  }
  if (DnnlConv(g, false, 2, x.data, dy.data, dw.data)) return nullptr;
  const int64_t K = g.K();
  const int64_t rowsPerImage = g.oh * g.ow;
  std::vector<float*> dws = PartBuffers(kFilterSlot, K * g.co);
  dws[0] = dw.data;
  int used;
  if (g.Pointwise()) {
    used = ParallelRanges(g.n * rowsPerImage, 256, [&](int64_t r0, int64_t r1, int k) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, g.co, r1 - r0, 1.0f, x.data + r0 * K, K, dy.data + r0 * g.co, g.co, 0.0f,
                  dws[k], g.co);
    });
  } else {
    const int64_t chunk = g.Chunk();
    const std::vector<float*> cols = PartBuffers(kColSlot, chunk * rowsPerImage * K);
    used = ParallelRanges(g.n, 1, [&](int64_t b0, int64_t b1, int k) {
      for (int64_t n0 = b0; n0 < b1; n0 += chunk) {
        const int64_t nb = std::min(chunk, b1 - n0);
        Im2Col(g, x.data, n0, nb, cols[k]);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, g.co, nb * rowsPerImage, 1.0f, cols[k], K, dy.data + n0 * rowsPerImage * g.co,
                    g.co, n0 == b0 ? 0.0f : 1.0f, dws[k], g.co);
      }
    });
  }
  SumParts(dws, used, K * g.co);
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Depthwise convolution: filter [KH, KW, C, M], output channel ci*M + m. Direct loops (few FLOPs).
bool DepthwiseGeometry(napi_env env, const Conv& g) {
  return !ThrowIf(env, g.co % g.c != 0, "depthwise: output channels must be a multiple of input channels");
}

// Calls f(out, in, tap) for every (output pixel, filter tap) pair whose input pixel lies inside the image: `out`
// is the output pixel's offset in the [N, OH, OW, CO] output, `in` the input pixel's offset in [N, H, W, C] and
// `tap` the tap's offset in the [KH, KW, CO] filter.
template <class F>
void ForEachTap(const Conv& g, F&& f) {
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t out = ((b * g.oh + oy) * g.ow + ox) * g.co;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            f(out, ((b * g.h + iy) * g.w + ix) * g.c, (ky * g.kw + kx) * g.co);
          }
        }
      }
    }
  }
}

// The three depthwise kernels share argument handling: (a, b, out, params) with a/b the two inputs.
enum class DwKind { kForward, kBackpropInput, kBackpropFilter };

template <DwKind kKind>
napi_value DepthwiseKernel(napi_env env, napi_callback_info info) {
  Arr a, b, out;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  // a, b, out = x, filter, y | dy, filter, dx | x, dy, dw
  const auto sizes = [](const Conv& c) {
    const int64_t filter = c.kh * c.kw * c.co;
    if (kKind == DwKind::kForward) return Sizes3{c.InSize(), filter, c.OutSize()};
    if (kKind == DwKind::kBackpropInput) return Sizes3{c.OutSize(), filter, c.InSize()};
    return Sizes3{c.InSize(), c.OutSize(), filter};
  };
  if (!ConvArgs(env, info, kKind == DwKind::kBackpropInput ? "dy" : "x", kKind == DwKind::kBackpropFilter ? "dy" : "filter",
                &a, &b, &out, &g, sizes) ||
      !DepthwiseGeometry(env, g)) {
    return nullptr;
  }
  if (DnnlConv(g, true, static_cast<int>(kKind), a.data, b.data, out.data)) return nullptr;
  const int64_t outSize = sizes(g)[2];
  const int64_t m = g.co / g.c;
  const int64_t co = g.co;
  float* o = out.data;
  const float* A = a.data;
  const float* B = b.data;
  std::memset(o, 0, sizeof(float) * outSize);
  if (kKind == DwKind::kForward) {  // y[out + k] += x[in + k / m] * w[tap + k]
    ForEachTap(g, [&](int64_t op, int64_t ip, int64_t tp) {
      for (int64_t k = 0; k < co; ++k) o[op + k] += A[ip + k / m] * B[tp + k];
    });
  } else if (kKind == DwKind::kBackpropInput) {  // dx[in + k / m] += dy[out + k] * w[tap + k]
    ForEachTap(g, [&](int64_t op, int64_t ip, int64_t tp) {
      for (int64_t k = 0; k < co; ++k) o[ip + k / m] += A[op + k] * B[tp + k];
    });
  } else {  // dw[tap + k] += dy[out + k] * x[in + k / m]
    ForEachTap(g, [&](int64_t op, int64_t ip, int64_t tp) {
      for (int64_t k = 0; k < co; ++k) o[tp + k] += B[op + k] * A[ip + k / m];
    });
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// m = max(m, x) over the channels (vectorised select; strict '>', so the earlier of equal values stays).
NOINLINE void MaxRow(const float* __restrict x, float* __restrict m, int64_t c) {
  for (int64_t j = 0; j < c; ++j) m[j] = x[j] > m[j] ? x[j] : m[j];
}

// maxPool(x, y, params): params as Conv with c == co (pool geometry); y = the maximum of each window (padding
// never counts). Parallel over images.
napi_value MaxPool(napi_env env, napi_callback_info info) {
  Arr x, y;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv) || !GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "y", &y) || !GetConv(env, argv[2], &g)) return nullptr;
  if (ThrowIf(env, g.c != g.co, "maxPool: input and output channels differ") || !Need(env, x, g.InSize(), "x") || !Need(env, y, g.OutSize(), "y")) {
    return nullptr;
  }
  const int64_t c = g.c;
  ParallelRanges(g.n, MinRows(g.h * g.w * c), [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          float* m = y.data + ((b * g.oh + oy) * g.ow + ox) * c;
          std::fill(m, m + c, -std::numeric_limits<float>::infinity());
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              MaxRow(x.data + ((b * g.h + iy) * g.w + ix) * c, m, c);
            }
          }
        }
      }
    }
  });
  return nullptr;
}

// One window tap of the max-pool gradient: where x equals the window's maximum y and no earlier tap did, dx += dy.
NOINLINE void MaxPoolTapRow(const float* __restrict x, const float* __restrict y, const float* __restrict dy, float* __restrict dx,
                            float* __restrict taken, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const bool hit = taken[j] == 0.0f && x[j] == y[j];
    dx[j] += hit ? dy[j] : 0.0f;
    taken[j] = hit ? 1.0f : taken[j];
  }
}

// maxPoolGrad(dy, x, y, dx, params): params as Conv with c == co (pool geometry), y the forward output. Each output's
// gradient goes to the first maximum of its window in row-major order (padding never wins): tfjs's cpu rule. The
// maximum is found as the first tap equal to y, so every tap is one vectorised compare over the channels.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!GetArgs(env, info, 5, argv)) return nullptr;
  Arr dy, x, y, dx;
  Conv g(std::vector<int64_t>(Conv::kParams, 1));
  if (!GetF32(env, argv[0], "dy", &dy) || !GetF32(env, argv[1], "x", &x) || !GetF32(env, argv[2], "y", &y) ||
      !GetF32(env, argv[3], "dx", &dx) || !GetConv(env, argv[4], &g)) {
    return nullptr;
  }
  if (ThrowIf(env, g.c != g.co, "maxPoolGrad: input and output channels differ") || !Need(env, dy, g.OutSize(), "dy") ||
      !Need(env, y, g.OutSize(), "y") || !Need(env, x, g.InSize(), "x") || !Need(env, dx, g.InSize(), "dx")) {
    return nullptr;
  }
  const int64_t c = g.c;
  ParallelRanges(g.n, MinRows(g.h * g.w * c), [&](int64_t b0, int64_t b1, int) {  // images write disjoint parts of dx
    std::vector<float> taken(c);
    std::memset(dx.data + b0 * g.h * g.w * c, 0, sizeof(float) * (b1 - b0) * g.h * g.w * c);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t base = b * g.h * g.w * c;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t o = ((b * g.oh + oy) * g.ow + ox) * c;
          std::fill(taken.begin(), taken.end(), 0.0f);
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = ox * g.sw - g.pl + kx * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              const int64_t off = base + (iy * g.w + ix) * c;
              MaxPoolTapRow(x.data + off, y.data + o, dy.data + o, dx.data + off, taken.data(), c);
            }
          }
        }
      }
    }
  });
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-column sums of many rows: float partial sums over blocks of kBlock rows (vectorisable), added to double
// totals after each block. The order is fixed, so results do not depend on threads or timing.
struct ColumnSums {
  static constexpr int kBlock = 64;
  std::vector<float> part;
  std::vector<double> total;
  int rows = 0;
  explicit ColumnSums(int64_t cols) : part(cols, 0.0f), total(cols, 0.0) {}
  void Reset() {
    std::fill(part.begin(), part.end(), 0.0f);
    std::fill(total.begin(), total.end(), 0.0);
    rows = 0;
  }
  // The partial-sum row to add the next data row into.
  float* Row() {
    if (rows == kBlock) Flush();
    ++rows;
    return part.data();
  }
  void Flush() {
    for (size_t i = 0; i < part.size(); ++i) {
      total[i] += part[i];
      part[i] = 0.0f;
    }
    rows = 0;
  }
};

// sumMiddle(x, out, [outer, reduce, inner]): out[o, i] = sum_r x[o, r, i] (a reduction over a contiguous block
// of axes). Accumulates in double per output element, in index order, so the result does not depend on threads.
napi_value SumMiddle(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv)) return nullptr;
  Arr x, y;
  std::vector<int64_t> p;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "out", &y) || !GetI32(env, argv[2], "params", &p, 3)) return nullptr;
  const int64_t outer = p[0], reduce = p[1], inner = p[2];
  if (ThrowIf(env, outer < 1 || reduce < 0 || inner < 1, "sum: invalid sizes")) return nullptr;
  if (!Need(env, x, outer * reduce * inner, "x") || !Need(env, y, outer * inner, "out")) return nullptr;
  ColumnSums acc(inner);
  for (int64_t o = 0; o < outer; ++o) {
    acc.Reset();
    const float* xo = x.data + o * reduce * inner;
    for (int64_t r = 0; r < reduce; ++r) {
      const float* row = xo + r * inner;
      float* part = acc.Row();
      for (int64_t i = 0; i < inner; ++i) part[i] += row[i];
    }
    acc.Flush();
    float* yo = y.data + o * inner;
    for (int64_t i = 0; i < inner; ++i) yo[i] = static_cast<float>(acc.total[i]);
  }
  return nullptr;
}

// out[i] = op(a[i or 0]) @ op(b[i or 0]) with OpenBLAS, parallel over (batch, row block) items: rows r0..r1 of
// op(a[i]) start at row r0 (column r0 when transposed).
void BlasMatMul(int64_t ba, int64_t bb, int64_t m, int64_t k, int64_t n, bool ta, bool tb, const float* a, const float* b, float* y) {
  const int64_t batch = std::max(ba, bb);
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(gThreads, m / 16));
  ParallelRanges(batch * blocks, 1, [&](int64_t i0, int64_t i1, int) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t i = it / blocks, blk = it % blocks;
      const int64_t r0 = m * blk / blocks, r1 = m * (blk + 1) / blocks;
      const float* ai = a + (ba == 1 ? 0 : i) * m * k + (ta ? r0 : r0 * k);
      const float* bi = b + (bb == 1 ? 0 : i) * k * n;
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, r1 - r0, n, k, 1.0f, ai, ta ? m : k, bi,
                  tb ? k : n, 0.0f, y + i * m * n + r0 * n, n);
    }
  });
}

// batchMatMul's arithmetic: oneDNN when it is the engine and has the shape, else OpenBLAS.
void MatMulCompute(int64_t ba, int64_t bb, int64_t m, int64_t k, int64_t n, bool ta, bool tb, float* a, float* b, float* y) {
  if (k == 0) {
    std::memset(y, 0, sizeof(float) * std::max(ba, bb) * m * n);
    return;
  }
  if (!DnnlMatMul(ba, bb, m, k, n, ta, tb, a, b, y)) BlasMatMul(ba, bb, m, k, n, ta, tb, a, b, y);
}

// batchMatMul(a, b, out, [batchA, batchB, m, k, n, transA, transB]): out[i] = op(a[i or 0]) @ op(b[i or 0]),
// batch = max(batchA, batchB); a batch of 1 broadcasts.
napi_value BatchMatMul(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv)) return nullptr;
  Arr a, b, y;
  std::vector<int64_t> p;
  if (!GetF32(env, argv[0], "a", &a) || !GetF32(env, argv[1], "b", &b) || !GetF32(env, argv[2], "out", &y) ||
      !GetI32(env, argv[3], "params", &p, 7)) {
    return nullptr;
  }
  const int64_t ba = p[0], bb = p[1], m = p[2], k = p[3], n = p[4];
  const bool ta = p[5] != 0, tb = p[6] != 0;
  if (ThrowIf(env, ba < 1 || bb < 1 || (ba != bb && ba != 1 && bb != 1) || m < 1 || k < 0 || n < 1,
              "batchMatMul: invalid sizes")) {
    return nullptr;
  }
  const int64_t batch = std::max(ba, bb);
  if (!Need(env, a, ba * m * k, "a") || !Need(env, b, bb * k * n, "b") || !Need(env, y, batch * m * n, "out")) return nullptr;
  MatMulCompute(ba, bb, m, k, n, ta, tb, a.data, b.data, y.data);
  return nullptr;
}


// ---------------------------------------------------------------------------------------------------------------
// Batch norm over a [rows, channels] matrix (the channel axis last), optionally followed by PReLU, fused: training
// forward, its gradient (which recomputes the batch-norm output from x instead of storing it), inference (running
// statistics), and the PReLU gradient alone. Memory-bound loops: every pass over the data is one read of each input
// and one write; the per-channel loops are written so the compiler vectorises them (no conditional loads).

// Column sums of `width` accumulators over rows [0, n): block(r0, r1, acc) adds rows [r0, r1) (at most kBlock)
// into the float accumulators acc[0, width); after each block they are added to double totals. Parallel over
// fixed row ranges (ParallelRanges), the ranges' totals added in range order: deterministic per thread count.
constexpr int64_t kSumBlock = 64;
template <class Block>
std::vector<double> ColumnReduce(int64_t n, int64_t width, Block&& block) {
  std::vector<double> totals(static_cast<size_t>(std::max(1, gThreads)) * width, 0.0);
  const int used = ParallelRanges(n, MinRows(width), [&](int64_t r0, int64_t r1, int k) {
    std::vector<float> acc(width);
    double* tot = totals.data() + k * width;
    for (int64_t b0 = r0; b0 < r1; b0 += kSumBlock) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      block(b0, std::min(r1, b0 + kSumBlock), acc.data());
      for (int64_t j = 0; j < width; ++j) tot[j] += acc[j];
    }
  });
  std::vector<double> out(totals.begin(), totals.begin() + width);
  for (int k = 1; k < used; ++k) {
    for (int64_t j = 0; j < width; ++j) out[j] += totals[k * width + j];
  }
  return out;
}

// y = x * scale + shift per channel, then PReLU with slope alpha (when given): y > 0 ? y : alpha * y.
NOINLINE void AffineRow(const float* __restrict x, const float* __restrict scale, const float* __restrict shift,
                      const float* __restrict alpha, float* __restrict y, int64_t c) {
  if (alpha) {
    for (int64_t j = 0; j < c; ++j) {
      const float v = x[j] * scale[j] + shift[j];
      const float a = alpha[j];
      y[j] = v > 0.0f ? v : v * a;
    }
  } else {
    for (int64_t j = 0; j < c; ++j) y[j] = x[j] * scale[j] + shift[j];
  }
}

void AffineRows(const float* x, const float* scale, const float* shift, const float* alpha, float* y, int64_t n, int64_t c) {
  ParallelRanges(n, MinRows(c), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) AffineRow(x + r * c, scale, shift, alpha, y + r * c, c);
  });
}

// Row kernels of the batch-norm and PReLU passes: restrict-qualified and not inlined, so that they vectorise (inlined
// into the passes' lambdas GCC lost the restrict qualifiers and kept them scalar, 10x slower). acc += x.
NOINLINE void AddRow(const float* __restrict x, float* __restrict acc, int64_t c) {
  for (int64_t j = 0; j < c; ++j) acc[j] += x[j];
}

// acc += (x - mean)^2
NOINLINE void AddSquaredDeviationRow(const float* __restrict x, const float* __restrict mean, float* __restrict acc, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const float d = x[j] - mean[j];
    acc[j] += d * d;
  }
}

// Batch-norm gradient sums: sg += dy, sgx += dy * (x - mean).
NOINLINE void BnGradSumsRow(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, float* __restrict sg,
                          float* __restrict sgx, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    sg[j] += dy[j];
    sgx[j] += dy[j] * (x[j] - mean[j]);
  }
}

// The same behind PReLU: z = x * scale + shift, g = z > 0 ? dy : dy * alpha; sg += g, sgx += g * (x - mean),
// sneg += dy * min(z, 0).
NOINLINE void BnPreluGradSumsRow(const float* __restrict dy, const float* __restrict x, const float* __restrict scale,
                               const float* __restrict shift, const float* __restrict alpha, const float* __restrict mean,
                               float* __restrict sg, float* __restrict sgx, float* __restrict sneg, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const float z = x[j] * scale[j] + shift[j];
    const float d = dy[j];
    const float a = alpha[j];
    const bool pos = z > 0.0f;
    const float g = pos ? d : d * a;
    sg[j] += g;
    sgx[j] += g * (x[j] - mean[j]);
    sneg[j] += pos ? 0.0f : d * z;
  }
}

// dx = a * dy + cx * (x - mean) + c0
NOINLINE void BnGradRow(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, const float* __restrict a,
                      const float* __restrict cx, const float* __restrict c0, float* __restrict dx, int64_t c) {
  for (int64_t j = 0; j < c; ++j) dx[j] = a[j] * dy[j] + cx[j] * (x[j] - mean[j]) + c0[j];
}

// The same behind PReLU (g as in BnPreluGradSumsRow instead of dy).
NOINLINE void BnPreluGradRow(const float* __restrict dy, const float* __restrict x, const float* __restrict scale,
                           const float* __restrict shift, const float* __restrict alpha, const float* __restrict mean,
                           const float* __restrict a, const float* __restrict cx, const float* __restrict c0, float* __restrict dx,
                           int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const float z = x[j] * scale[j] + shift[j];
    const float d = dy[j];
    const float al = alpha[j];
    const float g = z > 0.0f ? d : d * al;
    dx[j] = a[j] * g + cx[j] * (x[j] - mean[j]) + c0[j];
  }
}

// PReLU gradient: dx = x > 0 ? dy : dy * alpha, acc += dy * min(x, 0).
NOINLINE void PreluGradRow(const float* __restrict dy, const float* __restrict x, const float* __restrict alpha, float* __restrict dx,
                         float* __restrict acc, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const float v = x[j];
    const float d = dy[j];
    const float a = alpha[j];
    dx[j] = v > 0.0f ? d : d * a;
    acc[j] += v > 0.0f ? 0.0f : d * v;
  }
}

// Shape [rows, channels] and the optional per-channel arrays (empty Float32Array = absent) of the batch-norm kernels.
struct ChannelArgs {
  int64_t n = 0, c = 0;
  bool Get(napi_env env, napi_value v, const char* what) {
    std::vector<int64_t> p;
    if (!GetI32(env, v, "params", &p, 2)) return false;
    n = p[0];
    c = p[1];
    return !ThrowIf(env, n < 1 || c < 1, std::string(what) + ": invalid sizes");
  }
  // a must hold rows x channels values.
  bool Full(napi_env env, const Arr& a, const char* name) const { return Need(env, a, n * c, name); }
  // a must hold one value per channel, or be empty when optional.
  bool PerChannel(napi_env env, const Arr& a, const char* name, bool optional = false) const {
    return (optional && a.length == 0) || Need(env, a, c, name);
  }
};

const float* OrNull(const Arr& a) { return a.length > 0 ? a.data : nullptr; }

// batchNormForward's arithmetic on x [n, c]: mean, biased variance, rstd per channel, y = BN(x) (gamma null: 1), then
// PReLU(alpha) when alpha is not null.
void BatchNormForwardCompute(const float* xd, const float* gamma, const float* beta, const float* alpha, float* y, float* mean, float* var,
                             float* rstd, int64_t n, int64_t c, double eps) {
  std::vector<double> s1 = ColumnReduce(n, c, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) AddRow(xd + r * c, acc, c);
  });
  std::vector<float> m1(c);
  for (int64_t j = 0; j < c; ++j) {
    s1[j] /= static_cast<double>(n);
    m1[j] = static_cast<float>(s1[j]);
  }
  const float* mp = m1.data();
  const std::vector<double> s2 = ColumnReduce(n, c, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) AddSquaredDeviationRow(xd + r * c, mp, acc, c);
  });
  std::vector<float> scale(c), shift(c);
  for (int64_t j = 0; j < c; ++j) {
    const double v = s2[j] / static_cast<double>(n);
    const double rs = 1.0 / std::sqrt(v + eps);
    mean[j] = static_cast<float>(s1[j]);
    var[j] = static_cast<float>(v);
    rstd[j] = static_cast<float>(rs);
    const double a = rs * (gamma ? gamma[j] : 1.0f);
    scale[j] = static_cast<float>(a);
    shift[j] = static_cast<float>(beta[j] - s1[j] * a);
  }
  AffineRows(xd, scale.data(), shift.data(), alpha, y, n, c);
}

// As ops.ts: running = momentum * running + (1 - momentum) * batch (unbiased variance), in float. r = [mean (c),
// variance (c), momentum, 1 - momentum, (1 - momentum) n / (n - 1)]; out = [mean', variance'].
void RunningUpdate(const float* r, const float* mean, const float* var, float* out, int64_t c) {
  const float m = r[2 * c], a = r[2 * c + 1], av = r[2 * c + 2];
  for (int64_t j = 0; j < c; ++j) {
    out[j] = Materialize(r[j] * m) + Materialize(mean[j] * a);
    out[c + j] = Materialize(r[c + j] * m) + Materialize(var[j] * av);
  }
}

// batchNormForward(x, gamma|empty, beta, alpha|empty, y, mean, variance, rstd, [rows, channels], eps, running|empty,
// runningOut): running = [running mean (c), running variance (c), momentum, 1 - momentum, (1 - momentum) n / (n - 1)]
// gives runningOut = [the updated running mean, the updated running variance] (PyTorch's update, unbiased variance).
// mean and biased variance per channel (two passes: the second sums squared deviations from the first's mean),
// rstd = 1/sqrt(variance + eps), y = (x - mean) * rstd * gamma + beta, then PReLU(alpha) when alpha is given.
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!GetArgs(env, info, 12, argv)) return nullptr;
  Arr x, gamma, beta, alpha, y, mean, var, rstd, runIn, runOut;
  ChannelArgs g;
  double eps = 0;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "gamma", &gamma) || !GetF32(env, argv[2], "beta", &beta) ||
      !GetF32(env, argv[3], "alpha", &alpha) || !GetF32(env, argv[4], "y", &y) || !GetF32(env, argv[5], "mean", &mean) ||
      !GetF32(env, argv[6], "variance", &var) || !GetF32(env, argv[7], "rstd", &rstd) || !g.Get(env, argv[8], "batchNorm")) {
    return nullptr;
  }
  if (napi_get_value_double(env, argv[9], &eps) != napi_ok || !(eps >= 0)) {
    ThrowIf(env, true, "eps must be a non-negative number");
    return nullptr;
  }
  if (!g.Full(env, x, "x") || !g.Full(env, y, "y") || !g.PerChannel(env, beta, "beta") || !g.PerChannel(env, mean, "mean") ||
      !g.PerChannel(env, var, "variance") || !g.PerChannel(env, rstd, "rstd") || !g.PerChannel(env, gamma, "gamma", true) ||
      !g.PerChannel(env, alpha, "alpha", true)) {
    return nullptr;
  }
  // running statistics: [mean, variance] in, updated out, with [momentum, 1 - momentum, (1 - momentum) n / (n - 1)]
  if (!GetF32(env, argv[10], "running", &runIn) || !GetF32(env, argv[11], "runningOut", &runOut)) return nullptr;
  const bool running = runIn.length > 0;
  if (running && (!Need(env, runIn, 2 * g.c + 3, "running") || !Need(env, runOut, 2 * g.c, "runningOut"))) return nullptr;
  BatchNormForwardCompute(x.data, OrNull(gamma), beta.data, OrNull(alpha), y.data, mean.data, var.data, rstd.data, g.n, g.c, eps);
  if (running) RunningUpdate(runIn.data, mean.data, var.data, runOut.data, g.c);
  return nullptr;
}

// batchNormBackward's arithmetic on [n, c] (see below); gamma and alpha may be null (gamma 1, no PReLU; beta is read
// only with alpha, dalpha written only with it).
void BatchNormBackwardCompute(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma, const float* beta,
                              const float* alpha, float* dx, float* dgamma, float* dbeta, float* dalpha, int64_t n, int64_t c) {
  const bool prelu = alpha != nullptr;
  // the forward's scale and shift, to recompute the batch-norm output exactly as AffineRow did
  std::vector<float> scale(c), shift(c);
  for (int64_t j = 0; j < c; ++j) {
    const double a = static_cast<double>(rstd[j]) * (gamma ? gamma[j] : 1.0f);
    scale[j] = static_cast<float>(a);
    shift[j] = prelu ? static_cast<float>(beta[j] - static_cast<double>(mean[j]) * a) : 0.0f;
  }
  const float *dyd = dy, *xd = x, *md = mean, *sc = scale.data(), *sh = shift.data(), *al = alpha;
  // columns [0, c): g; [c, 2c): g * (x - mean); [2c, 3c): dy * min(z, 0) (PReLU only)
  const std::vector<double> sums = ColumnReduce(n, (prelu ? 3 : 2) * c, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) {
      if (prelu) {
        BnPreluGradSumsRow(dyd + r * c, xd + r * c, sc, sh, al, md, acc, acc + c, acc + 2 * c, c);
      } else {
        BnGradSumsRow(dyd + r * c, xd + r * c, md, acc, acc + c, c);
      }
    }
  });
  std::vector<float> a(c), cx(c), c0(c);
  for (int64_t j = 0; j < c; ++j) {
    const double rs = rstd[j];
    const double gm = gamma ? gamma[j] : 1.0;
    const double dg = sums[c + j] * rs;  // sum g * xhat
    dbeta[j] = static_cast<float>(sums[j]);
    dgamma[j] = static_cast<float>(dg);
    if (prelu) dalpha[j] = static_cast<float>(sums[2 * c + j]);
    // dx = aj * g + cx * (x - mean) + c0
    const double aj = gm * rs;
    a[j] = static_cast<float>(aj);
    cx[j] = static_cast<float>(-aj * rs * dg / static_cast<double>(n));
    c0[j] = static_cast<float>(-aj * sums[j] / static_cast<double>(n));
  }
  const float *ap = a.data(), *cxp = cx.data(), *c0p = c0.data();
  float* dxd = dx;
  ParallelRanges(n, MinRows(c), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      if (prelu) {
        BnPreluGradRow(dyd + r * c, xd + r * c, sc, sh, al, md, ap, cxp, c0p, dxd + r * c, c);
      } else {
        BnGradRow(dyd + r * c, xd + r * c, md, ap, cxp, c0p, dxd + r * c, c);
      }
    }
  });
}

// batchNormBackward(dy, x, mean, rstd, gamma|empty, beta, alpha|empty, dx, dgamma, dbeta, dalpha|empty, [rows, c]):
// the gradient of batchNormForward. With alpha, dy is the gradient of the PReLU output: the batch-norm output
// z = (x - mean) * rstd * gamma + beta is recomputed, g = dy * (z > 0 ? 1 : alpha), dalpha = sum dy * min(z, 0);
// without alpha, g = dy. Then xhat = (x - mean) * rstd, dbeta = sum g, dgamma = sum g * xhat,
// dx = gamma * rstd * (g - dbeta / n - xhat * dgamma / n). Two passes: sums, then dx.
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!GetArgs(env, info, 12, argv)) return nullptr;
  Arr dy, x, mean, rstd, gamma, beta, alpha, dx, dgamma, dbeta, dalpha;
  ChannelArgs g;
  if (!GetF32(env, argv[0], "dy", &dy) || !GetF32(env, argv[1], "x", &x) || !GetF32(env, argv[2], "mean", &mean) ||
      !GetF32(env, argv[3], "rstd", &rstd) || !GetF32(env, argv[4], "gamma", &gamma) || !GetF32(env, argv[5], "beta", &beta) ||
      !GetF32(env, argv[6], "alpha", &alpha) || !GetF32(env, argv[7], "dx", &dx) || !GetF32(env, argv[8], "dgamma", &dgamma) ||
      !GetF32(env, argv[9], "dbeta", &dbeta) || !GetF32(env, argv[10], "dalpha", &dalpha) || !g.Get(env, argv[11], "batchNorm")) {
    return nullptr;
  }
  const bool prelu = alpha.length > 0;
  if (!g.Full(env, dy, "dy") || !g.Full(env, x, "x") || !g.Full(env, dx, "dx") || !g.PerChannel(env, mean, "mean") ||
      !g.PerChannel(env, rstd, "rstd") || !g.PerChannel(env, dgamma, "dgamma") || !g.PerChannel(env, dbeta, "dbeta") ||
      !g.PerChannel(env, gamma, "gamma", true) || !g.PerChannel(env, beta, "beta", !prelu) || !g.PerChannel(env, alpha, "alpha", true) ||
      !g.PerChannel(env, dalpha, "dalpha", !prelu)) {
    return nullptr;
  }
  BatchNormBackwardCompute(dy.data, x.data, mean.data, rstd.data, OrNull(gamma), OrNull(beta), OrNull(alpha), dx.data, dgamma.data, dbeta.data,
                           dalpha.length > 0 ? dalpha.data : nullptr, g.n, g.c);
  return nullptr;
}

// channelAffine(x, mean, variance, gamma|empty, beta, alpha|empty, y, [rows, channels], eps): inference-mode batch
// norm with running statistics, y = (x - mean) / sqrt(variance + eps) * gamma + beta (scale and shift computed in
// double), then PReLU(alpha) when given.
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!GetArgs(env, info, 9, argv)) return nullptr;
  Arr x, mean, var, gamma, beta, alpha, y;
  ChannelArgs g;
  double eps = 0;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "mean", &mean) || !GetF32(env, argv[2], "variance", &var) ||
      !GetF32(env, argv[3], "gamma", &gamma) || !GetF32(env, argv[4], "beta", &beta) || !GetF32(env, argv[5], "alpha", &alpha) ||
      !GetF32(env, argv[6], "y", &y) || !g.Get(env, argv[7], "batchNorm")) {
    return nullptr;
  }
  if (napi_get_value_double(env, argv[8], &eps) != napi_ok || !(eps >= 0)) {
    ThrowIf(env, true, "eps must be a non-negative number");
    return nullptr;
  }
  if (!g.Full(env, x, "x") || !g.Full(env, y, "y") || !g.PerChannel(env, mean, "mean") || !g.PerChannel(env, var, "variance") ||
      !g.PerChannel(env, beta, "beta") || !g.PerChannel(env, gamma, "gamma", true) || !g.PerChannel(env, alpha, "alpha", true)) {
    return nullptr;
  }
  std::vector<float> scale(g.c), shift(g.c);
  for (int64_t j = 0; j < g.c; ++j) {
    const double a = (gamma.length ? gamma.data[j] : 1.0) / std::sqrt(static_cast<double>(var.data[j]) + eps);
    scale[j] = static_cast<float>(a);
    shift[j] = static_cast<float>(beta.data[j] - static_cast<double>(mean.data[j]) * a);
  }
  AffineRows(x.data, scale.data(), shift.data(), OrNull(alpha), y.data, g.n, g.c);
  return nullptr;
}

// preluBackward(dy, x, alpha, dx, dalpha, [rows, channels]): dx = dy * (x > 0 ? 1 : alpha),
// dalpha = sum dy * min(x, 0).
napi_value PreluBackward(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv)) return nullptr;
  Arr dy, x, alpha, dx, dalpha;
  ChannelArgs g;
  if (!GetF32(env, argv[0], "dy", &dy) || !GetF32(env, argv[1], "x", &x) || !GetF32(env, argv[2], "alpha", &alpha) ||
      !GetF32(env, argv[3], "dx", &dx) || !GetF32(env, argv[4], "dalpha", &dalpha) || !g.Get(env, argv[5], "prelu")) {
    return nullptr;
  }
  if (!g.Full(env, dy, "dy") || !g.Full(env, x, "x") || !g.Full(env, dx, "dx") || !g.PerChannel(env, alpha, "alpha") ||
      !g.PerChannel(env, dalpha, "dalpha")) {
    return nullptr;
  }
  const int64_t c = g.c;
  const float *dyd = dy.data, *xd = x.data, *al = alpha.data;
  float* dxd = dx.data;
  const std::vector<double> da = ColumnReduce(g.n, c, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) PreluGradRow(dyd + r * c, xd + r * c, al, dxd + r * c, acc, c);
  });
  for (int64_t j = 0; j < c; ++j) dalpha.data[j] = static_cast<float>(da[j]);
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Fused losses. A cosine margin head costs ~100 small tfjs kernels per view (forward and backward) and the CoReFace
// contrastive term ~60, for a few MFLOP: per-kernel overhead, not arithmetic, is their cost (issue 5). These do
// the same equations in one call each way; sums are in double, matrix products in BLAS.

constexpr double kNormEps = 1e-12;  // NORM_EPSILON of src/heads/functional.ts: floor of the squared norm
constexpr float kSinEps = 1e-12f;   // SIN_EPSILON: floor of 1 - cos^2 under ArcFace's square root

// Unit rows: xn[i] = x[i] / sqrt(max(|x[i]|^2, eps)); norm[i] = that root; live[i] = |x[i]|^2 >= eps (the norm's
// gradient flows only then, as tf.maximum's).
void UnitRows(const float* x, int64_t rows, int64_t e, float* xn, std::vector<float>* norm, std::vector<uint8_t>* live) {
  norm->resize(rows);
  live->resize(rows);
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = x + i * e;
    double ss = 0;
    for (int64_t k = 0; k < e; ++k) ss += static_cast<double>(r[k]) * r[k];
    const float n = static_cast<float>(std::sqrt(std::max(ss, kNormEps)));
    (*norm)[i] = n;
    (*live)[i] = ss >= kNormEps;
    for (int64_t k = 0; k < e; ++k) xn[i * e + k] = r[k] / n;
  }
}

// Unit columns of w [e, c] (the class weights): the same per column.
void UnitColumns(const float* w, int64_t e, int64_t c, float* wn, std::vector<float>* norm, std::vector<uint8_t>* live) {
  std::vector<double> ss(c, 0.0);
  for (int64_t k = 0; k < e; ++k) {
    const float* r = w + k * c;
    for (int64_t j = 0; j < c; ++j) ss[j] += static_cast<double>(r[j]) * r[j];
  }
  norm->resize(c);
  live->resize(c);
  for (int64_t j = 0; j < c; ++j) {
    (*norm)[j] = static_cast<float>(std::sqrt(std::max(ss[j], kNormEps)));
    (*live)[j] = ss[j] >= kNormEps;
  }
  for (int64_t k = 0; k < e; ++k) {
    for (int64_t j = 0; j < c; ++j) wn[k * c + j] = w[k * c + j] / (*norm)[j];
  }
}

// Gradient through the unit rows: dx = d/n - x (d . x) / n^3 (the second term only where live).
void UnitRowsGrad(const float* x, const float* d, int64_t rows, int64_t e, const std::vector<float>& norm,
                  const std::vector<uint8_t>& live, float* dx) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = x + i * e;
    const float* g = d + i * e;
    double dot = 0;
    for (int64_t k = 0; k < e; ++k) dot += static_cast<double>(g[k]) * r[k];
    const double n = norm[i];
    const double coef = live[i] ? dot / (n * n * n) : 0.0;
    for (int64_t k = 0; k < e; ++k) dx[i * e + k] = static_cast<float>(g[k] / n - r[k] * coef);
  }
}

// The same through the unit columns of w [e, c].
void UnitColumnsGrad(const float* w, const float* d, int64_t e, int64_t c, const std::vector<float>& norm,
                     const std::vector<uint8_t>& live, float* dw) {
  std::vector<double> dot(c, 0.0);
  for (int64_t k = 0; k < e; ++k) {
    for (int64_t j = 0; j < c; ++j) dot[j] += static_cast<double>(d[k * c + j]) * w[k * c + j];
  }
  std::vector<double> coef(c);
  for (int64_t j = 0; j < c; ++j) {
    const double n = norm[j];
    coef[j] = live[j] ? dot[j] / (n * n * n) : 0.0;
  }
  for (int64_t k = 0; k < e; ++k) {
    for (int64_t j = 0; j < c; ++j) dw[k * c + j] = static_cast<float>(d[k * c + j] / norm[j] - w[k * c + j] * coef[j]);
  }
}

inline float Clip1(float v) { return std::min(1.0f, std::max(-1.0f, v)); }
inline bool InClip(float v) { return v >= -1.0f && v <= 1.0f; }  // tf.clipByValue passes the gradient here

// The label column's target phi(c) of the cosine heads, c = clipped cos t_y:
// phi = alpha c - beta sqrt(max(1 - c^2, 1e-12)) - gamma (ArcFace: alpha = cos m, beta = sin m; CosFace:
// alpha 1, gamma m; NormFace: alpha 1), and with easy = 1 insightface's c - fallback where c <= threshold.
struct Target {
  float s, alpha, beta, gamma, easy, threshold, fallback;
  static constexpr size_t kParams = 7;
  // From the kParams floats of the kernels' `target` argument, in the order above.
  static Target From(const float* p) { return Target{p[0], p[1], p[2], p[3], p[4], p[5], p[6]}; }
  void Eval(float c, float* phi, float* dphi) const {
    float p = c * alpha - gamma;
    float d = alpha;
    if (beta != 0.0f) {
      const float t = 1.0f - c * c;
      const float sn = std::sqrt(std::max(t, kSinEps));
      p -= sn * beta;
      if (t >= kSinEps) d += beta * c / sn;
    }
    if (easy != 0.0f && !(c - threshold > 0.0f)) {
      p = c - fallback;
      d = 1.0f;
    }
    *phi = p;
    *dphi = d;
  }
};

bool GetF32Exact(napi_env env, napi_value v, const char* name, size_t n, Arr* out) {
  return GetF32(env, v, name, out) && !ThrowIf(env, out->length != n, std::string(name) + " must hold " + std::to_string(n) + " values");
}

bool GetLabels(napi_env env, napi_value v, int64_t n, int64_t classes, std::vector<int64_t>* out) {
  if (!GetI32(env, v, "labels", out, static_cast<size_t>(n))) return false;
  for (int64_t i = 0; i < n; ++i) {
    if (ThrowIf(env, (*out)[i] < 0 || (*out)[i] >= classes,
                "label " + std::to_string((*out)[i]) + " at " + std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")")) {
      return false;
    }
  }
  return true;
}

// exp(x) in float, branch-free so that loops of it vectorise (Cephes' expf: Cody-Waite reduction by ln 2, degree-5
// polynomial; relative error below 1e-7 over [-87, 88], checked against double exp). x is clamped to [-87, 88]: below -87 it returns exp(-87) ~ 1.6e-38 instead of
// less, which no sum of softmax terms notices.
inline float FastExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // adding 1.5 2^23 rounds x / ln 2 to an integer n held in t's low mantissa bits (no float-to-int conversion, which
  // GCC does not vectorise under the default trapping-math)
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float q = 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  q = q * r * r + r + 1.0f;
  uint32_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  const uint32_t bits = (tb - 0x4B400000u + 127u) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return q * scale;
}

// ex = exp(z - mx) over a row.
NOINLINE void ExpShiftedRow(const float* __restrict z, float mx, float* __restrict ex, int64_t c) {
  for (int64_t j = 0; j < c; ++j) ex[j] = FastExp(z[j] - mx);
}

// max of z[0, c), over 16 lanes (vectorises; the maximum is exact, so the order does not matter).
NOINLINE float RowMax(const float* __restrict z, int64_t c) {
  float m[16];
  std::fill(m, m + 16, -std::numeric_limits<float>::infinity());
  int64_t j = 0;
  for (; j + 16 <= c; j += 16) {
    for (int k = 0; k < 16; ++k) m[k] = z[j + k] > m[k] ? z[j + k] : m[k];
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (int k = 0; k < 16; ++k) mx = std::max(mx, m[k]);
  for (; j < c; ++j) mx = std::max(mx, z[j]);
  return mx;
}

// sum of z[0, c) (non-negative terms): 16 float lanes, added in double.
NOINLINE double RowSum(const float* __restrict z, int64_t c) {
  float m[16] = {};
  int64_t j = 0;
  for (; j + 16 <= c; j += 16) {
    for (int k = 0; k < 16; ++k) m[k] += z[j + k];
  }
  double sum = 0;
  for (int k = 0; k < 16; ++k) sum += m[k];
  for (; j < c; ++j) sum += z[j];
  return sum;
}

// z = s * clip(raw)
NOINLINE void ScaledClipRow(const float* __restrict raw, float s, float* __restrict z, int64_t c) {
  for (int64_t j = 0; j < c; ++j) z[j] = s * Clip1(raw[j]);
}

// Margin logits of row b (z = s clip(raw), label column s phi) and their log-sum-exp; fills z and ex = exp(z - max z)
// and returns sum ex in *se.
double MarginRow(const Target& t, const float* raw, int64_t c, int64_t y, float* z, float* ex, double* se, float* dphi) {
  ScaledClipRow(raw, t.s, z, c);
  float phi;
  t.Eval(Clip1(raw[y]), &phi, dphi);
  z[y] = t.s * phi;
  const float mx = RowMax(z, c);
  ExpShiftedRow(z, mx, ex, c);
  const double sum = RowSum(ex, c);
  *se = sum;
  return mx + std::log(sum);
}



// marginCE(x [B,E], w [E,C], loss [1], logits [B,C], raw [B,C], labels Int32 [B], [B, E, C], target Float32 [7]):
// raw = unit(x) unit(w) (unclipped), logits = s clip(raw), loss = mean_b CE(margin logits of row b, y_b).
// MarginCECompute is the computation (xn [B,E] and wn [E,C] scratch), callable off the JS thread; MarginCE below
// parses the arguments.
void MarginCECompute(const float* x, const float* w, int64_t b, int64_t e, int64_t c, const std::vector<int64_t>& labels, const Target& t,
                     float* xn, float* wn, float* loss, float* logits, float* raw) {
  std::vector<float> xnorm, wnorm;
  std::vector<uint8_t> xlive, wlive;
  UnitRows(x, b, e, xn, &xnorm, &xlive);
  UnitColumns(w, e, c, wn, &wnorm, &wlive);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, c, e, 1.0f, xn, e, wn, c, 0.0f, raw, c);
  std::vector<double> rowLoss(b);
  ParallelRanges(b, MinRows(c), [&](int64_t i0, int64_t i1, int) {  // rows of c exps: serial below 2^16 logits
    std::vector<float> zr(c), ex(c);
    for (int64_t i = i0; i < i1; ++i) {
      const float* r = raw + i * c;
      for (int64_t j = 0; j < c; ++j) logits[i * c + j] = t.s * Clip1(r[j]);
      float dphi;
      double se;
      const double lse = MarginRow(t, r, c, labels[i], zr.data(), ex.data(), &se, &dphi);
      rowLoss[i] = lse - zr[labels[i]];
    }
  });
  double total = 0;
  for (int64_t i = 0; i < b; ++i) total += rowLoss[i];
  loss[0] = static_cast<float>(total / static_cast<double>(b));
}

napi_value MarginCE(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!GetArgs(env, info, 8, argv)) return nullptr;
  Arr x, w, loss, logits, raw, tp;
  std::vector<int64_t> p, labels;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "w", &w) || !GetF32(env, argv[2], "loss", &loss) ||
      !GetF32(env, argv[3], "logits", &logits) || !GetF32(env, argv[4], "raw", &raw) || !GetI32(env, argv[6], "params", &p, 3) ||
      !GetF32Exact(env, argv[7], "target", Target::kParams, &tp)) {
    return nullptr;
  }
  const int64_t b = p[0], e = p[1], c = p[2];
  if (ThrowIf(env, b < 1 || e < 1 || c < 1, "marginCE: invalid sizes") || !GetLabels(env, argv[5], b, c, &labels) ||
      !Need(env, x, b * e, "x") || !Need(env, w, e * c, "w") || !Need(env, loss, 1, "loss") || !Need(env, logits, b * c, "logits") ||
      !Need(env, raw, b * c, "raw")) {
    return nullptr;
  }
  const Target t = Target::From(tp.data);
  MarginCECompute(x.data, w.data, b, e, c, labels, t, Scratch(0, b * e), Scratch(1, e * c), loss.data, logits.data, raw.data);
  return nullptr;
}

// marginCEGrad(x, w, raw, dloss [1], dlogits [B,C], dx [B,E], dw [E,C], labels, [B, E, C], target): the gradients
// of dloss * loss + sum(dlogits * logits) of marginCE with respect to x and w.
// MarginCEGradCompute is the computation (xn, wn, dcos, dxn, dwn scratch of B E, E C, B C, B E, E C), callable off the
// JS thread; MarginCEGrad below parses the arguments.
void MarginCEGradCompute(const float* x, const float* w, const float* raw, float dloss, const float* dlogits, int64_t b, int64_t e, int64_t c,
                         const std::vector<int64_t>& labels, const Target& t, float* xn, float* wn, float* dcos, float* dxn, float* dwn,
                         float* dx, float* dw) {
  std::vector<float> xnorm, wnorm;
  std::vector<uint8_t> xlive, wlive;
  UnitRows(x, b, e, xn, &xnorm, &xlive);
  UnitColumns(w, e, c, wn, &wnorm, &wlive);
  const double scale = static_cast<double>(dloss) / static_cast<double>(b);
  ParallelRanges(b, MinRows(c), [&](int64_t i0, int64_t i1, int) {  // rows of c exps: serial below 2^16 logits
    std::vector<float> zr(c), ex(c);
    for (int64_t i = i0; i < i1; ++i) {
      const float* r = raw + i * c;
      const int64_t y = labels[i];
      float dphi;
      double se;
      MarginRow(t, r, c, y, zr.data(), ex.data(), &se, &dphi);
      const double inv = 1.0 / se;
      float* d = dcos + i * c;
      const float* dl = dlogits + i * c;
      for (int64_t j = 0; j < c; ++j) {  // softmax - one-hot, through phi' at the label
        const double g = (ex[j] * inv - (j == y ? 1.0 : 0.0)) * scale;
        const double dz = t.s * g * (j == y ? dphi : 1.0f) + t.s * static_cast<double>(dl[j]);
        d[j] = InClip(r[j]) ? static_cast<float>(dz) : 0.0f;
      }
    }
  });
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, e, c, 1.0f, dcos, c, wn, c, 0.0f, dxn, e);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, e, c, b, 1.0f, xn, e, dcos, c, 0.0f, dwn, c);
  UnitRowsGrad(x, dxn, b, e, xnorm, xlive, dx);
  UnitColumnsGrad(w, dwn, e, c, wnorm, wlive, dw);
}

napi_value MarginCEGrad(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!GetArgs(env, info, 10, argv)) return nullptr;
  Arr x, w, raw, dloss, dlogits, dx, dw, tp;
  std::vector<int64_t> p, labels;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "w", &w) || !GetF32(env, argv[2], "raw", &raw) ||
      !GetF32(env, argv[3], "dloss", &dloss) || !GetF32(env, argv[4], "dlogits", &dlogits) || !GetF32(env, argv[5], "dx", &dx) ||
      !GetF32(env, argv[6], "dw", &dw) || !GetI32(env, argv[8], "params", &p, 3) ||
      !GetF32Exact(env, argv[9], "target", Target::kParams, &tp)) {
    return nullptr;
  }
  const int64_t b = p[0], e = p[1], c = p[2];
  if (ThrowIf(env, b < 1 || e < 1 || c < 1, "marginCEGrad: invalid sizes") || !GetLabels(env, argv[7], b, c, &labels) ||
      !Need(env, x, b * e, "x") || !Need(env, w, e * c, "w") || !Need(env, raw, b * c, "raw") || !Need(env, dloss, 1, "dloss") ||
      !Need(env, dlogits, b * c, "dlogits") || !Need(env, dx, b * e, "dx") || !Need(env, dw, e * c, "dw")) {
    return nullptr;
  }
  const Target t = Target::From(tp.data);
  MarginCEGradCompute(x.data, w.data, raw.data, dloss.data[0], dlogits.data, b, e, c, labels, t, Scratch(0, b * e), Scratch(1, e * c),
                      Scratch(2, b * c), Scratch(3, b * e), Scratch(4, e * c), dx.data, dw.data);
  return nullptr;
}

// CoReFace's contrastive term on two views a, b [N, E] (src/coreface/contrastive.ts). Every protocol is a block of
// the Gram matrix G = z z^T of the unit rows z = [a^; b^] (2N x 2N): anchor rows r (N for one-way-n, else 2N), the
// candidate columns of row r (one-way-n: the b block; two-way-n: the other view's block; 2n: all), the positive
// column (r + N) mod 2N, the anchor itself (2n only, always out), and "same" columns: another image with the
// anchor's label. mask 0 = zero (S := 0, no gradient), 1 = exclude (out of the softmax), 2 = none.
struct Contrast {
  int64_t n, e, protocol, mask;
  static constexpr size_t kParams = 4;
  int64_t Rows() const { return protocol == 0 ? n : 2 * n; }
  int64_t ColBegin(int64_t r) const { return protocol == 2 ? 0 : (protocol == 1 && r >= n ? 0 : n); }
  int64_t ColEnd(int64_t r) const { return protocol == 2 ? 2 * n : ColBegin(r) + n; }
  int64_t Pos(int64_t r) const { return (r + n) % (2 * n); }
  bool Self(int64_t r, int64_t j) const { return protocol == 2 && j == r; }
  bool Same(const std::vector<int64_t>& lab, int64_t r, int64_t j) const { return j % n != r % n && lab[j % n] == lab[r % n]; }
};

bool GetContrast(napi_env env, napi_value pv, napi_value lv, Contrast* g, std::vector<int64_t>* labels) {
  std::vector<int64_t> p;
  if (!GetI32(env, pv, "params", &p, Contrast::kParams)) return false;
  *g = Contrast{p[0], p[1], p[2], p[3]};
  if (ThrowIf(env, g->n < 1 || g->e < 1 || g->protocol < 0 || g->protocol > 2 || g->mask < 0 || g->mask > 2,
              "contrastive: invalid sizes, protocol or mask")) {
    return false;
  }
  return GetLabels(env, lv, g->n, std::numeric_limits<int32_t>::max(), labels);
}

// The two views a, b (arguments 0 and 1, each [N, E]), the params at argv[pi] and the labels at argv[li].
bool GetViews(napi_env env, const napi_value* argv, size_t pi, size_t li, Arr* a, Arr* b, Contrast* c, std::vector<int64_t>* labels) {
  return GetF32(env, argv[0], "a", a) && GetF32(env, argv[1], "b", b) && GetContrast(env, argv[pi], argv[li], c, labels) &&
         Need(env, *a, c->n * c->e, "a") && Need(env, *b, c->n * c->e, "b");
}

// z = [a^; b^] with norms, and G = z z^T.
struct Gram {
  std::vector<float> z, g, anorm, bnorm;
  std::vector<uint8_t> alive, blive;
  Gram(const Contrast& c, const float* a, const float* b) : z(2 * c.n * c.e), g(4 * c.n * c.n) {
    UnitRows(a, c.n, c.e, z.data(), &anorm, &alive);
    UnitRows(b, c.n, c.e, z.data() + c.n * c.e, &bnorm, &blive);
    const int64_t m = 2 * c.n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, c.e, 1.0f, z.data(), c.e, z.data(), c.e, 0.0f, g.data(), m);
  }
  float At(const Contrast& c, int64_t r, int64_t j) const { return g[r * 2 * c.n + j]; }
};

// contrastStats(a, b, pos [R], neg [R], labels [N], [N, E, protocol, mask]): pos_r = S[r, p(r)],
// neg_r = max(0, max of S over the row's candidates other than p(r), itself and masked same-label columns).
napi_value ContrastStats(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv)) return nullptr;
  Arr a, b, pos, neg;
  Contrast c{};
  std::vector<int64_t> labels;
  if (!GetViews(env, argv, 5, 4, &a, &b, &c, &labels) || !GetF32(env, argv[2], "pos", &pos) || !GetF32(env, argv[3], "neg", &neg) ||
      !Need(env, pos, c.Rows(), "pos") || !Need(env, neg, c.Rows(), "neg")) {
    return nullptr;
  }
  const Gram gr(c, a.data, b.data);
  for (int64_t r = 0; r < c.Rows(); ++r) {
    const int64_t p = c.Pos(r);
    pos.data[r] = Clip1(gr.At(c, r, p));
    float mx = 0.0f;
    for (int64_t j = c.ColBegin(r); j < c.ColEnd(r); ++j) {
      if (j == p || c.Self(r, j) || (c.mask != 2 && c.Same(labels, r, j))) continue;
      mx = std::max(mx, Clip1(gr.At(c, r, j)));
    }
    neg.data[r] = mx;
  }
  return nullptr;
}

// Logits of row r: z_j = s (S_j - m [j = p(r)]) over the row's candidates, S_j := 0 for masked-zero columns;
// `in[j]` says whether column j takes part (self and excluded columns do not). Returns the log-sum-exp.
double ContrastRow(const Contrast& c, const Gram& gr, const std::vector<int64_t>& labels, float s, float m, int64_t r,
                   float* z, uint8_t* in, uint8_t* zeroed) {
  const int64_t j0 = c.ColBegin(r), j1 = c.ColEnd(r), p = c.Pos(r);
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = j0; j < j1; ++j) {
    const bool same = c.Same(labels, r, j);
    in[j - j0] = !(c.Self(r, j) || (c.mask == 1 && same));
    zeroed[j - j0] = c.mask == 0 && same;
    const float sv = zeroed[j - j0] ? 0.0f : Clip1(gr.At(c, r, j));
    z[j - j0] = s * (sv - (j == p ? m : 0.0f));
    if (in[j - j0]) mx = std::max(mx, z[j - j0]);
  }
  double se = 0;
  for (int64_t k = 0; k < j1 - j0; ++k) {
    if (in[k]) se += std::exp(static_cast<double>(z[k]) - mx);
  }
  return mx + std::log(se);
}

// contrastLoss(a, b, loss [1], labels, params, [s, m]): mean over anchor rows of CE(z_r, p(r)).
// ContrastLossCompute is the computation, callable off the JS thread; ContrastLoss below parses the arguments.
float ContrastLossCompute(const Contrast& c, const float* a, const float* b, const std::vector<int64_t>& labels, float s, float m) {
  const Gram gr(c, a, b);
  std::vector<float> z(2 * c.n);
  std::vector<uint8_t> in(2 * c.n), zeroed(2 * c.n);
  double total = 0;
  for (int64_t r = 0; r < c.Rows(); ++r) {
    const double lse = ContrastRow(c, gr, labels, s, m, r, z.data(), in.data(), zeroed.data());
    total += lse - z[c.Pos(r) - c.ColBegin(r)];
  }
  return static_cast<float>(total / static_cast<double>(c.Rows()));
}

napi_value ContrastLoss(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv)) return nullptr;
  Arr a, b, loss, sm;
  Contrast c{};
  std::vector<int64_t> labels;
  if (!GetViews(env, argv, 4, 3, &a, &b, &c, &labels) || !GetF32(env, argv[2], "loss", &loss) ||
      !GetF32Exact(env, argv[5], "scaleMargin", 2, &sm) || !Need(env, loss, 1, "loss")) {
    return nullptr;
  }
  loss.data[0] = ContrastLossCompute(c, a.data, b.data, labels, sm.data[0], sm.data[1]);
  return nullptr;
}

// contrastGrad(a, b, dloss [1], da, db, labels, params, [s, m]): gradients of dloss * contrastLoss.
// ContrastGradCompute is the computation, callable off the JS thread; ContrastGrad below parses the arguments.
void ContrastGradCompute(const Contrast& c, const float* a, const float* b, float dloss, const std::vector<int64_t>& labels, float sm0, float sm1,
                         float* da, float* db) {
  const Gram gr(c, a, b);
  const int64_t m2 = 2 * c.n;
  std::vector<float> z(m2), dg(m2 * m2, 0.0f), sym(m2 * m2), dz(m2 * c.e);
  std::vector<uint8_t> in(m2), zeroed(m2);
  const double s = sm0;
  const double scale = static_cast<double>(dloss) / static_cast<double>(c.Rows());
  for (int64_t r = 0; r < c.Rows(); ++r) {
    const double lse = ContrastRow(c, gr, labels, sm0, sm1, r, z.data(), in.data(), zeroed.data());
    const int64_t j0 = c.ColBegin(r), p = c.Pos(r);
    for (int64_t j = j0; j < c.ColEnd(r); ++j) {
      const int64_t k = j - j0;
      if (!in[k] || zeroed[k] || !InClip(gr.At(c, r, j))) continue;
      const double g = (std::exp(static_cast<double>(z[k]) - lse) - (j == p ? 1.0 : 0.0)) * scale;
      dg[r * m2 + j] = static_cast<float>(s * g);
    }
  }
  // G = z z^T, so dz = (dG + dG^T) z
  for (int64_t i = 0; i < m2; ++i) {
    for (int64_t j = 0; j < m2; ++j) sym[i * m2 + j] = dg[i * m2 + j] + dg[j * m2 + i];
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m2, c.e, m2, 1.0f, sym.data(), m2, gr.z.data(), c.e, 0.0f, dz.data(), c.e);
  UnitRowsGrad(a, dz.data(), c.n, c.e, gr.anorm, gr.alive, da);
  UnitRowsGrad(b, dz.data() + c.n * c.e, c.n, c.e, gr.bnorm, gr.blive, db);
}

napi_value ContrastGrad(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!GetArgs(env, info, 8, argv)) return nullptr;
  Arr a, b, dloss, da, db, sm;
  Contrast c{};
  std::vector<int64_t> labels;
  if (!GetViews(env, argv, 6, 5, &a, &b, &c, &labels) || !GetF32(env, argv[2], "dloss", &dloss) || !GetF32(env, argv[3], "da", &da) ||
      !GetF32(env, argv[4], "db", &db) || !GetF32Exact(env, argv[7], "scaleMargin", 2, &sm) || !Need(env, dloss, 1, "dloss") ||
      !Need(env, da, c.n * c.e, "da") || !Need(env, db, c.n * c.e, "db")) {
    return nullptr;
  }
  ContrastGradCompute(c, a.data, b.data, dloss.data[0], labels, sm.data[0], sm.data[1], da.data, db.data);
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// CoReFace's two-view objective (src/backends/native-composite.ts): the margin CE on view 1, and the margin CE on
// view 2 plus the contrastive term, as two parts that run on two OpenMP threads when there are two (else one after
// the other). Each part runs the same serial code as the single kernels above with scratch of its own, so results
// do not depend on the thread count and equal the single kernels' bit for bit.

// Runs a() and b(), on two threads when gThreads >= 2 (nested parallel loops inside them then run on one thread,
// with the same partition into parts, so the same arithmetic).
template <class A, class B>
void RunPair(A&& a, B&& b) {
  if (gThreads < 2) {
    a();
    b();
    return;
  }
#pragma omp parallel num_threads(2)
  {
    if (omp_get_thread_num() == 0) a();
    else b();
  }
}

// Parses [B, E, C, contrast (0/1), protocol, mask], the labels, the target and [s, m] of the two-view functions.
bool GetTwoView(napi_env env, napi_value pv, napi_value lv, napi_value tv, napi_value smv, int64_t* b, int64_t* e, int64_t* c, Contrast* con,
                bool* withContrast, std::vector<int64_t>* labels, Arr* tp, Arr* sm) {
  std::vector<int64_t> p;
  if (!GetI32(env, pv, "params", &p, 6) || !GetF32Exact(env, tv, "target", Target::kParams, tp) || !GetF32Exact(env, smv, "scaleMargin", 2, sm)) return false;
  *b = p[0];
  *e = p[1];
  *c = p[2];
  *withContrast = p[3] != 0;
  *con = Contrast{p[0], p[1], p[4], p[5]};
  if (ThrowIf(env, *b < 1 || *e < 1 || *c < 1 || con->protocol < 0 || con->protocol > 2 || con->mask < 0 || con->mask > 2,
              "twoViewObjective: invalid sizes, protocol or mask")) {
    return false;
  }
  return GetLabels(env, lv, *b, *c, labels);
}

// twoViewObjective(x1, x2, w, terms [3], logits1, logits2, raw1, raw2, labels, params, target, [s, m]):
// terms = [CE(x1), CE(x2), contrastLoss(x1, x2) or untouched without the contrastive term].
napi_value TwoViewObjective(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!GetArgs(env, info, 12, argv)) return nullptr;
  Arr x1, x2, w, terms, logits1, logits2, raw1, raw2, tp, sm;
  int64_t b = 0, e = 0, c = 0;
  Contrast con{};
  bool withContrast = false;
  std::vector<int64_t> labels;
  if (!GetF32(env, argv[0], "x1", &x1) || !GetF32(env, argv[1], "x2", &x2) || !GetF32(env, argv[2], "w", &w) ||
      !GetF32(env, argv[3], "terms", &terms) || !GetF32(env, argv[4], "logits1", &logits1) || !GetF32(env, argv[5], "logits2", &logits2) ||
      !GetF32(env, argv[6], "raw1", &raw1) || !GetF32(env, argv[7], "raw2", &raw2) ||
      !GetTwoView(env, argv[9], argv[8], argv[10], argv[11], &b, &e, &c, &con, &withContrast, &labels, &tp, &sm) ||
      !Need(env, x1, b * e, "x1") || !Need(env, x2, b * e, "x2") || !Need(env, w, e * c, "w") || !Need(env, terms, 3, "terms") ||
      !Need(env, logits1, b * c, "logits1") || !Need(env, logits2, b * c, "logits2") || !Need(env, raw1, b * c, "raw1") || !Need(env, raw2, b * c, "raw2")) {
    return nullptr;
  }
  const Target t = Target::From(tp.data);
  // reused scratch (fresh buffers of this size cost page faults and zeroing on every call), taken before the region
  float* xnA = Scratch(0, b * e);
  float* wnA = Scratch(1, e * c);
  float* xnB = Scratch(kPairSlot, b * e + e * c);
  float* wnB = xnB + b * e;
  RunPair([&] { MarginCECompute(x1.data, w.data, b, e, c, labels, t, xnA, wnA, terms.data, logits1.data, raw1.data); },
          [&] {
            MarginCECompute(x2.data, w.data, b, e, c, labels, t, xnB, wnB, terms.data + 1, logits2.data, raw2.data);
            if (withContrast) terms.data[2] = ContrastLossCompute(con, x1.data, x2.data, labels, sm.data[0], sm.data[1]);
          });
  return nullptr;
}

// twoViewObjectiveGrad(x1, x2, w, raw1, raw2, dterms [3], zeros [B C], dx1, dx2, dw, labels, params, target, [s, m]):
// the gradients of dterms[0] CE(x1) + dterms[1] CE(x2) + dterms[2] contrastLoss(x1, x2), each view's and term's
// gradient computed on its own and then added in float32 (as tfjs's tape adds them).
napi_value TwoViewObjectiveGrad(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!GetArgs(env, info, 14, argv)) return nullptr;
  Arr x1, x2, w, raw1, raw2, dterms, zeros, dx1, dx2, dw, tp, sm;
  int64_t b = 0, e = 0, c = 0;
  Contrast con{};
  bool withContrast = false;
  std::vector<int64_t> labels;
  if (!GetF32(env, argv[0], "x1", &x1) || !GetF32(env, argv[1], "x2", &x2) || !GetF32(env, argv[2], "w", &w) ||
      !GetF32(env, argv[3], "raw1", &raw1) || !GetF32(env, argv[4], "raw2", &raw2) || !GetF32(env, argv[5], "dterms", &dterms) ||
      !GetF32(env, argv[6], "zeros", &zeros) || !GetF32(env, argv[7], "dx1", &dx1) || !GetF32(env, argv[8], "dx2", &dx2) ||
      !GetF32(env, argv[9], "dw", &dw) ||
      !GetTwoView(env, argv[11], argv[10], argv[12], argv[13], &b, &e, &c, &con, &withContrast, &labels, &tp, &sm) ||
      !Need(env, x1, b * e, "x1") || !Need(env, x2, b * e, "x2") || !Need(env, w, e * c, "w") || !Need(env, raw1, b * c, "raw1") ||
      !Need(env, raw2, b * c, "raw2") || !Need(env, dterms, 3, "dterms") || !Need(env, zeros, b * c, "zeros") || !Need(env, dx1, b * e, "dx1") ||
      !Need(env, dx2, b * e, "dx2") || !Need(env, dw, e * c, "dw")) {
    return nullptr;
  }
  const Target t = Target::From(tp.data);
  const int64_t part = 2 * b * e + 2 * e * c + b * c;
  float* sA = Scratch(kPairSlot + 1, part);
  float* sB = Scratch(kPairSlot + 2, part);
  float* dx2ce = Scratch(kPairSlot + 3, 3 * b * e + e * c);
  float* da = dx2ce + b * e;
  float* db = da + b * e;
  float* dw2 = db + b * e;
  const auto grad = [&](const float* x, const float* raw, float dl, float* s, float* dx, float* dwv) {
    MarginCEGradCompute(x, w.data, raw, dl, zeros.data, b, e, c, labels, t, s, s + b * e, s + b * e + e * c, s + b * e + e * c + b * c,
                        s + 2 * b * e + e * c + b * c, dx, dwv);
  };
  RunPair([&] { grad(x1.data, raw1.data, dterms.data[0], sA, dx1.data, dw.data); },
          [&] {
            grad(x2.data, raw2.data, dterms.data[1], sB, dx2ce, dw2);
            if (withContrast) ContrastGradCompute(con, x1.data, x2.data, dterms.data[2], labels, sm.data[0], sm.data[1], da, db);
          });
  for (int64_t i = 0; i < e * c; ++i) dw.data[i] += dw2[i];
  if (withContrast) {
    for (int64_t i = 0; i < b * e; ++i) {
      dx1.data[i] += da[i];
      dx2.data[i] = dx2ce[i] + db[i];
    }
  } else {
    std::memcpy(dx2.data, dx2ce, sizeof(float) * b * e);
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Inverted dropout with tfjs's mask: tf.randomUniform(shape, 0, 1, 'float32', seed) draws seedrandom's alea
// generator seeded with String(seed), one double per element, stored as float32; ops.ts keeps u >= p and scales by
// float32(1 / (1 - p)). The generator below is alea reproduced bit for bit (every double operation in the same
// order; the empty asm statements keep the compiler from fusing a product and a sum into one FMA, which rounds
// once instead of twice), so the native mask equals the tfjs one exactly.


// JavaScript's ToUint32 for a finite non-negative double.
inline double ToUint32(double h) { return std::fmod(std::trunc(h), 4294967296.0); }

// After seeding, alea's state values are multiples of 2^-32 in [0, 1) and its carry an integer below 2^21, so
// t = 2091639 s0 + c 2^-32 is exact in double (t 2^32 < 2^53): the generator is a multiply-with-carry in integers,
// T = 2091639 K0 + C, C' = T >> 32, K' = T mod 2^32, u = K' 2^-32, which Next() computes (same values, ~3x faster
// than the double recurrence; the test compares the masks with tfjs's bit for bit).
class Alea {
 public:
  explicit Alea(const std::u16string& seed) {
    n_ = 4022871197.0;  // 0xefc8249d
    double s0 = Mash(u" ");
    double s1 = Mash(u" ");
    double s2 = Mash(u" ");
    s0 -= Mash(seed);
    if (s0 < 0) s0 += 1;
    s1 -= Mash(seed);
    if (s1 < 0) s1 += 1;
    s2 -= Mash(seed);
    if (s2 < 0) s2 += 1;
    k0_ = static_cast<uint64_t>(s0 * 4294967296.0);
    k1_ = static_cast<uint64_t>(s1 * 4294967296.0);
    k2_ = static_cast<uint64_t>(s2 * 4294967296.0);
  }
  // The next value times 2^32 (an integer in [0, 2^32)).
  uint32_t Next() {
    const uint64_t t = 2091639ull * k0_ + c_;
    k0_ = k1_;
    k1_ = k2_;
    c_ = t >> 32;
    k2_ = t & 0xffffffffull;
    return static_cast<uint32_t>(k2_);
  }

 private:
  double Mash(const std::u16string& data) {
    for (const char16_t ch : data) {
      n_ += static_cast<double>(ch);
      double h = Materialize(0.02519603282416938 * n_);
      n_ = ToUint32(h);
      h -= n_;
      h = Materialize(h * n_);
      n_ = ToUint32(h);
      h -= n_;
      n_ += Materialize(h * 4294967296.0);
    }
    return Materialize(ToUint32(n_) * 2.3283064365386963e-10);
  }
  double n_ = 0;
  uint64_t k0_ = 0, k1_ = 0, k2_ = 0, c_ = 1;
};

// mask = float32(k 2^-32) >= p ? scale : 0, y = x * mask. float32(k 2^-32) = float32(k) 2^-32: scaling by a power of
// two commutes with rounding (no subnormals here). Branch-free (a branch on random bits mispredicts half the time).
NOINLINE void DropoutApply(const uint32_t* __restrict k, const float* __restrict x, float* __restrict mask, float* __restrict y,
                           int64_t n, float p, float scale) {
  for (int64_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(k[i]) * 2.3283064365386963e-10f;
    const float m = u >= p ? scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

// dropout's arithmetic on n values.
void DropoutCompute(const float* x, float* y, float* mask, int64_t n, double p, const std::u16string& seed) {
  Alea rng(seed);
  std::vector<uint32_t> k(n);
  for (int64_t i = 0; i < n; ++i) k[i] = rng.Next();  // the serial part; the rest vectorises
  DropoutApply(k.data(), x, mask, y, n, static_cast<float>(p), static_cast<float>(1.0 / (1.0 - p)));
}

// The string value of argument v (a dropout seed) as UTF-16; false (with a JS exception) when it is not a string.
bool GetU16(napi_env env, napi_value v, const char* what, std::u16string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf16(env, v, nullptr, 0, &len) != napi_ok) {
    ThrowIf(env, true, std::string(what) + " must be a string");
    return false;
  }
  out->assign(len, u'\0');
  napi_get_value_string_utf16(env, v, out->data(), len + 1, &len);
  return true;
}

// dropout(x, y, mask, p, seed): u_i = float32(alea(seed)_i), mask_i = u_i >= float32(p) ? float32(1 / (1 - p)) : 0,
// y = x * mask.
napi_value Dropout(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!GetArgs(env, info, 5, argv)) return nullptr;
  Arr x, y, mask;
  double p = 0;
  if (!GetF32(env, argv[0], "x", &x) || !GetF32(env, argv[1], "y", &y) || !GetF32(env, argv[2], "mask", &mask)) return nullptr;
  if (napi_get_value_double(env, argv[3], &p) != napi_ok || !(p >= 0 && p < 1)) {
    ThrowIf(env, true, "dropout: p must be a number in [0, 1)");
    return nullptr;
  }
  std::u16string seed;
  if (!GetU16(env, argv[4], "dropout: seed", &seed)) return nullptr;
  const int64_t n = static_cast<int64_t>(x.length);
  if (!Need(env, y, n, "y") || !Need(env, mask, n, "mask")) return nullptr;
  DropoutCompute(x.data, y.data, mask.data, n, p, seed);
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Elementwise steps of the composite kernels (src/backends/native-composite.ts), each rounded as the tfjs kernels they
// replace: addInPlace(out, x): out = out + x (tfjs Add); mulMask(out, dy, mask, accumulate): out = dy * mask (tfjs
// Multiply), or with accumulate out = out + (dy * mask) with the product rounded first (Multiply, then Add).
napi_value AddInPlace(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!GetArgs(env, info, 2, argv)) return nullptr;
  Arr out, x;
  if (!GetF32(env, argv[0], "out", &out) || !GetF32(env, argv[1], "x", &x)) return nullptr;
  const int64_t n = static_cast<int64_t>(out.length);
  if (!Need(env, x, n, "x")) return nullptr;
  float* o = out.data;
  const float* a = x.data;
  for (int64_t i = 0; i < n; ++i) o[i] += a[i];
  return nullptr;
}

napi_value MulMask(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv)) return nullptr;
  Arr out, dy, mask;
  bool accumulate = false;
  if (!GetF32(env, argv[0], "out", &out) || !GetF32(env, argv[1], "dy", &dy) || !GetF32(env, argv[2], "mask", &mask)) return nullptr;
  if (ThrowIf(env, napi_get_value_bool(env, argv[3], &accumulate) != napi_ok, "mulMask: accumulate must be a boolean")) return nullptr;
  const int64_t n = static_cast<int64_t>(out.length);
  if (!Need(env, dy, n, "dy") || !Need(env, mask, n, "mask")) return nullptr;
  float* o = out.data;
  const float* d = dy.data;
  const float* m = mask.data;
  if (accumulate) {
    for (int64_t i = 0; i < n; ++i) o[i] += Materialize(d[i] * m[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = d[i] * m[i];
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// SGD with momentum over all parameters in one call (src/train/sgd.ts semantics): the gradient norms (all
// parameters, and those flagged for clipping), then per element g' = g * (flagged ? clipScale : 1) + wd * w,
// v' = momentum * v + g', w' = w - lr * v'. The update is skipped when the total norm is not finite.

// Arrays of Float32Array argument `v` (a JS array), each checked against `lengths` when given.
bool GetF32List(napi_env env, napi_value v, const char* name, std::vector<Arr>* out) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (ThrowIf(env, !isArray, std::string(name) + " must be an array of Float32Array")) return false;
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  out->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!GetF32(env, e, name, &(*out)[i])) return false;
  }
  return true;
}

NOINLINE double SumSquares(const float* __restrict g, int64_t n) {
  // float partial sums of 256 elements (vectorised), added in double
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    const int64_t i1 = std::min(n, i0 + 256);
    float part = 0.0f;
    for (int64_t i = i0; i < i1; ++i) part += g[i] * g[i];
    total += part;
  }
  return total;
}

NOINLINE void SgdRange(const float* __restrict w, const float* __restrict g, const float* __restrict v, float* __restrict wOut,
                       float* __restrict vOut, int64_t n, float gScale, float wd, float momentum, float lr) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * gScale + wd * w[i];
    const float vi = momentum * v[i] + gi;
    vOut[i] = vi;
    wOut[i] = w[i] - lr * vi;
  }
}

// sgdStep(ws[], gs[], vs[], wOut[], vOut[], clip Int32Array (1 = in the clipped group), [clipNorm, lr, momentum,
// weightDecay] Float64Array, norms Float32Array [2]): norms = [clipped group's norm, total norm].
napi_value SgdStep(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!GetArgs(env, info, 8, argv)) return nullptr;
  std::vector<Arr> ws, gs, vs, wo, vo;
  Arr norms;
  if (!GetF32List(env, argv[0], "w", &ws) || !GetF32List(env, argv[1], "g", &gs) || !GetF32List(env, argv[2], "v", &vs) ||
      !GetF32List(env, argv[3], "wOut", &wo) || !GetF32List(env, argv[4], "vOut", &vo) || !GetF32(env, argv[7], "norms", &norms) ||
      !Need(env, norms, 2, "norms")) {
    return nullptr;
  }
  const size_t k = ws.size();
  std::vector<int64_t> clip;
  if (!GetI32(env, argv[5], "clip", &clip, k)) return nullptr;
  bool isTa = false;
  napi_is_typedarray(env, argv[6], &isTa);
  napi_typedarray_type type = napi_int8_array;
  size_t hn = 0;
  void* hd = nullptr;
  napi_value ab;
  size_t off;
  if (isTa) napi_get_typedarray_info(env, argv[6], &type, &hn, &hd, &ab, &off);
  if (ThrowIf(env, !isTa || type != napi_float64_array || hn != 4, "hyper must be a Float64Array [clipNorm, lr, momentum, weightDecay]")) return nullptr;
  const double* hyper = static_cast<const double*>(hd);
  for (size_t i = 0; i < k; ++i) {
    const int64_t n = static_cast<int64_t>(ws[i].length);
    if (ThrowIf(env, gs.size() != k || vs.size() != k || wo.size() != k || vo.size() != k, "sgdStep: the five lists must have the same length") ||
        !Need(env, gs[i], n, "g") || !Need(env, vs[i], n, "v") || !Need(env, wo[i], n, "wOut") || !Need(env, vo[i], n, "vOut")) {
      return nullptr;
    }
  }
  // Work items: contiguous chunks of at most kChunk elements of one parameter, in parameter order.
  constexpr int64_t kChunk = 1 << 15;
  struct Item {
    size_t param;
    int64_t begin, end;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < k; ++i) {
    const int64_t n = static_cast<int64_t>(ws[i].length);
    for (int64_t b = 0; b < n; b += kChunk) items.push_back({i, b, std::min(n, b + kChunk)});
  }
  const int64_t m = static_cast<int64_t>(items.size());
  std::vector<double> sq(m);
  ParallelRanges(m, 2, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) sq[i] = SumSquares(gs[items[i].param].data + items[i].begin, items[i].end - items[i].begin);
  });
  double clipped = 0, total = 0;
  for (int64_t i = 0; i < m; ++i) {  // item order: deterministic whatever the threads
    total += sq[i];
    if (clip[items[i].param]) clipped += sq[i];
  }
  clipped = std::sqrt(clipped);
  total = std::sqrt(total);
  norms.data[0] = static_cast<float>(clipped);
  norms.data[1] = static_cast<float>(total);
  if (!std::isfinite(total)) return nullptr;
  const double clipNorm = hyper[0];
  const float clipScale = clipNorm > 0 && clipped > clipNorm ? static_cast<float>(clipNorm / (clipped + 1e-6)) : 1.0f;
  const float lr = static_cast<float>(hyper[1]), momentum = static_cast<float>(hyper[2]), wd = static_cast<float>(hyper[3]);
  ParallelRanges(m, 2, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const Item& it = items[i];
      const size_t p = it.param;
      SgdRange(ws[p].data + it.begin, gs[p].data + it.begin, vs[p].data + it.begin, wo[p].data + it.begin, vo[p].data + it.begin,
               it.end - it.begin, clip[p] ? clipScale : 1.0f, wd, momentum, lr);
    }
  });
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  int32_t n = 0;
  if (napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > kMaxThreads) {
    ThrowIf(env, true, "threads must be an integer in [1, " + std::to_string(kMaxThreads) + "]");
    return nullptr;
  }
  // One thread pool: OpenMP (oneDNN and every loop of ours). OpenBLAS runs single-threaded inside our parallel parts;
  // its own worker threads would compete with the OpenMP ones for the cores (issue 17: with both pools, the
  // im2col path at 2 threads was slower than at 1).
  openblas_set_num_threads(1);
  omp_set_num_threads(n);
  gThreads = n;
  return nullptr;
}

// setConvEngine(engine): 1 = oneDNN (when built with it), 0 = im2col + BLAS; returns the previous one. Tests run
// both; the default is oneDNN whenever it is built in.
napi_value SetConvEngine(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  int32_t e = -1;
  napi_get_value_int32(env, argv[0], &e);
#ifdef COREFACE_DNNL
  const bool ok = e == kEngineBlas || e == kEngineDnnl;
#else
  const bool ok = e == kEngineBlas;
#endif
  if (ThrowIf(env, !ok, "conv engine must be 0 (BLAS)" + std::string(kHaveDnnl ? " or 1 (oneDNN)" : " (built without oneDNN)"))) return nullptr;
  napi_value prev;
  napi_create_int32(env, gConvEngine, &prev);
  gConvEngine = e;
  return prev;
}

// setColumnBudget(floats): the im2col chunk budget; returns the previous value.
napi_value SetColumnBudget(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  int64_t n = 0;
  if (napi_get_value_int64(env, argv[0], &n) != napi_ok || n < 1) {
    ThrowIf(env, true, "the column budget must be a positive integer");
    return nullptr;
  }
  napi_value prev;
  napi_create_int64(env, kMaxColFloats, &prev);
  kMaxColFloats = n;
  return prev;
}

napi_value Info(napi_env env, napi_callback_info /*info*/) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  const char* config = openblas_get_config();
  napi_create_string_utf8(env, config ? config : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blas", v);
  const char* core = openblas_get_corename();
  napi_create_string_utf8(env, core ? core : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "core", v);
  napi_create_int32(env, gThreads, &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_int32(env, 1, &v);
  napi_set_named_property(env, obj, "abi", v);
#ifdef COREFACE_DNNL
  const dnnl_version_t* ver = dnnl_version();
  const std::string dnnl = "oneDNN " + std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
#else
  const std::string dnnl;
#endif
  napi_create_string_utf8(env, dnnl.c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "dnnl", v);
  napi_create_int32(env, gConvEngine, &v);
  napi_set_named_property(env, obj, "convEngine", v);
  napi_value calls;
  napi_create_array_with_length(env, 2, &calls);
  for (uint32_t i = 0; i < 2; ++i) {
    napi_create_int64(env, gConvCalls[i], &v);
    napi_set_element(env, calls, i, v);
  }
  napi_set_named_property(env, obj, "convCalls", calls);
  return obj;
}

// ---------------------------------------------------------------------------------------------------------------
// The composite neck's two views one per thread (src/backends/native-composite.ts, two threads or more): each view's
// dropout, matmuls and batch norm are the single kernels' code above (nested loops run on one thread with the same
// partition; the matmuls use a oneDNN plan made on the JS thread and a stream of their own), and what couples the
// views (the running statistics, the sums of the views' gradients) runs after the region in the single kernels'
// order. So the results equal the single kernels' as long as oneDNN's matmul gives one thread the sums it gives two
// (test/backends/composite.test.ts holds them to it bit for bit at the machine's thread count).

// A matmul of fixed shape for the parts of RunPair: its oneDNN plan made here on the JS thread (none: OpenBLAS).
struct PairMatMul {
  int64_t m, k, n;
  bool ta, tb;
#ifdef COREFACE_DNNL
  dn::MatMulPlan* plan = nullptr;
#endif
  PairMatMul(int64_t m_, int64_t k_, int64_t n_, bool ta_, bool tb_) : m(m_), k(k_), n(n_), ta(ta_), tb(tb_) {
#ifdef COREFACE_DNNL
    if (gConvEngine == kEngineDnnl && k > 0) {
      plan = dn::MatMulPlanFor(1, 1, m, k, n, ta, tb);
      dn::ReserveScratch(plan, 1);
      dn::ReserveScratch(plan, 2);
      dn::Stream();  // the streams exist before a part uses one
    }
#endif
  }
  // y = op(a) op(b) as batchMatMul computes it, on part `part`'s stream.
  void Run(const float* a, const float* b, float* y, int part) const {
    if (k == 0) {
      std::memset(y, 0, sizeof(float) * m * n);
      return;
    }
#ifdef COREFACE_DNNL
    if (plan && dn::RunMatMul(plan, const_cast<float*>(a), const_cast<float*>(b), y, 1 + part)) return;
#else
    (void)part;
#endif
    BlasMatMul(1, 1, m, k, n, ta, tb, a, b, y);
  }
};

// neckPair(arrays, [B, D, E, dropout (0/1)], p, seed1, seed2, eps): per view v (one per thread) d_v = dropout_p(h;
// seed_v) (h itself without dropout), z_v = d_v fc, x_v = BN1d(z_v) with gamma 1 (mean, biased variance, rstd); then
// running' = update(update(running, view 1), view 2). arrays = [h, fc, beta, d1, d2, mask1, mask2, z1, z2, x1, x2,
// mean1, mean2, var1, var2, rstd1, rstd2, running (2E + 3, as batchNormForward), runningOut (2E)]; d and mask may be
// empty without dropout.
napi_value NeckPair(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!GetArgs(env, info, 6, argv)) return nullptr;
  std::vector<Arr> a;
  std::vector<int64_t> q;
  double p = 0, eps = 0;
  std::u16string seed1, seed2;
  if (!GetF32List(env, argv[0], "arrays", &a) || !GetI32(env, argv[1], "params", &q, 4) || !GetU16(env, argv[3], "neckPair: seed1", &seed1) ||
      !GetU16(env, argv[4], "neckPair: seed2", &seed2)) {
    return nullptr;
  }
  if (ThrowIf(env, a.size() != 19, "neckPair: 19 arrays expected")) return nullptr;
  if (ThrowIf(env, napi_get_value_double(env, argv[2], &p) != napi_ok || !(p >= 0 && p < 1), "neckPair: p must be a number in [0, 1)") ||
      ThrowIf(env, napi_get_value_double(env, argv[5], &eps) != napi_ok || !(eps >= 0), "neckPair: eps must be a non-negative number")) {
    return nullptr;
  }
  const int64_t b = q[0], d = q[1], e = q[2];
  const bool drop = q[3] != 0;
  if (ThrowIf(env, b < 2 || d < 1 || e < 1, "neckPair: invalid sizes")) return nullptr;
  const int64_t need[19] = {b * d, d * e, e, drop ? b * d : 0, drop ? b * d : 0, drop ? b * d : 0, drop ? b * d : 0, b * e, b * e, b * e, b * e,
                            e, e, e, e, e, e, 2 * e + 3, 2 * e};
  for (int i = 0; i < 19; ++i) {
    if (!Need(env, a[i], need[i], "neckPair array")) return nullptr;
  }
  const PairMatMul mm(b, d, e, false, false);
  const auto view = [&](int v) {
    const float* in = a[0].data;
    if (drop) {
      DropoutCompute(a[0].data, a[3 + v].data, a[5 + v].data, b * d, p, v == 0 ? seed1 : seed2);
      in = a[3 + v].data;
    }
    mm.Run(in, a[1].data, a[7 + v].data, v);
    BatchNormForwardCompute(a[7 + v].data, nullptr, a[2].data, nullptr, a[9 + v].data, a[11 + v].data, a[13 + v].data, a[15 + v].data, b, e, eps);
  };
  RunPair([&] { view(0); }, [&] { view(1); });
  std::vector<float> mid(a[17].data, a[17].data + 2 * e + 3);  // view 1's update, then the same momentum terms
  RunningUpdate(a[17].data, a[11].data, a[13].data, mid.data(), e);
  RunningUpdate(mid.data(), a[12].data, a[14].data, a[18].data, e);
  return nullptr;
}

// neckPairGrad(arrays, [B, D, E, dropout (0/1)]): the gradient of neckPair's x1, x2 (dx = [dx1; dx2]) per view, one per
// thread: dz_v = BN1d'(dx_v), dfc_v = d_v^T dz_v, dd_v = dz_v fc^T, dh_v = dd_v * mask_v; then dh = dh_1 + dh_2
// (mulMask's rounding), dfc = dfc_1 + dfc_2, dbeta = dbeta_1 + dbeta_2, as the single kernels add them.
// arrays = [dx (2BE), h, fc, z (2BE), mean (2E), rstd (2E), d (2BD), mask (2BD), dh, dfc, dbeta, then scratch: dz1, dz2,
// dgamma1, dgamma2, dd1, dd2, dfc2, dbeta2]; d and mask may be empty without dropout.
napi_value NeckPairGrad(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!GetArgs(env, info, 2, argv)) return nullptr;
  std::vector<Arr> a;
  std::vector<int64_t> q;
  if (!GetF32List(env, argv[0], "arrays", &a) || !GetI32(env, argv[1], "params", &q, 4)) return nullptr;
  if (ThrowIf(env, a.size() != 19, "neckPairGrad: 19 arrays expected")) return nullptr;
  const int64_t b = q[0], d = q[1], e = q[2];
  const bool drop = q[3] != 0;
  if (ThrowIf(env, b < 2 || d < 1 || e < 1, "neckPairGrad: invalid sizes")) return nullptr;
  const int64_t need[19] = {2 * b * e, b * d, d * e, 2 * b * e, 2 * e, 2 * e, drop ? 2 * b * d : 0, drop ? 2 * b * d : 0, b * d, d * e, e,
                            b * e, b * e, e, e, b * d, b * d, d * e, e};
  for (int i = 0; i < 19; ++i) {
    if (!Need(env, a[i], need[i], "neckPairGrad array")) return nullptr;
  }
  float *dh = a[8].data, *dfc = a[9].data, *dbeta = a[10].data;
  const PairMatMul mmW(d, b, e, true, false), mmX(b, e, d, false, true);
  const auto view = [&](int v) {
    float* dz = a[11 + v].data;
    BatchNormBackwardCompute(a[0].data + v * b * e, a[3].data + v * b * e, a[4].data + v * e, a[5].data + v * e, nullptr, nullptr, nullptr, dz,
                             a[13 + v].data, v == 0 ? dbeta : a[18].data, nullptr, b, e);
    mmW.Run(drop ? a[6].data + v * b * d : a[1].data, dz, v == 0 ? dfc : a[17].data, v);
    float* dd = v == 0 && !drop ? dh : a[15 + v].data;
    mmX.Run(dz, a[2].data, dd, v);
    if (v == 0 && drop) {
      const float* m = a[7].data;
      for (int64_t i = 0; i < b * d; ++i) dh[i] = dd[i] * m[i];
    }
  };
  RunPair([&] { view(0); }, [&] { view(1); });
  const float* dd2 = a[16].data;
  if (drop) {
    const float* m = a[7].data + b * d;
    for (int64_t i = 0; i < b * d; ++i) dh[i] += Materialize(dd2[i] * m[i]);
  } else {
    for (int64_t i = 0; i < b * d; ++i) dh[i] += dd2[i];
  }
  for (int64_t i = 0; i < d * e; ++i) dfc[i] += a[17].data[i];
  for (int64_t i = 0; i < e; ++i) dbeta[i] += a[18].data[i];
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseConv2d", nullptr, DepthwiseKernel<DwKind::kForward>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropInput", nullptr, DepthwiseKernel<DwKind::kBackpropInput>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropFilter", nullptr, DepthwiseKernel<DwKind::kBackpropFilter>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumMiddle", nullptr, SumMiddle, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchMatMul", nullptr, BatchMatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelAffine", nullptr, ChannelAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"preluBackward", nullptr, PreluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"marginCE", nullptr, MarginCE, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"marginCEGrad", nullptr, MarginCEGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"contrastStats", nullptr, ContrastStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"contrastLoss", nullptr, ContrastLoss, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"contrastGrad", nullptr, ContrastGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"twoViewObjective", nullptr, TwoViewObjective, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"twoViewObjectiveGrad", nullptr, TwoViewObjectiveGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setColumnBudget", nullptr, SetColumnBudget, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dropout", nullptr, Dropout, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"neckPair", nullptr, NeckPair, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"neckPairGrad", nullptr, NeckPairGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addInPlace", nullptr, AddInPlace, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mulMask", nullptr, MulMask, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setConvEngine", nullptr, SetConvEngine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
