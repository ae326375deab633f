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

namespace {

bool write_all(int fd, const char* p, std::size_t left) {
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

}  // namespace

bool ReservedStdout::write_line(std::string_view text) {
  const int fd = real_stdout_ >= 0 ? real_stdout_ : STDOUT_FILENO;
  // Not copied to append the newline: a fleet's line of decisions is megabytes. A reader of a pipe sees
  // the line whole once the newline arrives.
  return write_all(fd, text.data(), text.size()) && write_all(fd, "\n", 1);
}

}  // namespace wva::framework
