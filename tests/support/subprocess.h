// Runs the real `wva` binary for CLI tests: fork/exec with captured stdout/stderr, bounded in time.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace wva::testing {

class Process {
 public:
  explicit Process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]);
      close(err[0]);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads what is available, waiting at most `timeout` for something; returns false on EOF of both.
  void pump(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return;
    char buf[65536];
    for (auto [fd, target] : {std::pair{out_fd_, &out}, std::pair{err_fd_, &err}}) {
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) target->append(buf, static_cast<std::size_t>(n));
    }
  }
  // Polls until stdout contains `text` or the timeout passes.
  bool wait_for_stdout(const std::string& text, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (out.find(text) == std::string::npos && std::chrono::steady_clock::now() < end) {
      pump(std::chrono::milliseconds(100));
      if (reap(false)) break;
    }
    return out.find(text) != std::string::npos;
  }
  void signal(int sig) { kill(pid_, sig); }
  // Waits for exit (bounded); returns the exit code, or -1 on timeout / signal death (then kills it).
  int wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!reap(false) && std::chrono::steady_clock::now() < end) pump(std::chrono::milliseconds(50));
    if (!exited_) {
      kill(pid_, SIGKILL);
      reap(true);
      return -1;
    }
    for (int i = 0; i < 10; ++i) pump(std::chrono::milliseconds(10));
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

  std::string out, err;

 private:
  bool reap(bool block) {
    if (exited_) return true;
    if (waitpid(pid_, &status_, block ? 0 : WNOHANG) == pid_) exited_ = true;
    return exited_;
  }
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, status_ = 0;
  bool exited_ = false;
};

struct RunResult {
  int code;
  std::string out, err;
};

inline RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(60),
                     const std::vector<std::string>& env = {}) {
  Process p(argv, env);
  int code = p.wait(timeout);
  return {code, p.out, p.err};
}

}  // namespace wva::testing
