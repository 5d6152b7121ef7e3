// Lower-case hexadecimal: digests and random identifiers.
#pragma once

#include <string>
#include <string_view>

namespace kr {

// Two lower-case hex digits per byte.
std::string hex_lower(std::string_view bytes);

// 32 lower-case hex digits from a per-thread PRNG: unique ids (conversations, completion ids,
// queue lease tokens), not secrets — secrets come from RAND_bytes.
std::string random_hex_id();

}  // namespace kr
