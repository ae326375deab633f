// `--output json` promises exactly one JSON document on stdout. While a ReservedStdout lives, file
// descriptor 1 points at stderr, so whatever a plugin or library writes to stdout (the log sink with
// `output: stdout`, a stray printf) lands on stderr; only write_line() reaches the real stdout.
#pragma once

#include <string_view>

namespace wva::framework {

class ReservedStdout {
 public:
  ReservedStdout();
  ~ReservedStdout();
  ReservedStdout(const ReservedStdout&) = delete;
  ReservedStdout& operator=(const ReservedStdout&) = delete;

  // Writes `text` and a newline to the real stdout, whole (retrying short writes). False on error.
  bool write_line(std::string_view text);

 private:
  int real_stdout_ = -1;
};

}  // namespace wva::framework
