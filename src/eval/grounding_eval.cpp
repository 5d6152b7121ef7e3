// Grounding-check evaluation (see grounding_eval.h).
#include "eval/grounding_eval.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace kr::eval {

Result<std::vector<GroundingItem>> load_grounding_set(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error(ErrorCode::kNotFound, "cannot open the grounding set " + path);
  std::unordered_map<std::string, std::string> sources;
  std::vector<GroundingItem> items;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(number);
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("source")) {
        sources[j.at("source").get<std::string>()] = j.at("text").get<std::string>();
        continue;
      }
      GroundingItem item;
      item.id = j.at("id").get<std::string>();
      item.split = j.value("split", "calibration");
      const std::string label = j.at("label").get<std::string>();
      if (label != "supported" && label != "unsupported") {
        return error(ErrorCode::kInvalidArgument, where + ": label must be supported or unsupported");
      }
      item.unsupported = label == "unsupported";
      item.kind = j.value("kind", label);
      item.sentence = j.at("sentence").get<std::string>();
      for (const auto& id : j.at("sources")) {
        auto it = sources.find(id.get<std::string>());
        if (it == sources.end()) return error(ErrorCode::kInvalidArgument, where + ": unknown source " + id.dump());
        item.sources.push_back(it->second);
      }
      items.push_back(std::move(item));
    } catch (const nlohmann::json::exception& e) {
      return error(ErrorCode::kInvalidArgument, where + ": " + e.what());
    }
  }
  if (items.empty()) return error(ErrorCode::kInvalidArgument, path + " holds no labelled sentences");
  return items;
}

std::vector<GroundingScore> score_grounding_set(const std::vector<GroundingItem>& items,
                                                const generate::SentenceEncoder& encoder) {
  std::vector<GroundingScore> out;
  for (const GroundingItem& item : items) {
    std::vector<generate::Passage> passages;
    for (const std::string& text : item.sources) passages.push_back({text, "", 0, 0});
    const auto report = generate::check_grounding(item.sentence, passages, encoder, 0.5);
    GroundingScore score{1.0, {}};
    for (const auto& s : report.sentences) {
      if (s.score <= score.score) score = {s.score, s.features};
    }
    out.push_back(score);
  }
  return out;
}

GroundingMetrics measure_grounding(const std::vector<GroundingItem>& items, const std::vector<GroundingScore>& scores,
                                   const std::string& split, double threshold) {
  GroundingMetrics m;
  for (size_t i = 0; i < items.size() && i < scores.size(); ++i) {
    if (!split.empty() && items[i].split != split) continue;
    const bool flagged = scores[i].score < threshold;
    auto& [kind_flagged, kind_total] = m.by_kind[items[i].kind];
    ++kind_total;
    kind_flagged += flagged;
    if (items[i].unsupported) {
      ++m.unsupported;
      m.caught += flagged;
    } else {
      ++m.supported;
      m.false_alarms += flagged;
    }
  }
  return m;
}

double calibrate_grounding_threshold(const std::vector<GroundingItem>& items,
                                     const std::vector<GroundingScore>& scores, const std::string& split,
                                     double max_false_alarms) {
  // Candidate thresholds: just above each score (flagging it), and 0 (flag nothing).
  std::vector<double> candidates{0.0};
  for (const auto& s : scores) candidates.push_back(std::nextafter(s.score, 2.0));
  std::sort(candidates.begin(), candidates.end());
  double best = 0;
  for (double t : candidates) {
    if (measure_grounding(items, scores, split, t).false_alarm_rate() <= max_false_alarms) best = t;
  }
  return best;
}

}  // namespace kr::eval
