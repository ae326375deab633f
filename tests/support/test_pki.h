// A throwaway PKI for TLS tests, made with the real `openssl` CLI in a temp folder: a CA and server
// certificates it signs for 127.0.0.1 / localhost. Each Pki is independent (its own folder, removed at
// the end).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "subprocess.h"

namespace wva::testing {

inline const char* kOpenssl = "/usr/bin/openssl";

class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/wva-pki-XXXXXX";
    const char* made = mkdtemp(tmpl);
    dir_ = made ? made : "";
  }
  ~Pki() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  // <name>.crt / <name>.key: a self-signed CA. Returns an error text, empty on success.
  std::string make_ca(const std::string& name) {
    return openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    file(name + ".key"), "-out", file(name + ".crt"), "-days", "2", "-subj", "/CN=" + name, "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"});
  }
  // <name>.crt / <name>.key: a server certificate for 127.0.0.1 and localhost signed by CA `ca`.
  std::string make_server(const std::string& name, const std::string& ca) {
    if (auto e = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", file(name + ".key"), "-out", file(name + ".csr"), "-subj", "/CN=" + name});
        !e.empty())
      return e;
    {
      std::ofstream ext(file(name + ".ext"));
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
    }
    return openssl({"x509", "-req", "-in", file(name + ".csr"), "-CA", file(ca + ".crt"), "-CAkey", file(ca + ".key"),
                    "-CAcreateserial", "-out", file(name + ".crt"), "-days", "2", "-extfile", file(name + ".ext")});
  }

 private:
  std::string openssl(std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    auto r = run(args, std::chrono::seconds(30));
    return r.code == 0 ? "" : "openssl " + args[1] + " failed: " + r.err;
  }
  std::filesystem::path dir_;
};

}  // namespace wva::testing
