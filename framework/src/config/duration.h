// The duration grammar is the SDK's (wva/sdk/duration.h): the host and plugins read durations alike.
#pragma once

#include "wva/sdk/duration.h"

namespace wva::framework {

using sdk::format_duration;
using sdk::parse_duration;

}  // namespace wva::framework
