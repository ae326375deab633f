// "did you mean" for misspelled keys and names: the SDK's implementation (wva/sdk/util/suggest.h).
#pragma once

#include "wva/sdk/util/suggest.h"

namespace wva::framework {

using sdk::closest_match;
using sdk::did_you_mean;

}  // namespace wva::framework
