// NATS NKeys for a user: the public key (U...) of a seed (SU...), so that
// `--nkey FILE` takes the seed file alone, as the nats CLI does (libnats'
// natsOptions_SetNKeyFromSeed wants the public key as well).
//
// An NKey is base32 (RFC 4648, no padding) of: a prefix (one byte for a
// public key, two for a seed, which also carry the key's type), the 32-byte
// ed25519 key (for a seed, its private seed), and a CRC-16/XMODEM of all
// that, little-endian. The public key of a seed is the ed25519 public key
// of its private seed (OpenSSL).
#ifndef XENLET_FLEET_NATS_NKEY_H_
#define XENLET_FLEET_NATS_NKEY_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xenlet::fleet::nats {

// The user public key ("U" + 55 characters) of a user seed ("SU" + 56).
// INVALID_ARGUMENT naming what is wrong: not base32, a bad checksum, not a
// seed, not a user's.
absl::StatusOr<std::string> NKeyUserPublicKey(absl::string_view seed);

// The user seed in a file: its first line that starts with "SU" (a seed
// file, or an .nk file; surrounding whitespace ignored).
absl::StatusOr<std::string> ReadNKeySeedFile(const std::string& path);

// A user seed for a raw ed25519 seed (for tests: keys made on the spot).
std::string EncodeNKeyUserSeed(const std::array<uint8_t, 32>& raw);

}  // namespace xenlet::fleet::nats

#endif  // XENLET_FLEET_NATS_NKEY_H_
