// edgecar_image as a host module: stateless apart from the caller's memory.
#include "host/host_module.hpp"
#include "edgecar/image.hpp"

namespace edgecar::host {

namespace {

class Image final : public HostModule {
 public:
  std::string_view name() const override { return "image"; }
  std::string_view description() const override { return "image (edgecar_image)"; }
  const HostFunctions& functions() const override { return image::shared_functions(); }
  Expected<std::shared_ptr<const Grant>> grant(const Settings&) const override {
    return std::shared_ptr<const Grant>(std::make_shared<Stateless>());
  }
};

}  // namespace

const HostModule& image_module() {
  static const Image m;
  return m;
}

}  // namespace edgecar::host
