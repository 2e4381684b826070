// WASI-NN with hostile models and hostile tensors, through the functions a guest imports.
// The first byte picks the attack:
//   - even: the rest is a TensorFlow Lite model handed to `load`. By default edgecar
//     refuses guest models (TensorFlow Lite is not hardened against hostile models: this
//     target's first campaign found one that made it allocate 58 GB in compute), and the
//     refusal is what is checked. With EDGECAR_FUZZ_NN_GUEST_MODELS=1 they are allowed and
//     an execution runs on each model that loads: that fuzzes TensorFlow Lite itself;
//   - odd: calls on a real preloaded model (EDGECAR_FUZZ_NN_MODEL, the small float
//     model scripts/fuzz builds): set_input with any rank, dimensions, type, pointers and
//     lengths, compute, get_output into buffers of any size and place, finalize, unload.
// What must hold: every call returns an nn_errno (no trap, no crash, no sanitizer report).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "edgecar/edgecar.hpp"
#include "edgecar/nn.hpp"

using namespace edgecar;

namespace {

constexpr uint32_t kName = 0x100, kTensor = 0x200, kDims = 0x300, kOut = 0x400, kBuilder = 0x500,
                   kData = 0x1000;

struct World {
  std::shared_ptr<const Module> guest;
  nn::Options options;
  nn::GraphSet graphs;  // "m" when EDGECAR_FUZZ_NN_MODEL names a loadable model
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    if (auto ok = nn::tflite_available(); !ok) {
      std::fprintf(stderr, "fuzz_nn: %s\n", ok.error().to_string().c_str());
      std::abort();
    }
    auto m = Module::from_file(EDGECAR_FUZZ_NN_GUEST);
    if (!m) std::abort();
    w->guest = *m;
    const char* allow = std::getenv("EDGECAR_FUZZ_NN_GUEST_MODELS");
    w->options.allow_guest_models = allow && std::string_view(allow) == "1";
    if (const char* path = std::getenv("EDGECAR_FUZZ_NN_MODEL")) {
      auto g = nn::load_preload({"m", nn::Encoding::TensorFlowLite, nn::Target::Cpu, path});
      if (!g) {
        std::fprintf(stderr, "fuzz_nn: %s\n", g.error().to_string().c_str());
        std::abort();
      }
      w->graphs["m"] = *g;
    } else {
      std::fprintf(stderr, "fuzz_nn: EDGECAR_FUZZ_NN_MODEL unset: only hostile models are tried\n");
    }
    return w;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  if (size < 1) return 0;
  nn::Context ctx(w.graphs, w.options);
  Store store;
  ctx.attach(store);
  auto inst = store.instantiate(w.guest, nn::Context::shared_functions().imports());
  if (!inst) std::abort();
  Memory& mem = *(*inst)->get_memory("memory");
  auto call = [&](const char* name, std::vector<uint32_t> args) -> int32_t {
    std::vector<Value> v;
    for (uint32_t a : args) v.push_back(Value::i32(static_cast<int32_t>(a)));
    auto r = store.call(*inst, name, v);
    if (!r) {
      std::fprintf(stderr, "fuzz_nn: %s trapped: %s\n", name, r.error().to_string().c_str());
      std::abort();
    }
    return (*r)[0].as_i32();
  };
  auto put_u32 = [&](uint32_t at, uint32_t v) { std::memcpy(mem.data() + at, &v, 4); };
  auto get_u32 = [&](uint32_t at) {
    uint32_t v;
    std::memcpy(&v, mem.data() + at, 4);
    return v;
  };
  uint32_t data_room = static_cast<uint32_t>(mem.size_bytes()) - kData;

  if (data[0] % 2 == 0) {
    size_t len = std::min<size_t>(size - 1, data_room);
    std::memcpy(mem.data() + kData, data + 1, len);
    put_u32(kBuilder, kData);
    put_u32(kBuilder + 4, static_cast<uint32_t>(len));
    int32_t loaded = call("load", {kBuilder, 1, 4, 0, kOut});
    if (!w.options.allow_guest_models &&
        loaded != static_cast<int32_t>(nn::Errno::UnsupportedOperation)) {
      std::fprintf(stderr, "fuzz_nn: a guest model was not refused (nn_errno %d)\n", loaded);
      std::abort();
    }
    if (loaded != 0) return 0;
    uint32_t graph = get_u32(kOut);
    if (call("init_execution_context", {graph, kOut}) != 0) return 0;
    // The model's own shapes are not known here: compute on what set_input leaves (the
    // runtime's zeroed buffers) and read the first outputs into a large buffer.
    uint32_t exec = get_u32(kOut);
    call("compute", {exec});
    for (uint32_t i = 0; i < 4; i++) call("get_output", {exec, i, kData, data_room, kOut});
    call("finalize_execution_context", {exec});
    call("unload", {graph});
    return 0;
  }
  if (w.graphs.empty()) return 0;

  FuzzedDataProvider in(data + 1, size - 1);
  std::memcpy(mem.data() + kName, "m", 1);
  call("load_by_name", {kName, in.ConsumeBool() ? 1u : in.ConsumeIntegralInRange(0u, 8u), kOut});
  call("init_execution_context", {in.ConsumeIntegralInRange(0u, 2u), kOut});
  uint32_t computes = 0;
  auto any_u32 = [&](uint32_t plausible) {
    switch (in.ConsumeIntegralInRange(0, 7)) {
      case 0:
        return in.ConsumeIntegral<uint32_t>();
      case 1:
        return plausible + in.ConsumeIntegralInRange(0u, 8u) - 4;
      default:
        return plausible;
    }
  };
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: {  // set_input: tensor {dims_ptr, dims_len, type, data_ptr, data_len}
        // The model's input is f32 [1,8,8,3]; everything about it may be wrong.
        uint32_t dims[8] = {1, 8, 8, 3, 1, 1, 1, 1};
        uint32_t rank = any_u32(4);
        for (uint32_t i = 0; i < 8; i++) dims[i] = any_u32(dims[i]);
        std::memcpy(mem.data() + kDims, dims, sizeof dims);
        put_u32(kTensor, any_u32(kDims));
        put_u32(kTensor + 4, rank);
        put_u32(kTensor + 8, any_u32(1) & (in.ConsumeBool() ? 0xff : 0xffffffff));
        put_u32(kTensor + 12, any_u32(kData));
        put_u32(kTensor + 16, any_u32(8 * 8 * 3 * 4));
        call("set_input", {any_u32(0), any_u32(0), any_u32(kTensor)});
        break;
      }
      case 1:
        if (computes++ < 3) call("compute", {any_u32(0)});
        break;
      case 2:  // get_output(ctx, index, out_ptr, out_len, written_ptr)
        call("get_output", {any_u32(0), any_u32(0), any_u32(kData), any_u32(5 * 4), any_u32(kOut)});
        break;
      case 3:
        call("finalize_execution_context", {any_u32(0)});
        break;
      case 4:
        call("unload", {any_u32(0)});
        break;
      case 5:
        call("init_execution_context", {any_u32(0), any_u32(kOut)});
        break;
    }
  }
  return 0;
}
