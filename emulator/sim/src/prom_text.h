// vLLM-named metrics of every live pod of a world, in the Prometheus text exposition format 0.0.4.
// Labels: model_name, namespace, pod (a fleet in one process; Prometheus would add namespace/pod from
// the scrape target for a single pod). vllm:cache_config_info has no model_name, as in vLLM.
#pragma once

#include <string>

#include "world.h"

namespace wva::emulator {

std::string render_vllm_metrics(const World& world);

}  // namespace wva::emulator
