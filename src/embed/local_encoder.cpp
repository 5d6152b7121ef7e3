#include "embed/local_encoder.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "core/log.h"
#include "embed/bert_model.h"
#include "embed/wordpiece.h"

namespace kr::embed {
namespace {

// Upper bound on tokens in one forward pass, so a batch of long passages stays a few hundred MB.
constexpr size_t kMaxTokensPerPass = 8192;

// Optional JSON file of the model folder: nullopt when absent, an error when unreadable.
Result<std::optional<nlohmann::json>> read_optional_json(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::optional<nlohmann::json>{};
  std::ifstream in(file);
  if (!in) return error(ErrorCode::kInvalidArgument, "cannot read " + file.string());
  try {
    return std::optional<nlohmann::json>{nlohmann::json::parse(in)};
  } catch (const std::exception& e) {
    return error(ErrorCode::kInvalidArgument, file.string() + " is not valid JSON: " + e.what());
  }
}

// What sentence-transformers adds on top of the transformer: pooling, normalization, length, prompts.
struct SentenceTransformerSettings {
  Pooling pooling = Pooling::kMean;
  int max_seq_length = 0;
  std::string query_prompt, passage_prompt;
};

Result<SentenceTransformerSettings> read_settings(const std::filesystem::path& dir) {
  SentenceTransformerSettings settings;
  std::filesystem::path pooling_dir = dir / "1_Pooling";
  auto modules = read_optional_json(dir / "modules.json");
  if (!modules) return modules.status();
  if (modules->has_value() && (*modules)->is_array()) {
    for (const auto& module : **modules) {
      const std::string type = module.value("type", "");
      if (type.ends_with("models.Pooling")) pooling_dir = dir / module.value("path", "1_Pooling");
      if (!type.ends_with("models.Transformer") && !type.ends_with("models.Pooling") &&
          !type.ends_with("models.Normalize")) {
        return error(ErrorCode::kUnsupported, (dir / "modules.json").string() + ": module '" + type +
                                                  "' is not supported (Transformer, Pooling, Normalize are)");
      }
    }
  }
  auto pooling = read_optional_json(pooling_dir / "config.json");
  if (!pooling) return pooling.status();
  if (pooling->has_value()) {
    const auto& config = **pooling;
    std::vector<Pooling> modes;
    if (config.value("pooling_mode_cls_token", false)) modes.push_back(Pooling::kCls);
    if (config.value("pooling_mode_mean_tokens", false)) modes.push_back(Pooling::kMean);
    if (config.value("pooling_mode_max_tokens", false)) modes.push_back(Pooling::kMax);
    if (config.value("pooling_mode_mean_sqrt_len_tokens", false)) modes.push_back(Pooling::kMeanSqrtLen);
    if (modes.size() != 1) {
      return error(ErrorCode::kUnsupported, (pooling_dir / "config.json").string() +
                                                ": exactly one pooling mode must be enabled (cls, mean, max or "
                                                "mean_sqrt_len)");
    }
    settings.pooling = modes.front();
  }
  auto sentence_bert = read_optional_json(dir / "sentence_bert_config.json");
  if (!sentence_bert) return sentence_bert.status();
  if (sentence_bert->has_value()) settings.max_seq_length = (*sentence_bert)->value("max_seq_length", 0);
  auto st_config = read_optional_json(dir / "config_sentence_transformers.json");
  if (!st_config) return st_config.status();
  if (st_config->has_value() && (*st_config)->contains("prompts") && (**st_config)["prompts"].is_object()) {
    const auto& prompts = (**st_config)["prompts"];
    settings.query_prompt = prompts.value("query", "");
    settings.passage_prompt = prompts.value("passage", prompts.value("document", ""));
  }
  return settings;
}

}  // namespace

struct LocalEncoder::Impl {
  EmbedderInfo info;
  BertModel model;
  WordPieceTokenizer tokenizer;
  Pooling pooling = Pooling::kMean;
  int max_tokens = 0;
  int threads = 1;
  int batch_size = 32;
  std::string query_prefix, passage_prefix;
};

LocalEncoder::LocalEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalEncoder::~LocalEncoder() = default;

const EmbedderInfo& LocalEncoder::info() const { return impl_->info; }
AttentionKernel LocalEncoder::attention() const { return impl_->model.attention(); }

Result<std::unique_ptr<LocalEncoder>> LocalEncoder::load(const std::filesystem::path& model_dir,
                                                         const LocalEncoderOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    return error(ErrorCode::kNotFound, "embedding model folder " + model_dir.string() + " does not exist");
  }
  if (!std::filesystem::exists(model_dir / "model.safetensors", ec)) {
    const bool has_bin = std::filesystem::exists(model_dir / "pytorch_model.bin", ec);
    return error(ErrorCode::kNotFound, (model_dir / "model.safetensors").string() + " is missing" +
                                           (has_bin ? " (the folder has pytorch_model.bin only: convert it with "
                                                      "safetensors' convert script, or download the safetensors "
                                                      "revision)"
                                                    : ""));
  }
  auto config = BertConfig::from_file(model_dir / "config.json");
  if (!config) return config.status();
  auto settings = read_settings(model_dir);
  if (!settings) return settings.status();
  auto tokenizer = WordPieceTokenizer::load(model_dir);
  if (!tokenizer) return tokenizer.status();
  if (tokenizer->vocab_size() > static_cast<size_t>(config->vocab_size)) {
    return error(ErrorCode::kInvalidArgument, model_dir.string() + ": the tokenizer has " +
                                                  std::to_string(tokenizer->vocab_size()) +
                                                  " tokens but config.json's vocab_size is " +
                                                  std::to_string(config->vocab_size));
  }
  auto model = BertModel::load(model_dir / "model.safetensors", *config);
  if (!model) return model.status();

  KR_RETURN_IF_ERROR(model->use_attention(options.attention));
  auto impl = std::make_unique<Impl>();
  impl->model = std::move(model).value();
  impl->tokenizer = std::move(tokenizer).value();
  impl->pooling = settings->pooling;
  int max_tokens = options.max_tokens > 0 ? options.max_tokens
                   : settings->max_seq_length > 0 ? settings->max_seq_length
                                                  : 512;
  impl->max_tokens = std::min(max_tokens, config->max_position_embeddings);
  impl->threads = options.threads > 0 ? options.threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl->batch_size = std::max(1, options.batch_size);
  impl->query_prefix = options.query_prefix.value_or(settings->query_prompt);
  impl->passage_prefix = options.passage_prefix.value_or(settings->passage_prompt);
  impl->info.model_id = options.model_id.empty() ? model_dir.filename().string() : options.model_id;
  if (impl->info.model_id.empty()) impl->info.model_id = model_dir.parent_path().filename().string();
  impl->info.dimension = config->hidden_size;
  impl->info.max_tokens = impl->max_tokens;
  // Batches run in parallel on our own threads, one BLAS call per thread at a time: OpenBLAS'
  // own threading would oversubscribe the cores (and pays off only for larger matrices).
  static std::once_flag blas_threads;
  std::call_once(blas_threads, [] { openblas_set_num_threads(1); });
  std::unique_ptr<LocalEncoder> encoder(new LocalEncoder(std::move(impl)));
  KR_RETURN_IF_ERROR(encoder->choose_precision(options.precision));
  return encoder;
}

namespace {

// Texts the accuracy probe embeds at load: prose, a question, code, numbers, CJK, a long passage.
std::vector<std::string> probe_texts() {
  std::vector<std::string> texts = {
      "What is the effect of aspirin on cardiovascular mortality in patients with diabetes?",
      "The mitochondrion is the powerhouse of the cell.",
      "def add(a, b):\n    return a + b  # returns the sum",
      "Revenue rose 12.5% to $4.2 billion in Q3 2024, beating estimates by 0.3%.",
      "東京は日本の首都です。人口は約1400万人です。",
      "kubectl apply -f workspace.yaml && kubectl get workspace -w",
      "",
      "Yes.",
  };
  std::string passage;
  for (int i = 0; i < 20; ++i) {
    passage += "Randomized controlled trials compared the intervention with placebo over twelve months, measuring "
               "blood pressure, lipid levels and adverse events in each arm. ";
  }
  texts.push_back(passage);
  return texts;
}

double lowest_cosine(const Embeddings& a, const Embeddings& b) {
  double lowest = 1;
  for (size_t i = 0; i < a.rows(); ++i) {
    double dot = 0;  // both are L2-normalized
    for (size_t c = 0; c < a.row(i).size(); ++c) dot += static_cast<double>(a.row(i)[c]) * b.row(i)[c];
    lowest = std::min(lowest, dot);
  }
  return lowest;
}

double accuracy_bound(EncoderPrecision precision) {
  return precision == EncoderPrecision::kBf16 ? 0.999 : 0.99;
}

}  // namespace

Result<double> LocalEncoder::probe_accuracy(EncoderPrecision precision) {
  const auto texts = probe_texts();
  KR_RETURN_IF_ERROR(impl_->model.use_precision(EncoderPrecision::kFp32));
  auto reference = embed(texts, InputKind::kPassage);
  if (!reference) return reference.status();
  BertModel::InputRanges ranges;
  if (precision == EncoderPrecision::kInt8) {  // calibrate on the probe texts, as queries and as passages
    std::vector<int32_t> packed;
    std::vector<int> lengths;
    for (const auto& text : texts) {
      for (InputKind kind : {InputKind::kQuery, InputKind::kPassage}) {
        const auto ids = tokenize(text, kind);
        packed.insert(packed.end(), ids.begin(), ids.end());
        lengths.push_back(static_cast<int>(ids.size()));
      }
    }
    KR_RETURN_IF_ERROR(impl_->model.calibrate(packed, lengths, ranges));
  }
  KR_RETURN_IF_ERROR(impl_->model.use_precision(precision, ranges.empty() ? nullptr : &ranges));
  auto reduced = embed(texts, InputKind::kPassage);
  if (!reduced) return reduced.status();
  return lowest_cosine(*reference, *reduced);
}

Status LocalEncoder::choose_precision(EncoderPrecision requested) {
  auto chosen = [&](EncoderPrecision precision, const std::string& why, log::Fields fields) {
    impl_->info.precision = precision_name(precision);
    fields.insert(fields.begin(), {{"precision", impl_->info.precision}, {"requested", precision_name(requested)},
                                   {"why", why},
                                   {"attention", attention_kernel_name(impl_->model.attention())}});
    log::info("encoder precision", fields);
    return Status::ok();
  };
  if (requested == EncoderPrecision::kFp32) return chosen(EncoderPrecision::kFp32, "requested", {});
  if (requested != EncoderPrecision::kAuto) {
    if (Status tested = self_test(requested); !tested) {
      return error(ErrorCode::kUnsupported, "encoder_precision " + std::string(precision_name(requested)) + ": " +
                                                tested.message() + "; use auto or fp32");
    }
    auto accuracy = probe_accuracy(requested);
    if (!accuracy) return accuracy.status();
    const std::string native = native_instructions(requested);
    if (native.empty()) {
      log::warn("this CPU has no native instructions for the requested encoder precision: oneDNN emulates it "
                "(slower than fp32)", {{"precision", precision_name(requested)}});
    }
    return chosen(requested, "requested",
                  {{"instructions", native.empty() ? "emulated" : native},
                   {"probe_cosine_min", std::to_string(*accuracy)}});
  }
  // Auto: int8 first (fastest), then bf16; each only with native instructions and both checks.
  std::string declined;
  for (EncoderPrecision candidate : {EncoderPrecision::kInt8, EncoderPrecision::kBf16}) {
    const std::string name = precision_name(candidate);
    const std::string native = native_instructions(candidate);
    if (native.empty()) {
      declined += name + ": no native instructions; ";
      continue;
    }
    if (Status tested = self_test(candidate); !tested) {
      declined += name + ": " + tested.message() + "; ";
      continue;
    }
    auto accuracy = probe_accuracy(candidate);
    if (accuracy && *accuracy >= accuracy_bound(candidate)) {
      return chosen(candidate, "fastest path whose self-test and accuracy check pass",
                    {{"instructions", native}, {"probe_cosine_min", std::to_string(*accuracy)}});
    }
    declined += name + ": " +
                (accuracy ? "probe cosine " + std::to_string(*accuracy) + " below the bound" : accuracy.status().message()) +
                "; ";
  }
  KR_RETURN_IF_ERROR(impl_->model.use_precision(EncoderPrecision::kFp32));
  return chosen(EncoderPrecision::kFp32, "no reduced-precision path passed", {{"declined", declined}});
}

std::vector<int32_t> LocalEncoder::tokenize(const std::string& text, InputKind kind) const {
  const std::string& prefix = kind == InputKind::kQuery ? impl_->query_prefix : impl_->passage_prefix;
  return impl_->tokenizer.encode(prefix.empty() ? text : prefix + text, impl_->max_tokens);
}

int LocalEncoder::count_tokens(std::string_view text, InputKind kind) const {
  const std::string& prefix = kind == InputKind::kQuery ? impl_->query_prefix : impl_->passage_prefix;
  std::string input = prefix;
  input.append(text);
  return static_cast<int>(impl_->tokenizer.encode(input, impl_->max_tokens + 1).size());
}

Result<Embeddings> LocalEncoder::embed(std::span<const std::string> texts, InputKind kind) {
  const size_t dim = static_cast<size_t>(impl_->info.dimension);
  Embeddings result;
  result.dimension = impl_->info.dimension;
  result.values.assign(texts.size() * dim, 0.0f);
  if (texts.empty()) return result;

  std::vector<std::vector<int32_t>> ids(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) ids[i] = tokenize(texts[i], kind);

  // Longest first, cut into batches by count and token budget.
  std::vector<size_t> order(texts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  std::vector<std::pair<size_t, size_t>> batches;  // [begin, end) in `order`
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin, tokens = 0;
    while (end < order.size() && end - begin < static_cast<size_t>(impl_->batch_size) &&
           (end == begin || tokens + ids[order[end]].size() <= kMaxTokensPerPass)) {
      tokens += ids[order[end]].size();
      ++end;
    }
    batches.emplace_back(begin, end);
    begin = end;
  }

  std::atomic<size_t> next_batch{0};
  std::mutex failure_mutex;
  Status failure;
  auto worker = [&] {
    BertModel::Scratch scratch;
    std::vector<int32_t> packed;
    std::vector<int> lengths;
    std::vector<float> pooled;
    for (size_t b = next_batch++; b < batches.size(); b = next_batch++) {
      const auto [begin, end] = batches[b];
      packed.clear();
      lengths.clear();
      for (size_t k = begin; k < end; ++k) {
        const auto& sequence = ids[order[k]];
        packed.insert(packed.end(), sequence.begin(), sequence.end());
        lengths.push_back(static_cast<int>(sequence.size()));
      }
      pooled.resize(lengths.size() * dim);
      if (Status encoded = impl_->model.encode(packed, lengths, impl_->pooling, pooled.data(), scratch); !encoded) {
        std::lock_guard lock(failure_mutex);
        if (failure.is_ok()) failure = encoded;
        continue;
      }
      for (size_t k = begin; k < end; ++k) {
        float* row = result.values.data() + order[k] * dim;
        std::copy_n(pooled.data() + (k - begin) * dim, dim, row);
        normalize_l2({row, dim});
      }
    }
  };
  const size_t workers = std::min(batches.size(), static_cast<size_t>(impl_->threads));
  std::vector<std::jthread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(worker);
  worker();
  pool.clear();  // joins
  if (!failure.is_ok()) return failure;
  return result;
}

}  // namespace kr::embed
