// classify: names the object in a picture with a MobileNet through WASI-NN, as the
// original WasmEdge + Dapr demo's classify function did.
//
// Input: image bytes on stdin (JPEG, PNG, GIF, BMP, WebP). Output: the demo's sentence,
// or with `Accept: application/json` (or the argument --json) the top 5 labels.
// A WASI command: under `edgecar serve` it is a WAGI function (CGI headers are written
// when GATEWAY_INTERFACE is set), under `edgecar run` a command-line program.
//
// Environment: MODEL (preloaded graph name, default "mobilenet"), LABELS (default
// "/labels/labels_mobilenet_quant_v1_224.txt"), INPUT_SIZE (default 224).
#include <string>
#include <vector>

#include "../common.hpp"
#include "edgecar_image.h"
#include "wasi_nn.h"

namespace {

using demo::env_or;
using demo::fail;

std::vector<std::string> read_labels(const char* path) {
  std::vector<std::string> labels;
  FILE* f = std::fopen(path, "r");
  if (!f) fail(500, "labels", std::string("cannot open the labels file ") + path);
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    size_t n = std::strcspn(line, "\r\n");
    labels.emplace_back(line, n);
  }
  std::fclose(f);
  return labels;
}

std::string json_string(const std::string& s) {
  return "\"" + demo::json_escape(s) + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  bool json = std::strstr(env_or("HTTP_ACCEPT", ""), "application/json") != nullptr;
  for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;

  std::vector<uint8_t> image = demo::read_stdin();
  if (image.empty()) fail(400, "empty", "no image in the request body");
  demo::rate_limit("classify");
  uint32_t size = static_cast<uint32_t>(std::atoi(env_or("INPUT_SIZE", "224")));
  if (size == 0 || size > 4096) fail(500, "config", "INPUT_SIZE must be 1 to 4096");

  edgecar_image_info info;
  int32_t e = edgecar_image_info_of(image.data(), static_cast<uint32_t>(image.size()), &info);
  if (e == EDGECAR_IMAGE_UNSUPPORTED)
    fail(415, "unsupported", "not an image (JPEG, PNG, GIF, BMP or WebP expected)");
  if (e == EDGECAR_IMAGE_TOO_LARGE) fail(413, "too_large", "the image has too many pixels");
  if (e != EDGECAR_IMAGE_OK) fail(400, "corrupt", "the image could not be decoded");
  std::vector<uint8_t> pixels(static_cast<size_t>(size) * size * 3);
  e = edgecar_image_resize_rgb8(image.data(), static_cast<uint32_t>(image.size()), size, size,
                                pixels.data(), static_cast<uint32_t>(pixels.size()));
  if (e != EDGECAR_IMAGE_OK) fail(400, "corrupt", "the image could not be decoded");

  const char* model = env_or("MODEL", "mobilenet");
  uint32_t graph = 0, ctx = 0;
  if (wasi_nn_load_by_name(model, static_cast<uint32_t>(std::strlen(model)), &graph) !=
      WASI_NN_SUCCESS)
    fail(500, "model",
         std::string("no model named ") + model +
             " (preload it: nn_preload in the manifest, --nn-preload for edgecar run)");
  if (wasi_nn_init_execution_context(graph, &ctx) != WASI_NN_SUCCESS)
    fail(500, "model", "init_execution_context failed");
  uint32_t dims[] = {1, size, size, 3};
  wasi_nn_tensor input = {dims, 4, WASI_NN_TYPE_U8, pixels.data(),
                          static_cast<uint32_t>(pixels.size())};
  if (wasi_nn_set_input(ctx, 0, &input) != WASI_NN_SUCCESS)
    fail(500, "model", "the model does not take a uint8 image of this size (INPUT_SIZE)");
  if (wasi_nn_compute(ctx) != WASI_NN_SUCCESS) fail(500, "model", "inference failed");
  std::vector<uint8_t> scores(4096);
  uint32_t written = 0;
  if (wasi_nn_get_output(ctx, 0, scores.data(), static_cast<uint32_t>(scores.size()), &written) !=
      WASI_NN_SUCCESS)
    fail(500, "model", "get_output failed");
  scores.resize(written);

  std::vector<std::string> labels =
      read_labels(env_or("LABELS", "/labels/labels_mobilenet_quant_v1_224.txt"));
  auto label = [&](size_t i) { return i < labels.size() ? labels[i] : std::string("Unknown"); };
  // Top 5, highest score first (ties: lower index first).
  std::vector<size_t> top;
  for (int k = 0; k < 5 && k < static_cast<int>(scores.size()); ++k) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < scores.size(); ++i) {
      bool taken = false;
      for (size_t t : top) taken = taken || t == i;
      if (!taken && (best == SIZE_MAX || scores[i] > scores[best])) best = i;
    }
    top.push_back(best);
  }
  if (top.empty()) fail(500, "model", "the model produced no scores");

  // The original demo's wording, thresholds and all.
  unsigned v = scores[top[0]];
  std::string name = label(top[0]), sentence;
  std::string link = "<a href='https://www.google.com/search?q=" + name + "'>" + name + "</a>";
  if (v > 200)
    sentence = "It is very likely a " + link + " in the picture";
  else if (v > 125)
    sentence = "It is likely a " + link + " in the picture";
  else if (v > 50)
    sentence = "It could be a " + link + " in the picture";
  else
    sentence = "It does not appears to be any food item in the picture.";

  demo::record("classify", image.size());
  if (json) {
    std::string out = "{\"sentence\":" + json_string(sentence) + ",\"top\":[";
    for (size_t k = 0; k < top.size(); ++k) {
      char score[32];
      std::snprintf(score, sizeof score, "%.4f", scores[top[k]] / 255.0);
      out += (k ? "," : "") + std::string("{\"label\":") + json_string(label(top[k])) +
             ",\"index\":" + std::to_string(top[k]) + ",\"score\":" + score +
             ",\"raw\":" + std::to_string(scores[top[k]]) + "}";
    }
    out += "]}";
    if (demo::cgi()) std::printf("Content-Type: application/json\n\n");
    std::printf("%s\n", out.c_str());
  } else {
    if (demo::cgi()) std::printf("Content-Type: text/plain; charset=utf-8\n\n");
    std::printf("%s", sentence.c_str());
    if (!demo::cgi()) std::printf("\n");
  }
  return 0;
}
