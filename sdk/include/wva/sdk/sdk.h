// Everything a plugin author needs.
#pragma once

#include "wva/sdk/abi.h"
#include "wva/sdk/context.h"
#include "wva/sdk/plugin.h"
#include "wva/sdk/result.h"
#include "wva/sdk/types.h"
