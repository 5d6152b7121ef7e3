// fsync of a directory, so that a rename inside it (a collection created,
// deleted or replaced) survives a power loss, not only a process crash.
#pragma once

#include <string>

#include "core/status.h"

namespace kr::store {

// Flushes the entries of `directory`. A failure is logged at error level and returned.
Status sync_directory(const std::string& directory);

}  // namespace kr::store
