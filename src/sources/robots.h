// robots.txt (RFC 9309) for URL sources: the rules of the group for our user agent (else "*"),
// Allow/Disallow path patterns with `*` and a trailing `$`, the longest match deciding and Allow
// winning a tie.
#pragma once

#include <string>
#include <vector>

namespace kr::sources {

inline constexpr const char* kUserAgent = "kaito-rag";

class RobotsRules {
 public:
  // Everything allowed: what a missing robots.txt (4xx) means.
  RobotsRules() = default;
  // The rules `text` gives `agent` (product token, matched case-insensitively).
  static RobotsRules parse(const std::string& text, const std::string& agent = kUserAgent);

  // `target` is a request path with its query ("/a/b?x=1").
  bool allows(const std::string& target) const;

 private:
  struct Rule {
    bool allow = false;
    std::string pattern;
  };
  std::vector<Rule> rules_;
};

}  // namespace kr::sources
