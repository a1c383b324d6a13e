// Base64url without padding (RFC 4648 section 5), the encoding of JWT segments and of the
// opaque tokens. Decoding is strict so that every byte string has exactly one accepted text
// form: a token cannot be varied (padding, stray bits) while still verifying.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace playground::auth {

// Encodes `bytes` with the URL-safe alphabet (A-Z a-z 0-9 - _) and no '=' padding.
std::string Base64UrlEncode(std::string_view bytes);

// The bytes `text` encodes, or nullopt when it is not the canonical unpadded base64url form of
// anything: a character outside the alphabet (including '=' and whitespace), a length of 1
// modulo 4, or non-zero unused bits in the last character.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace playground::auth
