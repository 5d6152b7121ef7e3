#include "sources/robots.h"

#include <algorithm>
#include <cctype>

namespace kr::sources {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// Whether `pattern` (with `*` = any run, trailing `$` = end) matches the start of `path`.
bool matches(const std::string& pattern, size_t p, const std::string& path, size_t at) {
  for (; p < pattern.size(); ++p) {
    if (pattern[p] == '*') {
      for (size_t skip = at; skip <= path.size(); ++skip) {
        if (matches(pattern, p + 1, path, skip)) return true;
      }
      return false;
    }
    if (pattern[p] == '$' && p + 1 == pattern.size()) return at == path.size();
    if (at >= path.size() || path[at] != pattern[p]) return false;
    ++at;
  }
  return true;
}

}  // namespace

RobotsRules RobotsRules::parse(const std::string& text, const std::string& agent) {
  // Groups: consecutive user-agent lines, then their rules. Ours is the one naming `agent`
  // (all such groups merged), else the "*" groups.
  std::vector<Rule> mine, everyone;
  bool in_agents = false, group_mine = false, group_everyone = false;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    line = trim(line.substr(0, line.find('#')));
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string field = lower(trim(line.substr(0, colon)));
    const std::string value = trim(line.substr(colon + 1));
    if (field == "user-agent") {
      if (!in_agents) group_mine = group_everyone = false;
      in_agents = true;
      const std::string name = lower(value);
      if (name == "*") group_everyone = true;
      if (!name.empty() && name != "*" && lower(agent).find(name) == 0) group_mine = true;
      continue;
    }
    if (field != "allow" && field != "disallow") continue;
    in_agents = false;
    if (value.empty()) continue;  // "Disallow:" with no path disallows nothing
    const Rule rule{field == "allow", value};
    if (group_mine) mine.push_back(rule);
    if (group_everyone) everyone.push_back(rule);
  }
  RobotsRules rules;
  rules.rules_ = !mine.empty() ? std::move(mine) : std::move(everyone);
  return rules;
}

bool RobotsRules::allows(const std::string& target) const {
  const Rule* best = nullptr;
  for (const auto& rule : rules_) {
    if (!matches(rule.pattern, 0, target, 0)) continue;
    if (!best || rule.pattern.size() > best->pattern.size() ||
        (rule.pattern.size() == best->pattern.size() && rule.allow)) {
      best = &rule;
    }
  }
  return !best || best->allow;
}

}  // namespace kr::sources
