// Levelled logging to stderr, one line per event, as text or JSON (for Kubernetes).
// Never log document text at info level.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kr::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Thread-safe. Configure once at start-up.
void configure(const std::string& level, bool json);
bool enabled(Level level);

using Fields = std::vector<std::pair<std::string, std::string>>;
void write(Level level, const std::string& message, const Fields& fields = {});

inline void debug(const std::string& m, const Fields& f = {}) { write(Level::kDebug, m, f); }
inline void info(const std::string& m, const Fields& f = {}) { write(Level::kInfo, m, f); }
inline void warn(const std::string& m, const Fields& f = {}) { write(Level::kWarn, m, f); }
inline void error(const std::string& m, const Fields& f = {}) { write(Level::kError, m, f); }

}  // namespace kr::log
