// kaito-rag eval --grounding FILE: the grounding check on a labelled set (see eval/grounding_eval.h).
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "embed/local_encoder.h"
#include "eval/grounding_eval.h"

namespace kr::cli {

namespace {

constexpr double kMaxFalseAlarms = 0.1;  // the target: at most 1 in 10 supported sentences flagged

void print_metrics(const std::string& label, const eval::GroundingMetrics& m, double threshold) {
  std::cout << std::fixed << std::setprecision(3) << label << " (threshold " << threshold << "): caught "
            << m.caught << "/" << m.unsupported << " = " << m.catch_rate() << ", false alarms " << m.false_alarms
            << "/" << m.supported << " = " << m.false_alarm_rate() << ", precision " << m.precision() << "\n   ";
  for (const auto& [kind, counts] : m.by_kind) std::cout << " " << kind << " " << counts.first << "/" << counts.second;
  std::cout << "\n";
}

nlohmann::json metrics_json(const eval::GroundingMetrics& m, double threshold) {
  return {{"threshold", threshold},       {"caught", m.caught},         {"unsupported", m.unsupported},
          {"catch_rate", m.catch_rate()}, {"false_alarms", m.false_alarms}, {"supported", m.supported},
          {"false_alarm_rate", m.false_alarm_rate()}, {"precision", m.precision()}};
}

// The wrong decisions at `threshold`, grouped by kind: corrupted sentences passed, supported ones flagged.
void print_misses(const std::vector<eval::GroundingItem>& items, const std::vector<eval::GroundingScore>& scores,
                  double threshold) {
  std::map<std::string, std::vector<size_t>> wrong;
  for (size_t i = 0; i < items.size(); ++i) {
    if ((scores[i].score < threshold) != items[i].unsupported) wrong[items[i].kind].push_back(i);
  }
  for (const auto& [kind, indexes] : wrong) {
    std::cout << "\n" << kind << ": " << indexes.size() << (kind == "restated" ? " flagged" : " missed") << "\n";
    for (size_t i : indexes) {
      const auto& f = scores[i].features;
      std::cout << std::fixed << std::setprecision(3) << "  " << items[i].id << " " << items[i].split << " score "
                << scores[i].score << " (coverage " << f.coverage << ", similarity " << f.similarity << ", numbers "
                << f.missing_numbers << ", negation " << f.negation_mismatch << ", unmatched " << f.unmatched
                << ")\n    " << items[i].sentence << "\n";
    }
  }
}

}  // namespace

int eval_grounding(const Config& config, const EvalArgs& args) {
  auto items = eval::load_grounding_set(args.grounding_file);
  if (!items) {
    std::cerr << "kaito-rag eval: " << items.status().message() << "\n";
    return 2;
  }
  // The local encoder when one is configured (as the server checks with it), else lexical only.
  std::unique_ptr<embed::LocalEncoder> encoder;
  generate::SentenceEncoder encode;
  if (!config.embedding_model.empty()) {
    auto loaded = embed::LocalEncoder::load(config.embedding_model);
    if (!loaded) {
      std::cerr << "kaito-rag eval: cannot load the embedding model: " << loaded.status().message() << "\n";
      return 2;
    }
    encoder = std::move(loaded.value());
    encode = [&encoder](const std::vector<std::string>& texts, bool) -> Result<std::vector<std::vector<float>>> {
      auto vectors = encoder->embed(texts, embed::InputKind::kPassage);
      if (!vectors) return vectors.status();
      std::vector<std::vector<float>> out;
      for (size_t i = 0; i < vectors->rows(); ++i) out.emplace_back(vectors->row(i).begin(), vectors->row(i).end());
      return out;
    };
  }
  const auto scores = eval::score_grounding_set(*items, encode);
  const double configured = config.grounding_threshold;
  const double calibrated = eval::calibrate_grounding_threshold(*items, scores, "calibration", kMaxFalseAlarms);
  const auto calibration = eval::measure_grounding(*items, scores, "calibration", configured);
  const auto held = eval::measure_grounding(*items, scores, "held", configured);
  const auto held_at_calibrated = eval::measure_grounding(*items, scores, "held", calibrated);
  std::cout << "grounding set " << args.grounding_file << ": " << items->size() << " sentences, encoder "
            << (encoder ? config.embedding_model : std::string("none (lexical)")) << "\n";
  print_metrics("calibration", calibration, configured);
  print_metrics("held", held, configured);
  std::cout << "threshold calibrated on the calibration part (false alarms <= " << kMaxFalseAlarms
            << "): " << calibrated << "\n";
  print_metrics("held at calibrated", held_at_calibrated, calibrated);
  if (args.misses) print_misses(*items, scores, configured);
  if (!args.dump_file.empty()) {
    std::ofstream out(args.dump_file);
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& f = scores[i].features;
      out << nlohmann::json{{"id", (*items)[i].id},       {"split", (*items)[i].split},
                            {"kind", (*items)[i].kind},   {"unsupported", (*items)[i].unsupported},
                            {"score", scores[i].score},   {"coverage", f.coverage},
                            {"similarity", f.similarity}, {"missing_numbers", f.missing_numbers},
                            {"negation_mismatch", f.negation_mismatch}, {"unmatched", f.unmatched}}
                 .dump()
          << "\n";
    }
  }
  if (args.json) {
    std::cout << nlohmann::json{{"calibration", metrics_json(calibration, configured)},
                                {"held", metrics_json(held, configured)},
                                {"calibrated_threshold", calibrated},
                                {"held_at_calibrated", metrics_json(held_at_calibrated, calibrated)}}
                     .dump()
              << "\n";
  }
  return 0;
}

}  // namespace kr::cli
