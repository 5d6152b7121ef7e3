// Grounding-check evaluation on a labelled set (tests/fixtures/eval/grounding-*.jsonl, built by
// bench/build_grounding_set.py): how many corrupted sentences the checker catches and how many
// supported ones it flags, on the calibration part and on the held-aside part.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "generate/grounding.h"

namespace kr::eval {

struct GroundingItem {
  std::string id;
  std::string split;  // calibration | held
  bool unsupported = false;
  std::string kind;   // restated | number | entity | negation | other_doc
  std::string sentence;
  std::vector<std::string> sources;  // texts; the sentence's [n] refer to them
};

// Reads the set (source lines first, then items naming them); kInvalidArgument with file:line.
Result<std::vector<GroundingItem>> load_grounding_set(const std::string& path);

struct GroundingScore {
  double score = 0;                   // the lowest score of the item's sentences
  generate::SupportFeatures features;  // of that sentence's best source
};
std::vector<GroundingScore> score_grounding_set(const std::vector<GroundingItem>& items,
                                                const generate::SentenceEncoder& encoder);

struct GroundingMetrics {
  size_t unsupported = 0, caught = 0;        // recall on corrupted sentences
  size_t supported = 0, false_alarms = 0;    // supported sentences called unsupported
  std::map<std::string, std::pair<size_t, size_t>> by_kind;  // kind -> (flagged, total)
  double catch_rate() const { return unsupported ? static_cast<double>(caught) / unsupported : 0; }
  double false_alarm_rate() const { return supported ? static_cast<double>(false_alarms) / supported : 0; }
  // Precision of "unsupported": flagged sentences that were corrupted.
  double precision() const {
    return caught + false_alarms ? static_cast<double>(caught) / static_cast<double>(caught + false_alarms) : 0;
  }
};
// Metrics of one split ("" = all) at `threshold` (unsupported = score < threshold).
GroundingMetrics measure_grounding(const std::vector<GroundingItem>& items, const std::vector<GroundingScore>& scores,
                                   const std::string& split, double threshold);

// The threshold catching the most corrupted sentences of `split` with at most `max_false_alarms`
// of its supported ones flagged.
double calibrate_grounding_threshold(const std::vector<GroundingItem>& items,
                                     const std::vector<GroundingScore>& scores, const std::string& split,
                                     double max_false_alarms);

}  // namespace kr::eval
