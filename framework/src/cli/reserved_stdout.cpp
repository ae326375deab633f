#include "cli/reserved_stdout.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <string>

namespace wva::framework {

ReservedStdout::ReservedStdout() {
  std::cout.flush();
  std::fflush(stdout);
  real_stdout_ = ::dup(STDOUT_FILENO);
  if (real_stdout_ >= 0 && ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    ::close(real_stdout_);
    real_stdout_ = -1;  // nothing redirected: write_line() falls back to fd 1
  }
}

ReservedStdout::~ReservedStdout() {
  if (real_stdout_ < 0) return;
  std::cout.flush();
  std::fflush(stdout);
  ::dup2(real_stdout_, STDOUT_FILENO);
  ::close(real_stdout_);
}

bool ReservedStdout::write_line(std::string_view text) {
  const int fd = real_stdout_ >= 0 ? real_stdout_ : STDOUT_FILENO;
  std::string line(text);
  line += '\n';
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace wva::framework
