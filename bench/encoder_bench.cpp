// Throughput of the local encoder on a file of texts, for bench/encoder_speed.py.
//   kr_encoder_bench --model DIR --texts FILE.jsonl [--threads T] [--batch-size B] [--max-tokens N]
//                    [--repeat R] [--precision auto|fp32|bf16|int8] [--attention auto|fused|reference]
//                    [--json]
// FILE.jsonl: one {"text": ...} per line. Prints passages/s, tokens/s (tokens actually run, after
// truncation) and the process's peak resident memory. One untimed warm-up pass first.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "embed/blas_kernels.h"
#include "embed/local_encoder.h"

namespace {

int usage(const char* message) {
  std::cerr << "kr_encoder_bench: " << message
            << "\nusage: kr_encoder_bench --model DIR --texts FILE.jsonl [--threads T] [--batch-size B] "
               "[--max-tokens N] [--repeat R] [--precision auto|fp32|bf16|int8] "
               "[--attention auto|fused|reference] [--json]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  kr::embed::use_best_blas_kernels(argv);  // as kaito-rag does
  std::string model, texts_file;
  kr::embed::LocalEncoderOptions options;
  int repeat = 1;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--model") model = value();
    else if (arg == "--texts") texts_file = value();
    else if (arg == "--threads") options.threads = std::atoi(value().c_str());
    else if (arg == "--batch-size") options.batch_size = std::atoi(value().c_str());
    else if (arg == "--max-tokens") options.max_tokens = std::atoi(value().c_str());
    else if (arg == "--repeat") repeat = std::max(1, std::atoi(value().c_str()));
    else if (arg == "--json") as_json = true;
    else if (arg == "--attention") {
      const std::string name = value();
      if (name == "auto") options.attention = kr::embed::AttentionKernel::kAuto;
      else if (name == "fused") options.attention = kr::embed::AttentionKernel::kFused;
      else if (name == "reference") options.attention = kr::embed::AttentionKernel::kReference;
      else return usage(("--attention " + name + " is not one of auto, fused, reference").c_str());
    }
    else if (arg == "--precision") {
      auto precision = kr::embed::parse_encoder_precision(value());
      if (!precision) return usage(precision.status().message().c_str());
      options.precision = *precision;
    }
    else return usage(("unknown argument " + arg).c_str());
  }
  if (model.empty() || texts_file.empty()) return usage("--model and --texts are required");

  std::vector<std::string> texts;
  std::ifstream in(texts_file);
  if (!in) return usage(("cannot read " + texts_file).c_str());
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  }
  auto encoder = kr::embed::LocalEncoder::load(model, options);
  if (!encoder) {
    std::cerr << "kr_encoder_bench: " << encoder.status().to_string() << "\n";
    return 1;
  }
  size_t tokens_per_pass = 0;
  for (const auto& text : texts) tokens_per_pass += (*encoder)->tokenize(text, kr::embed::InputKind::kPassage).size();

  if (auto warm = (*encoder)->embed(texts, kr::embed::InputKind::kPassage); !warm) {
    std::cerr << "kr_encoder_bench: " << warm.status().to_string() << "\n";
    return 1;
  }
  // CPU seconds of the timed passes: on a shared, loaded machine they say more than wall time.
  auto cpu_seconds = [] {
    struct rusage now {};
    getrusage(RUSAGE_SELF, &now);
    return static_cast<double>(now.ru_utime.tv_sec + now.ru_stime.tv_sec) +
           static_cast<double>(now.ru_utime.tv_usec + now.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_started = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  for (int r = 0; r < repeat; ++r) {
    auto out = (*encoder)->embed(texts, kr::embed::InputKind::kPassage);
    if (!out) return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = cpu_seconds() - cpu_started;
  struct rusage usage_info {};
  getrusage(RUSAGE_SELF, &usage_info);
  const double passages = static_cast<double>(texts.size()) * repeat;
  const double tokens = static_cast<double>(tokens_per_pass) * repeat;
  nlohmann::json result = {{"blas_kernels", kr::embed::blas_kernels()},
                           {"precision", (*encoder)->info().precision},
                           {"attention", kr::embed::attention_kernel_name((*encoder)->attention())},
                           {"passages", passages},
                           {"tokens", tokens},
                           {"seconds", seconds},
                           {"passages_per_s", passages / seconds},
                           {"tokens_per_s", tokens / seconds},
                           {"cpu_seconds", cpu},
                           {"passages_per_cpu_s", passages / cpu},
                           {"peak_rss_mb", static_cast<double>(usage_info.ru_maxrss) / 1024.0}};
  if (as_json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << passages << " passages, " << tokens << " tokens in " << seconds << " s: "
              << result["passages_per_s"].get<double>() << " passages/s, " << result["tokens_per_s"].get<double>()
              << " tokens/s, peak RSS " << result["peak_rss_mb"].get<double>() << " MB\n";
  }
  return 0;
}
