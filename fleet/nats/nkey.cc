#include "fleet/nats/nkey.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace xenlet::fleet::nats {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// The prefixes' first 5 bits: 'S' (seed) and 'U' (user) in base32.
constexpr uint8_t kPrefixSeed = 18 << 3;
constexpr uint8_t kPrefixUser = 20 << 3;

uint16_t Crc16(const std::vector<uint8_t>& data) {
  uint16_t crc = 0;
  for (uint8_t byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string Base32Encode(const std::vector<uint8_t>& data) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 31];
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Base32Decode(absl::string_view text) {
  std::vector<uint8_t> out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= '2' && c <= '7') {
      value = c - '2' + 26;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("NKey: '", std::string(1, c), "' is not base32"));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

// data + its CRC, little-endian, in base32.
std::string WithChecksum(std::vector<uint8_t> data) {
  const uint16_t crc = Crc16(data);
  data.push_back(static_cast<uint8_t>(crc & 0xff));
  data.push_back(static_cast<uint8_t>(crc >> 8));
  return Base32Encode(data);
}

}  // namespace

absl::StatusOr<std::string> NKeyUserPublicKey(absl::string_view seed) {
  auto raw = Base32Decode(seed);
  if (!raw.ok()) return raw.status();
  if (raw->size() != 2 + 32 + 2) {
    return absl::InvalidArgumentError("NKey: a seed is 58 characters (SU...)");
  }
  const std::vector<uint8_t> body(raw->begin(), raw->end() - 2);
  const uint16_t crc = static_cast<uint16_t>((*raw)[34] | ((*raw)[35] << 8));
  if (Crc16(body) != crc) {
    return absl::InvalidArgumentError("NKey: the seed's checksum is wrong");
  }
  if (((*raw)[0] & 0xf8) != kPrefixSeed) {
    return absl::InvalidArgumentError("NKey: not a seed (S...)");
  }
  const uint8_t type = static_cast<uint8_t>((((*raw)[0] & 0x07) << 5) |
                                            (((*raw)[1] & 0xf8) >> 3));
  if (type != kPrefixUser) {
    return absl::InvalidArgumentError("NKey: not a user's seed (SU...)");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw->data() + 2,
                                   32),
      EVP_PKEY_free);
  std::vector<uint8_t> pub(1 + 32);
  size_t length = 32;
  if (key == nullptr ||
      EVP_PKEY_get_raw_public_key(key.get(), pub.data() + 1, &length) != 1 ||
      length != 32) {
    return absl::InternalError("NKey: OpenSSL could not derive the key");
  }
  pub[0] = kPrefixUser;
  return WithChecksum(std::move(pub));
}

absl::StatusOr<std::string> ReadNKeySeedFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read NKey seed file ", path));
  }
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.substr(0, 2) == "SU") return std::string(text);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no user NKey seed (SU...) in ", path));
}

std::string EncodeNKeyUserSeed(const std::array<uint8_t, 32>& raw) {
  std::vector<uint8_t> data = {
      static_cast<uint8_t>(kPrefixSeed | (kPrefixUser >> 5)),
      static_cast<uint8_t>((kPrefixUser & 31) << 3)};
  data.insert(data.end(), raw.begin(), raw.end());
  return WithChecksum(std::move(data));
}

}  // namespace xenlet::fleet::nats
