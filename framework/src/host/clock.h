// The clocks are public API of the framework (a simulation driver uses the virtual one).
#pragma once

#include "wva/framework/clock.h"
