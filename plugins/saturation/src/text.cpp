#include "text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace wva::saturation {

std::string fixed(double value, int decimals) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string out(buf);
  if (out.rfind("-0", 0) == 0 && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string format_cost(double value) {
  if (!std::isfinite(value)) return fixed(value, 1);
  if (std::abs(value * 10 - std::round(value * 10)) < 1e-9) return fixed(value, 1);
  std::string out = fixed(value, 4);
  while (out.size() > 1 && out.back() == '0') out.pop_back();
  return out;
}

}  // namespace wva::saturation
