// A WAGI guest's output (CGI headers, then the body) on arbitrary bytes: a response,
// never a crash, and the body never larger than the output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "serve/wagi.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string out(reinterpret_cast<const char*>(data), size);
  auto r = edgecar::serve::parse_cgi_output(out);
  if (r.body.size() > size || r.status < 100 || r.status > 599) std::abort();
  return 0;
}
