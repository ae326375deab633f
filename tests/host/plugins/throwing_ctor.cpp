// Its constructor throws: the export glue turns that into nullptr and the host reports it.
#include <stdexcept>

#include "wva/sdk/export.h"

namespace {

class ThrowingCtor : public wva::sdk::Plugin, public wva::sdk::Sink {
 public:
  ThrowingCtor() { throw std::runtime_error("cannot construct"); }
  wva::sdk::Result<void> configure(const wva::sdk::Config&, const std::string&) override { return wva::sdk::ok(); }
  wva::sdk::Result<void> start(wva::sdk::PluginContext&) override { return wva::sdk::ok(); }
  void stop() noexcept override {}
  wva::sdk::Result<void> publish(const wva::sdk::PublishBatch&) override { return wva::sdk::ok(); }
};

}  // namespace

WVA_PLUGIN(ThrowingCtor, "test-throwing-ctor", "1.0.0")
