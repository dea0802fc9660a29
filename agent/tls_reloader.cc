#include "agent/tls_reloader.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace xenlet::agent {
namespace {

constexpr char kCurrent[] = "current";  // symlink to the served generation

absl::Status Invalid(std::string_view flag, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", std::string(flag), ": ", std::string(problem)));
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Invalid(
        flag, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Bio MemoryBio(const std::string& data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// An encrypted key is refused, never prompted for: a daemon has no terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The first certificate of a PEM bundle, and how many it holds.
Cert FirstCertificate(const std::string& pem, int* count) {
  Bio bio = MemoryBio(pem);
  Cert first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  *count = first ? 1 : 0;
  while (first) {
    Cert next(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!next) break;
    ++*count;
  }
  ERR_clear_error();  // the read that ended the bundle queued an error
  return first;
}

absl::Time NotAfter(const X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
    return absl::InfiniteFuture();
  }
  return absl::FromTimeT(timegm(&tm));
}

std::string Subject(const X509* cert) {
  char buffer[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buffer, sizeof(buffer));
  return buffer;
}

absl::Status WritePrivateFile(const std::string& path,
                              const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << data) || !out.flush()) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  out.close();
  chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

std::string GenerationName(int generation) {
  return absl::StrCat("gen-", generation);
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  TlsMaterial material;
  auto chain = ReadFile(files.cert_file, "tls-cert");
  if (!chain.ok()) return chain.status();
  auto key_pem = ReadFile(files.key_file, "tls-key");
  if (!key_pem.ok()) return key_pem.status();
  int count = 0;
  Cert leaf = FirstCertificate(*chain, &count);
  if (!leaf) {
    return Invalid("tls-cert",
                   absl::StrCat(files.cert_file, " holds no PEM certificate"));
  }
  Bio key_bio = MemoryBio(*key_pem);
  Key key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    return Invalid("tls-key",
                   absl::StrCat(files.key_file,
                                " holds no PEM private key (an encrypted key "
                                "is not supported)"));
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return Invalid("tls-key", absl::StrCat(files.key_file,
                                           " is not the key of the certificate "
                                           "in ",
                                           files.cert_file));
  }
  if (!files.client_ca_file.empty()) {
    auto ca = ReadFile(files.client_ca_file, "tls-client-ca");
    if (!ca.ok()) return ca.status();
    int ca_count = 0;
    if (!FirstCertificate(*ca, &ca_count)) {
      return Invalid(
          "tls-client-ca",
          absl::StrCat(files.client_ca_file, " holds no PEM certificate"));
    }
    material.client_ca = std::move(*ca);
  }
  material.not_after = NotAfter(leaf.get());
  material.subject = Subject(leaf.get());
  material.cert_chain = std::move(*chain);
  material.private_key = std::move(*key_pem);
  return material;
}

absl::StatusOr<std::unique_ptr<TlsReloader>> TlsReloader::Create(
    const TlsFiles& files) {
  auto material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  std::string parent = files.staging_parent;
  if (parent.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    parent = tmpdir && *tmpdir ? tmpdir : "/tmp";
  }
  std::string pattern = absl::StrCat(parent, "/xenlet-tls-XXXXXX");
  if (!mkdtemp(pattern.data())) {  // mkdtemp makes it 0700
    return absl::FailedPreconditionError(
        absl::StrCat("cannot make a TLS staging directory in ", parent, ": ",
                     std::strerror(errno)));
  }
  std::unique_ptr<TlsReloader> reloader(new TlsReloader(
      files.cert_file, files.key_file, files.client_ca_file, pattern));
  if (auto s = reloader->Stage(*material); !s.ok()) return s;
  absl::MutexLock lock(&reloader->mu_);
  reloader->served_ = std::move(*material);
  return reloader;
}

TlsReloader::TlsReloader(std::string cert_file, std::string key_file,
                         std::string ca_file, std::string dir)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      ca_file_(std::move(ca_file)),
      dir_(std::move(dir)) {}

TlsReloader::~TlsReloader() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status TlsReloader::Stage(const TlsMaterial& material) {
  int generation;
  {
    absl::MutexLock lock(&mu_);
    generation = ++generation_;
  }
  const std::string gen_dir =
      absl::StrCat(dir_, "/", GenerationName(generation));
  if (mkdir(gen_dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("mkdir ", gen_dir, ": ", std::strerror(errno)));
  }
  for (const auto& [name, data] : {std::pair{"cert.pem", &material.cert_chain},
                                   std::pair{"key.pem", &material.private_key},
                                   std::pair{"ca.pem", &material.client_ca}}) {
    if (auto s = WritePrivateFile(absl::StrCat(gen_dir, "/", name), *data);
        !s.ok()) {
      return s;
    }
  }
  // One rename swaps the whole set: the watcher reads either the old
  // generation or the new one, never a certificate with another's key.
  const std::string link = absl::StrCat(dir_, "/", kCurrent);
  const std::string next_link = link + ".next";
  unlink(next_link.c_str());
  if (symlink(GenerationName(generation).c_str(), next_link.c_str()) != 0 ||
      rename(next_link.c_str(), link.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot swap in ", gen_dir, ": ", std::strerror(errno)));
  }
  // The generation before the last stays: the watcher may be reading it.
  if (generation > 2) {
    std::error_code ec;
    std::filesystem::remove_all(
        absl::StrCat(dir_, "/", GenerationName(generation - 2)), ec);
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsReloader::Outcome> TlsReloader::Reload() {
  auto material =
      LoadTlsMaterial({cert_file_, key_file_, ca_file_, /*staging_parent=*/""});
  if (!material.ok()) return material.status();
  Outcome outcome{false, material->not_after, material->subject};
  {
    absl::MutexLock lock(&mu_);
    if (material->cert_chain == served_.cert_chain &&
        material->private_key == served_.private_key &&
        material->client_ca == served_.client_ca) {
      return outcome;
    }
  }
  if (auto s = Stage(*material); !s.ok()) return s;
  outcome.changed = true;
  absl::MutexLock lock(&mu_);
  served_ = std::move(*material);
  return outcome;
}

std::shared_ptr<grpc::ServerCredentials> TlsReloader::ServerCredentials()
    const {
  const std::string current = absl::StrCat(dir_, "/", kCurrent, "/");
  const unsigned int interval =
      static_cast<unsigned int>(absl::ToInt64Seconds(kStagedPollInterval));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          current + "key.pem", current + "cert.pem",
          ca_file_.empty() ? "" : current + "ca.pem", interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!ca_file_.empty()) {
    // A client certificate is verified if presented, not required: a client
    // without one may query; the control RPCs ask for an authorised one.
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::Time TlsReloader::not_after() const {
  absl::MutexLock lock(&mu_);
  return served_.not_after;
}

}  // namespace xenlet::agent
