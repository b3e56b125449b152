// Metrics against naive references: plain loops over samples on std::vector
// data drawn with <random>, fed to the metrics in uneven batches.
// LibTorch first: Debian's c10 pulls in glog, whose CHECK must not replace doctest's.
#include <lightning/metrics/metrics.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace M = lightning::metrics;
using M::Average;
using M::Task;

namespace {

// Uneven on purpose: a mean of batch values weights the batch of 1 like the batch of 29.
const std::vector<int64_t> kBatches = {7, 13, 1, 29};
constexpr int64_t kSamples = 50;

// ---- Data, drawn without LibTorch so the references never touch it ----

std::vector<float> normal_values(size_t n, unsigned seed, float scale = 1) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<float> uniform_values(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(0, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<int64_t> int_values(size_t n, int64_t lo, int64_t hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

torch::Tensor to_tensor(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::tensor(v, torch::kFloat).reshape(shape);
}
torch::Tensor to_tensor(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  return torch::tensor(v, torch::kLong).reshape(shape);
}

/// Calls f(first sample, batch size) for each batch of kBatches.
template <class F>
void for_each_batch(F&& f) {
  int64_t begin = 0;
  for (auto size : kBatches) {
    f(begin, size);
    begin += size;
  }
}

/// Feeds (preds, target) to the metric in kBatches batches along dim 0.
template <class Metric>
torch::Tensor run_batches(Metric& m, const torch::Tensor& preds, const torch::Tensor& target) {
  for_each_batch([&](int64_t b, int64_t n) { m.update(preds.narrow(0, b, n), target.narrow(0, b, n)); });
  return m.compute();
}

double value(const torch::Tensor& t) { return t.item<double>(); }

std::vector<double> values(const torch::Tensor& t) {
  auto d = t.to(torch::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// ---- Reference: counts per class from plain loops, torchmetrics' reductions ----

struct RefCounts {
  std::vector<int64_t> tp, fp, tn, fn;
  explicit RefCounts(size_t classes) : tp(classes), fp(classes), tn(classes), fn(classes) {}
  void add(size_t c, bool predicted, bool actual) {
    if (predicted && actual) ++tp[c];
    else if (predicted) ++fp[c];
    else if (actual) ++fn[c];
    else ++tn[c];
  }
};

std::vector<int64_t> top_k_classes(const float* scores, int64_t classes, int64_t k) {
  std::vector<int64_t> idx(classes);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  idx.resize(k);
  return idx;
}

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

double ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

enum class Kind { accuracy, precision, recall, f1 };

/// One class's score; `with_negatives`: accuracy counts tn (binary, multilabel).
double ref_score(Kind kind, double tp, double fp, double tn, double fn, bool with_negatives) {
  switch (kind) {
    case Kind::accuracy: return with_negatives ? ratio(tp + tn, tp + fp + tn + fn) : ratio(tp, tp + fn);
    case Kind::precision: return ratio(tp, tp + fp);
    case Kind::recall: return ratio(tp, tp + fn);
    case Kind::f1: return ratio(2 * tp, 2 * tp + fp + fn);
  }
  return -1;
}

std::vector<double> ref_per_class(Kind kind, const RefCounts& c, bool multilabel) {
  std::vector<double> out;
  for (size_t i = 0; i < c.tp.size(); ++i) out.push_back(ref_score(kind, c.tp[i], c.fp[i], c.tn[i], c.fn[i], multilabel));
  return out;
}

/// torchmetrics' averages. Macro, multiclass: a class is left out when it has no
/// tp, fp, fn (top_k == 1 or F1), or when it is never a target (top_k > 1, others).
double ref_average(Kind kind, const RefCounts& c, Average avg, bool multilabel, int64_t top_k) {
  const size_t n = c.tp.size();
  if (avg == Average::micro) {
    double tp = 0, fp = 0, tn = 0, fn = 0;
    for (size_t i = 0; i < n; ++i) tp += c.tp[i], fp += c.fp[i], tn += c.tn[i], fn += c.fn[i];
    return ref_score(kind, tp, fp, tn, fn, multilabel);
  }
  auto scores = ref_per_class(kind, c, multilabel);
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double w = 1;
    if (avg == Average::weighted) {
      w = c.tp[i] + c.fn[i];
    } else if (!multilabel) {
      const bool never_target = c.tp[i] + c.fn[i] == 0;
      const bool untouched = c.tp[i] + c.fp[i] + c.fn[i] == 0;
      if ((kind != Kind::f1 && top_k > 1) ? never_target : untouched) w = 0;
    }
    num += w * scores[i];
    den += w;
  }
  return ratio(num, den);
}

/// Runs Metric over the batches and compares with the reference for o.average.
template <class Metric>
void check_against_reference(Kind kind, const M::ClassificationOptions& o, const torch::Tensor& preds,
                             const torch::Tensor& target, const RefCounts& ref) {
  const bool multilabel = o.task == Task::multilabel;
  Metric metric(o);
  auto got = run_batches(metric, preds, target);
  CHECK((got.scalar_type() == torch::kFloat));
  if (o.average == Average::none) {
    auto expected = ref_per_class(kind, ref, multilabel);
    auto actual = values(got);
    REQUIRE(actual.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      INFO("class " << i);
      CHECK(actual[i] == doctest::Approx(expected[i]));
    }
  } else {
    CHECK(got.dim() == 0);
    CHECK(value(got) == doctest::Approx(ref_average(kind, ref, o.average, multilabel, o.top_k)));
  }
}

/// All four stat-score metrics against the reference.
void check_all_against_reference(const M::ClassificationOptions& o, const torch::Tensor& preds,
                                 const torch::Tensor& target, const RefCounts& ref) {
  INFO("task " << static_cast<int>(o.task) << ", average " << static_cast<int>(o.average) << ", top_k " << o.top_k);
  {
    INFO("Accuracy");
    check_against_reference<M::Accuracy>(Kind::accuracy, o, preds, target, ref);
  }
  {
    INFO("Precision");
    check_against_reference<M::Precision>(Kind::precision, o, preds, target, ref);
  }
  {
    INFO("Recall");
    check_against_reference<M::Recall>(Kind::recall, o, preds, target, ref);
  }
  {
    INFO("F1Score");
    check_against_reference<M::F1Score>(Kind::f1, o, preds, target, ref);
  }
}

constexpr Average kAverages[] = {Average::micro, Average::macro, Average::weighted, Average::none};

/// Copies of a metric's states, in for_each_state order.
template <class Metric>
std::vector<torch::Tensor> states_of(Metric& m) {
  std::vector<torch::Tensor> out;
  m.for_each_state([&](torch::Tensor& s, M::Reduction) { out.push_back(s); });
  return out;
}

bool same_states(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].sizes() != b[i].sizes() || !torch::equal(a[i], b[i])) return false;
  return true;
}

}  // namespace

static_assert(M::SyncableMetric<M::Accuracy>);
static_assert(M::SyncableMetric<M::Precision>);
static_assert(M::SyncableMetric<M::Recall>);
static_assert(M::SyncableMetric<M::F1Score>);
static_assert(M::SyncableMetric<M::ConfusionMatrix>);
static_assert(M::SyncableMetric<M::MeanSquaredError>);
static_assert(M::SyncableMetric<M::MeanAbsoluteError>);
static_assert(M::SyncableMetric<M::MeanMetric>);
static_assert(M::SyncableMetric<M::SumMetric>);
static_assert(M::SyncableMetric<M::MinMetric>);
static_assert(M::SyncableMetric<M::MaxMetric>);
static_assert(!M::SyncableMetric<torch::Tensor>);

TEST_CASE("metrics: the original Accuracy interface is multiclass top-1 micro") {
  M::Accuracy acc{{.num_classes = 3}};
  CHECK(acc.options().num_classes == 3);
  CHECK(acc.options().top_k == 1);
  CHECK(acc.options().task == Task::multiclass);
  CHECK(acc.options().average == Average::micro);
  CHECK(value(acc.compute()) == 0.0);  // before any update
  // Predicted class y % 3 against target y % 2 for y = 0..9: hits at 0, 1, 6, 7.
  auto y = torch::arange(10);
  acc.update(torch::one_hot(y % 3, 3).to(torch::kFloat), y % 2);
  CHECK(value(acc.compute()) == doctest::Approx(0.4));
  M::Accuracy full({.task = Task::multiclass, .num_classes = 10, .top_k = 1, .average = Average::micro});
  CHECK(full.options().num_classes == 10);
}

TEST_CASE("metrics: hand-computed multiclass values") {
  // torchmetrics' documented example: per-class precision [1, 0.5, 1], macro 0.8333.
  auto target = torch::tensor({2, 1, 0, 0});
  auto labels = torch::tensor({2, 1, 0, 1});
  auto scores = torch::tensor({{0.16, 0.26, 0.58}, {0.22, 0.61, 0.17}, {0.71, 0.09, 0.20}, {0.05, 0.82, 0.13}});
  for (const auto& preds : {labels, scores}) {
    M::Precision per_class({.num_classes = 3, .average = Average::none});
    per_class.update(preds, target);
    auto p = values(per_class.compute());
    REQUIRE(p.size() == 3);
    CHECK(p[0] == doctest::Approx(1.0));
    CHECK(p[1] == doctest::Approx(0.5));
    CHECK(p[2] == doctest::Approx(1.0));
    M::Precision macro({.num_classes = 3, .average = Average::macro});
    macro.update(preds, target);
    CHECK(value(macro.compute()) == doctest::Approx(5.0 / 6));
    M::Recall recall({.num_classes = 3, .average = Average::macro});  // 1/2, 1, 1
    recall.update(preds, target);
    CHECK(value(recall.compute()) == doctest::Approx(5.0 / 6));
    M::Accuracy acc({.num_classes = 3});
    acc.update(preds, target);
    CHECK(value(acc.compute()) == doctest::Approx(0.75));
    M::F1Score f1({.num_classes = 3, .average = Average::weighted});  // f1 2/3, 2/3, 1 with support 2, 1, 1
    f1.update(preds, target);
    CHECK(value(f1.compute()) == doctest::Approx((2 * 2.0 / 3 + 2.0 / 3 + 1) / 4));
  }
}

TEST_CASE("metrics: macro over classes absent from the targets, as torchmetrics") {
  SUBCASE("a class never a target and never predicted is left out") {
    // Classes 2 and 3 have no tp, fp, fn: precision (1 + 0.5) / 2, not / 4.
    M::Precision p({.num_classes = 4, .average = Average::macro});
    p.update(torch::tensor({0, 1, 1}), torch::tensor({0, 0, 1}));
    CHECK(value(p.compute()) == doctest::Approx(0.75));
    M::Accuracy a({.num_classes = 4, .average = Average::macro});  // recall 1/2 and 1
    a.update(torch::tensor({0, 1, 1}), torch::tensor({0, 0, 1}));
    CHECK(value(a.compute()) == doctest::Approx(0.75));
  }
  SUBCASE("a class predicted but never a target counts with score 0") {
    auto preds = torch::tensor({0, 2, 1}), target = torch::tensor({0, 0, 1});
    M::Precision p({.num_classes = 3, .average = Average::macro});  // 1, 1, 0
    p.update(preds, target);
    CHECK(value(p.compute()) == doctest::Approx(2.0 / 3));
    M::Recall r({.num_classes = 3, .average = Average::macro});  // 1/2, 1, 0/0 -> 0
    r.update(preds, target);
    CHECK(value(r.compute()) == doctest::Approx(0.5));
    M::F1Score f({.num_classes = 3, .average = Average::macro});  // 2/3, 1, 0
    f.update(preds, target);
    CHECK(value(f.compute()) == doctest::Approx((2.0 / 3 + 1) / 3));
    M::Recall none({.num_classes = 3, .average = Average::none, .zero_division = 1});
    none.update(preds, target);
    CHECK(values(none.compute())[2] == doctest::Approx(1.0));  // zero_division for 0/0
  }
}

TEST_CASE("metrics: hand-computed top-2") {
  // Top-2 sets {1,2}, {0,1}, {1,2}, {0,2} against targets 2, 2, 0, 0: hits on samples 0 and 3.
  auto scores = torch::tensor({{0.1, 0.5, 0.4}, {0.6, 0.3, 0.1}, {0.2, 0.3, 0.5}, {0.7, 0.1, 0.2}});
  auto target = torch::tensor({2, 2, 0, 0});
  auto run = [&](auto metric) {
    metric.update(scores, target);
    return value(metric.compute());
  };
  CHECK(run(M::Accuracy({.num_classes = 3, .top_k = 2})) == doctest::Approx(0.5));
  CHECK(run(M::Accuracy({.num_classes = 3, .top_k = 1})) == doctest::Approx(0.25));
  CHECK(run(M::Precision({.num_classes = 3, .top_k = 2})) == doctest::Approx(2.0 / 8));
  // Class 1 is never a target: left out of macro precision/recall with top_k > 1.
  CHECK(run(M::Recall({.num_classes = 3, .top_k = 2, .average = Average::macro})) == doctest::Approx(0.5));
  CHECK(run(M::Precision({.num_classes = 3, .top_k = 2, .average = Average::macro})) ==
        doctest::Approx((1.0 / 2 + 1.0 / 3) / 2));
  // F1 keeps it (it has fp): (0.5 + 0 + 0.4) / 3.
  CHECK(run(M::F1Score({.num_classes = 3, .top_k = 2, .average = Average::macro})) == doctest::Approx(0.3));
}

TEST_CASE("metrics: hand-computed binary and multilabel values") {
  // tp 2, fp 1, tn 2, fn 1 (torchmetrics' binary_stat_scores example).
  auto target = torch::tensor({0, 1, 0, 1, 0, 1});
  auto probs = torch::tensor({0.11, 0.22, 0.84, 0.73, 0.33, 0.92});
  auto run = [](auto metric, const torch::Tensor& p, const torch::Tensor& t) {
    metric.update(p, t);
    return value(metric.compute());
  };
  const M::ClassificationOptions binary{.task = Task::binary};
  CHECK(run(M::Accuracy(binary), probs, target) == doctest::Approx(4.0 / 6));
  CHECK(run(M::Precision(binary), probs, target) == doctest::Approx(2.0 / 3));
  CHECK(run(M::Recall(binary), probs, target) == doctest::Approx(2.0 / 3));
  CHECK(run(M::F1Score(binary), probs, target) == doctest::Approx(2.0 / 3));
  // The same probabilities as logits (sigmoid is monotone): identical decisions.
  auto logits = torch::log(probs / (1 - probs));
  CHECK(run(M::Accuracy(binary), logits, target) == doctest::Approx(4.0 / 6));
  // threshold 0.25 makes 0.33 positive: tp 2, fp 2.
  CHECK(run(M::Precision({.task = Task::binary, .threshold = 0.25}), probs, target) == doctest::Approx(0.5));

  // torchmetrics' multilabel example: per-label precision [1, 0, 0.5].
  auto ml_target = torch::tensor({{0, 1, 0}, {1, 0, 1}});
  auto ml_preds = torch::tensor({{0, 0, 1}, {1, 0, 1}});
  auto ml_probs = torch::tensor({{0.11, 0.22, 0.84}, {0.73, 0.33, 0.92}});
  M::Precision per_label({.task = Task::multilabel, .num_labels = 3, .average = Average::none});
  per_label.update(ml_preds, ml_target);
  auto p = values(per_label.compute());
  CHECK((p == std::vector<double>{1.0, 0.0, 0.5}));
  const M::ClassificationOptions ml_macro{.task = Task::multilabel, .num_labels = 3, .average = Average::macro};
  CHECK(run(M::Precision(ml_macro), ml_probs, ml_target) == doctest::Approx(0.5));
  // Accuracy per label (tp + tn) / 2: 1, 0.5, 0.5.
  CHECK(run(M::Accuracy(ml_macro), ml_probs, ml_target) == doctest::Approx(2.0 / 3));
  CHECK(run(M::Accuracy({.task = Task::multilabel, .num_labels = 3}), ml_probs, ml_target) ==
        doctest::Approx(4.0 / 6));
}

TEST_CASE("metrics: multiclass against the reference, uneven batches") {
  const int64_t C = 6;
  auto scores = normal_values(kSamples * C, 11);
  for (int64_t i = 0; i < kSamples; ++i) scores[i * C + 5] = -100;  // class 5: never predicted
  scores[0 * C + 4] = scores[20 * C + 4] = 50;                          // class 4: predicted at least twice
  auto targets = int_values(kSamples, 0, 3, 12);                       // classes 4, 5: never a target
  auto preds = to_tensor(scores, {kSamples, C});
  auto target = to_tensor(targets, {kSamples});
  for (int64_t k : {1, 2, 3}) {
    RefCounts ref(C);
    int64_t hits = 0;
    for (int64_t i = 0; i < kSamples; ++i) {
      auto top = top_k_classes(&scores[i * C], C, k);
      for (int64_t c = 0; c < C; ++c) ref.add(c, contains(top, c), targets[i] == c);
      hits += contains(top, targets[i]);
    }
    REQUIRE(ref.fp[4] > 0);
    for (auto avg : kAverages)
      check_all_against_reference({.num_classes = C, .top_k = k, .average = avg}, preds, target, ref);
    // Micro, straight from the samples: hits / N, and precision over k guesses each.
    M::Accuracy acc({.num_classes = C, .top_k = k});
    CHECK(value(run_batches(acc, preds, target)) == doctest::Approx(double(hits) / kSamples));
    M::Precision prec({.num_classes = C, .top_k = k});
    CHECK(value(run_batches(prec, preds, target)) == doctest::Approx(double(hits) / (kSamples * k)));
  }
  {
    INFO("integer label preds");
    auto labels = int_values(kSamples, 0, C - 2, 13);
    RefCounts ref(C);
    for (int64_t i = 0; i < kSamples; ++i)
      for (int64_t c = 0; c < C; ++c) ref.add(c, labels[i] == c, targets[i] == c);
    for (auto avg : kAverages)
      check_all_against_reference({.num_classes = C, .average = avg}, to_tensor(labels, {kSamples}), target, ref);
  }
}

TEST_CASE("metrics: multiclass with extra dims (N, C, X) and ignore_index") {
  const int64_t C = 4, X = 5;
  auto scores = normal_values(kSamples * C * X, 21);
  auto targets = int_values(kSamples * X, -1, C - 1, 22);  // -1: ignored
  auto preds = to_tensor(scores, {kSamples, C, X});
  auto target = to_tensor(targets, {kSamples, X});
  RefCounts ref(C);
  for (int64_t n = 0; n < kSamples; ++n)
    for (int64_t x = 0; x < X; ++x) {
      const int64_t t = targets[n * X + x];
      if (t == -1) continue;
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (scores[(n * C + c) * X + x] > scores[(n * C + best) * X + x]) best = c;
      for (int64_t c = 0; c < C; ++c) ref.add(c, best == c, t == c);
    }
  REQUIRE(std::count(targets.begin(), targets.end(), -1) > 0);
  for (auto avg : kAverages)
    check_all_against_reference({.num_classes = C, .average = avg, .ignore_index = -1}, preds, target, ref);
  // Without ignore_index the -1 targets are an error, not silently counted.
  M::Accuracy strict({.num_classes = C});
  CHECK_THROWS_WITH_AS(strict.update(preds, target), doctest::Contains("target holds -1"), std::invalid_argument);
}

TEST_CASE("metrics: binary against the reference, probabilities and logits") {
  auto targets = int_values(kSamples, 0, 1, 31);
  for (bool logits : {false, true}) {
    auto raw = logits ? normal_values(kSamples, 32, 3) : uniform_values(kSamples, 33);
    if (logits) {
      // The batch of one (sample 20) holds a value inside [0, 1]: torchmetrics takes that batch
      // as a probability (0.4 -> negative), where a sigmoid would give 0.6 -> positive.
      raw[20] = 0.4f;
      targets[20] = 1;
    }
    for (double threshold : {0.5, 0.3}) {
      INFO("logits " << logits << ", threshold " << threshold);
      RefCounts ref(1);
      for_each_batch([&](int64_t b, int64_t n) {
        bool are_logits = false;
        for (int64_t i = b; i < b + n; ++i) are_logits |= raw[i] < 0 || raw[i] > 1;
        for (int64_t i = b; i < b + n; ++i) {
          const double p = are_logits ? sigmoid(raw[i]) : raw[i];
          ref.add(0, p > threshold, targets[i] == 1);
        }
      });
      const M::ClassificationOptions o{.task = Task::binary, .threshold = threshold};
      auto preds = to_tensor(raw, {kSamples});
      auto target = to_tensor(targets, {kSamples});
      auto run = [&](auto metric) { return value(run_batches(metric, preds, target)); };
      const double tp = ref.tp[0], fp = ref.fp[0], tn = ref.tn[0], fn = ref.fn[0];
      CHECK(run(M::Accuracy(o)) == doctest::Approx((tp + tn) / kSamples));
      CHECK(run(M::Precision(o)) == doctest::Approx(ratio(tp, tp + fp)));
      CHECK(run(M::Recall(o)) == doctest::Approx(ratio(tp, tp + fn)));
      CHECK(run(M::F1Score(o)) == doctest::Approx(ratio(2 * tp, 2 * tp + fp + fn)));
      // Average does not apply to binary.
      M::ClassificationOptions macro = o;
      macro.average = Average::macro;
      CHECK(run(M::Precision(macro)) == doctest::Approx(ratio(tp, tp + fp)));
      // A bool target reads the same as an integer one.
      M::Recall with_bool(o);
      CHECK(value(run_batches(with_bool, preds, target.to(torch::kBool))) == doctest::Approx(ratio(tp, tp + fn)));
    }
  }
}

TEST_CASE("metrics: multilabel against the reference") {
  const int64_t L = 4;
  auto targets = int_values(kSamples * L, 0, 1, 41);
  for (int64_t i = 0; i < kSamples; ++i) targets[i * L + 3] = 0;  // label 3 is never positive
  for (bool logits : {false, true}) {
    auto raw = logits ? normal_values(kSamples * L, 42, 2) : uniform_values(kSamples * L, 43);
    RefCounts ref(L);
    for_each_batch([&](int64_t b, int64_t n) {
      bool are_logits = false;
      for (int64_t i = b * L; i < (b + n) * L; ++i) are_logits |= raw[i] < 0 || raw[i] > 1;
      for (int64_t i = b; i < b + n; ++i)
        for (int64_t l = 0; l < L; ++l) {
          const double p = are_logits ? sigmoid(raw[i * L + l]) : raw[i * L + l];
          ref.add(l, p > 0.5, targets[i * L + l] == 1);
        }
    });
    INFO("logits " << logits);
    for (auto avg : kAverages)
      check_all_against_reference({.task = Task::multilabel, .num_labels = L, .average = avg},
                                  to_tensor(raw, {kSamples, L}), to_tensor(targets, {kSamples, L}), ref);
  }
}

TEST_CASE("metrics: ConfusionMatrix against the reference") {
  SUBCASE("hand-computed, torchmetrics orientation (rows = target)") {
    M::ConfusionMatrix multiclass({.num_classes = 3});
    multiclass.update(torch::tensor({2, 1, 0, 1}), torch::tensor({2, 1, 0, 0}));
    auto m = multiclass.compute();
    CHECK((m.scalar_type() == torch::kLong));
    CHECK(torch::equal(m, torch::tensor({{1, 1, 0}, {0, 1, 0}, {0, 0, 1}}, torch::kLong)));
    M::ConfusionMatrix binary({.task = Task::binary});
    binary.update(torch::tensor({0.35, 0.85, 0.48, 0.01}), torch::tensor({1, 1, 0, 0}));
    CHECK(torch::equal(binary.compute(), torch::tensor({{2, 0}, {1, 1}}, torch::kLong)));
    M::ConfusionMatrix multilabel({.task = Task::multilabel, .num_labels = 3});
    multilabel.update(torch::tensor({{0, 0, 1}, {1, 0, 1}}), torch::tensor({{0, 1, 0}, {1, 0, 1}}));
    CHECK(torch::equal(multilabel.compute(),
                       torch::tensor({1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1}, torch::kLong).reshape({3, 2, 2})));
  }
  SUBCASE("random multiclass scores, counts and normalizations") {
    const int64_t C = 5;
    auto scores = normal_values(kSamples * C, 51);
    auto targets = int_values(kSamples, 0, C - 2, 52);  // class 4: never a target (a zero row)
    std::vector<std::vector<double>> ref(C, std::vector<double>(C, 0));
    for (int64_t i = 0; i < kSamples; ++i)
      ref[targets[i]][top_k_classes(&scores[i * C], C, 1)[0]] += 1;
    auto preds = to_tensor(scores, {kSamples, C});
    auto target = to_tensor(targets, {kSamples});
    for (auto norm : {M::Normalize::none, M::Normalize::target, M::Normalize::pred, M::Normalize::all}) {
      INFO("normalize " << static_cast<int>(norm));
      M::ConfusionMatrix cm({.num_classes = C, .normalize = norm});
      auto got = run_batches(cm, preds, target);
      REQUIRE(got.sizes() == torch::IntArrayRef{C, C});
      for (int64_t t = 0; t < C; ++t)
        for (int64_t p = 0; p < C; ++p) {
          double row = 0, col = 0, all = 0;
          for (int64_t j = 0; j < C; ++j) row += ref[t][j], col += ref[j][p];
          for (auto& r : ref) all += std::accumulate(r.begin(), r.end(), 0.0);
          const double den = norm == M::Normalize::none ? 1 : norm == M::Normalize::target ? row
                             : norm == M::Normalize::pred ? col : all;
          CHECK(got[t][p].item<double>() == doctest::Approx(ratio(ref[t][p], den)));
        }
    }
  }
  SUBCASE("random multilabel") {
    const int64_t L = 3;
    auto raw = uniform_values(kSamples * L, 53);
    auto targets = int_values(kSamples * L, 0, 1, 54);
    M::ConfusionMatrix cm({.task = Task::multilabel, .num_labels = L, .threshold = 0.7});
    auto got = run_batches(cm, to_tensor(raw, {kSamples, L}), to_tensor(targets, {kSamples, L}));
    for (int64_t l = 0; l < L; ++l) {
      int64_t ref[2][2] = {{0, 0}, {0, 0}};
      for (int64_t i = 0; i < kSamples; ++i) ++ref[targets[i * L + l]][raw[i * L + l] > 0.7f ? 1 : 0];
      for (int t = 0; t < 2; ++t)
        for (int p = 0; p < 2; ++p) CHECK(got[l][t][p].item<int64_t>() == ref[t][p]);
    }
  }
}

TEST_CASE("metrics: regression against the reference") {
  // sklearn's example: squared errors 0.25, 0.25, 0, 1; absolute 0.5, 0.5, 0, 1.
  M::MeanSquaredError mse_small;
  mse_small.update(torch::tensor({2.5, 0.0, 2.0, 8.0}), torch::tensor({3.0, -0.5, 2.0, 7.0}));
  CHECK(value(mse_small.compute()) == doctest::Approx(0.375));
  M::MeanAbsoluteError mae_small;
  mae_small.update(torch::tensor({2.5, 0.0, 2.0, 8.0}), torch::tensor({3.0, -0.5, 2.0, 7.0}));
  CHECK(value(mae_small.compute()) == doctest::Approx(0.5));
  CHECK(std::isnan(value(M::MeanSquaredError{}.compute())));  // torchmetrics: 0/0 before any update

  auto p = normal_values(kSamples * 2, 61), t = normal_values(kSamples * 2, 62);
  double se = 0, ae = 0;
  for (size_t i = 0; i < p.size(); ++i) se += (p[i] - t[i]) * double(p[i] - t[i]), ae += std::abs(p[i] - t[i]);
  auto preds = to_tensor(p, {kSamples, 2}), target = to_tensor(t, {kSamples, 2});
  M::MeanSquaredError mse;
  CHECK(value(run_batches(mse, preds, target)) == doctest::Approx(se / p.size()));
  M::MeanSquaredError rmse({.squared = false});
  CHECK(value(run_batches(rmse, preds, target)) == doctest::Approx(std::sqrt(se / p.size())));
  M::MeanAbsoluteError mae;
  CHECK(value(run_batches(mae, preds, target)) == doctest::Approx(ae / p.size()));
}

TEST_CASE("metrics: aggregation against the reference, NaN left out") {
  auto v = normal_values(kSamples, 71, 5);
  auto w = uniform_values(kSamples, 72);
  v[3] = v[40] = std::numeric_limits<float>::quiet_NaN();
  double sum = 0, weighted = 0, weight = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < kSamples; ++i) {
    if (std::isnan(v[i])) continue;
    sum += v[i], weighted += double(v[i]) * w[i], weight += w[i];
    lo = std::min(lo, double(v[i])), hi = std::max(hi, double(v[i]));
  }
  auto values_t = to_tensor(v, {kSamples}), weights_t = to_tensor(w, {kSamples});
  M::SumMetric s;
  M::MinMetric mn;
  M::MaxMetric mx;
  M::MeanMetric mean;
  for_each_batch([&](int64_t b, int64_t n) {
    auto x = values_t.narrow(0, b, n);
    s.update(x);
    mn.update(x);
    mx.update(x);
    mean.update(x, weights_t.narrow(0, b, n));
  });
  CHECK(value(s.compute()) == doctest::Approx(sum));
  CHECK(value(mn.compute()) == doctest::Approx(lo));
  CHECK(value(mx.compute()) == doctest::Approx(hi));
  CHECK(value(mean.compute()) == doctest::Approx(weighted / weight));

  M::SumMetric propagate({.nan_strategy = M::NanStrategy::propagate});
  propagate.update(values_t);
  CHECK(std::isnan(value(propagate.compute())));
  M::MaxMetric strict({.nan_strategy = M::NanStrategy::error});
  CHECK_THROWS_WITH_AS(strict.update(values_t), doctest::Contains("NaN"), std::invalid_argument);

  // Numbers work as values and weights: (2 * 3 + 4 + 6) / (3 + 1 + 1).
  M::MeanMetric numbers;
  numbers.update(2.0, 3.0);
  numbers.update(torch::tensor({4.0, 6.0}));
  CHECK(value(numbers.compute()) == doctest::Approx(16.0 / 5));
  M::MinMetric min_numbers;
  min_numbers.update(3.0);
  min_numbers.update(-1.5);
  CHECK(value(min_numbers.compute()) == doctest::Approx(-1.5));
  CHECK(value(M::MaxMetric{}.compute()) == -std::numeric_limits<double>::infinity());
  CHECK(value(M::SumMetric{}.compute()) == 0.0);
}

TEST_CASE("metrics: the epoch value comes from the state, not a mean of batch values") {
  // Accuracy: 1 of 1 right, then 0 of 3: epoch 1/4, batch mean 1/2.
  M::Accuracy acc({.num_classes = 2});
  acc.update(torch::tensor({1}), torch::tensor({1}));
  CHECK(value(acc.compute()) == doctest::Approx(1.0));
  acc.update(torch::tensor({1, 1, 1}), torch::tensor({0, 0, 0}));
  CHECK(value(acc.compute()) == doctest::Approx(0.25));

  // The same on random data for metrics whose per-batch values a mean would mix.
  const int64_t C = 4;
  auto preds = to_tensor(normal_values(kSamples * C, 81), {kSamples, C});
  auto target = to_tensor(int_values(kSamples, 0, C - 1, 82), {kSamples});
  auto epoch_vs_batch_mean = [&](auto make) {
    auto whole = make();
    const double epoch = value(run_batches(whole, preds, target));
    auto all_at_once = make();
    all_at_once.update(preds, target);
    double batch_mean = 0;
    for_each_batch([&](int64_t b, int64_t n) {
      auto one = make();
      one.update(preds.narrow(0, b, n), target.narrow(0, b, n));
      batch_mean += value(one.compute()) / kBatches.size();
    });
    CHECK(epoch == doctest::Approx(value(all_at_once.compute())));
    CHECK(std::abs(epoch - batch_mean) > 1e-3);
  };
  epoch_vs_batch_mean([] { return M::Accuracy({.num_classes = C}); });
  epoch_vs_batch_mean([] { return M::F1Score({.num_classes = C, .average = Average::macro}); });
  epoch_vs_batch_mean([] { return M::Recall({.num_classes = C, .top_k = 2, .average = Average::weighted}); });
  auto float_target = target.to(torch::kFloat).unsqueeze(1).expand({kSamples, C});
  auto regression = [&](auto metric) {
    const double epoch = value(run_batches(metric, preds, float_target));
    double batch_mean = 0;
    for_each_batch([&](int64_t b, int64_t n) {
      decltype(metric) one;
      one.update(preds.narrow(0, b, n), float_target.narrow(0, b, n));
      batch_mean += value(one.compute()) / kBatches.size();
    });
    CHECK(std::abs(epoch - batch_mean) > 1e-3);
  };
  regression(M::MeanSquaredError{});
  regression(M::MeanAbsoluteError{});
}

TEST_CASE("metrics: reset() clears every state") {
  const int64_t C = 3;
  auto scores = to_tensor(normal_values(kSamples * C, 91), {kSamples, C});
  auto labels = to_tensor(int_values(kSamples, 0, C - 1, 92), {kSamples});
  auto reals = to_tensor(normal_values(kSamples, 93), {kSamples});
  auto check_reset = [](auto metric, auto&& update) {
    auto fresh = states_of(metric);
    const auto fresh_value = metric.compute().clone();
    update(metric);
    CHECK_FALSE(same_states(states_of(metric), fresh));
    metric.reset();
    CHECK(same_states(states_of(metric), fresh));
    CHECK(torch::allclose(metric.compute(), fresh_value, 1e-5, 1e-8, /*equal_nan=*/true));
    // A reset metric computes like a new one on the next data.
    auto again = metric;
    update(metric);
    update(again);  // copies share no state
    CHECK(torch::allclose(metric.compute(), again.compute(), 1e-5, 1e-8, true));
  };
  auto classify = [&](auto& m) { m.update(scores, labels); };
  auto regress = [&](auto& m) { m.update(reals, reals * 0.5); };
  auto aggregate = [&](auto& m) { m.update(reals); };
  check_reset(M::Accuracy({.num_classes = C, .average = Average::none}), classify);
  check_reset(M::Precision({.num_classes = C, .top_k = 2}), classify);
  check_reset(M::Recall({.num_classes = C, .average = Average::macro}), classify);
  check_reset(M::F1Score({.num_classes = C, .average = Average::weighted}), classify);
  check_reset(M::ConfusionMatrix({.num_classes = C}), classify);
  check_reset(M::MeanSquaredError{}, regress);
  check_reset(M::MeanAbsoluteError{}, regress);
  check_reset(M::MeanMetric{}, aggregate);
  check_reset(M::SumMetric{}, aggregate);
  check_reset(M::MinMetric{}, aggregate);
  check_reset(M::MaxMetric{}, aggregate);
}

TEST_CASE("metrics: update under InferenceMode, compute and reset outside it") {
  const int64_t C = 3;
  auto scores = to_tensor(normal_values(kSamples * C, 101), {kSamples, C});
  auto labels = to_tensor(int_values(kSamples, 0, C - 1, 102), {kSamples});
  auto check = [&](auto metric, auto&& update) {
    auto reference = metric;
    update(reference);
    update(reference);
    {
      c10::InferenceMode guard;
      update(metric);
    }
    auto states = states_of(metric);
    CHECK(std::any_of(states.begin(), states.end(), [](const torch::Tensor& s) { return s.is_inference(); }));
    update(metric);  // outside again, on top of inference-tensor state
    CHECK(torch::allclose(metric.compute(), reference.compute()));
    metric.reset();
    for (const auto& s : states_of(metric)) CHECK_FALSE(s.is_inference());
    {
      c10::InferenceMode guard;
      update(metric);
      update(metric);
    }
    CHECK(torch::allclose(metric.compute(), reference.compute()));
    metric.reset();
  };
  auto classify = [&](auto& m) { m.update(scores, labels); };
  auto regress = [&](auto& m) { m.update(scores, scores * 0.5); };
  auto aggregate = [&](auto& m) { m.update(scores); };
  check(M::Accuracy({.num_classes = C}), classify);
  check(M::Precision({.num_classes = C, .top_k = 2, .average = Average::macro}), classify);
  check(M::Recall({.task = Task::binary}), [&](auto& m) { m.update(scores.select(1, 0), labels % 2); });
  check(M::F1Score({.task = Task::multilabel, .num_labels = C}), [&](auto& m) { m.update(scores, scores > 0); });
  check(M::ConfusionMatrix({.num_classes = C}), classify);
  check(M::MeanSquaredError{}, regress);
  check(M::MeanAbsoluteError{}, regress);
  check(M::MeanMetric{}, [&](auto& m) { m.update(scores, 2.0); });
  check(M::SumMetric{}, aggregate);
  check(M::MinMetric{}, aggregate);
  check(M::MaxMetric{}, aggregate);
}

TEST_CASE("metrics: for_each_state reduces like one process that saw all data") {
  const int64_t C = 4;
  auto scores = to_tensor(normal_values(kSamples * C, 111), {kSamples, C});
  auto labels = to_tensor(int_values(kSamples, 0, C - 1, 112), {kSamples});
  // Two "ranks" see halves of uneven size; an all-reduce folds rank 1's states into rank 0's.
  auto check = [&](auto make, auto&& update) {
    auto rank0 = make(), rank1 = make(), whole = make();
    update(rank0, 0, 11);
    update(rank1, 11, kSamples - 11);
    update(whole, 0, kSamples);
    std::vector<std::pair<torch::Tensor, M::Reduction>> other;
    rank1.for_each_state([&](torch::Tensor& s, M::Reduction r) { other.emplace_back(s, r); });
    size_t i = 0;
    rank0.for_each_state([&](torch::Tensor& s, M::Reduction r) {
      REQUIRE(i < other.size());
      CHECK(r == other[i].second);
      CHECK((s.scalar_type() == torch::kLong || s.scalar_type() == torch::kDouble));  // exact sums
      const auto& o = other[i++].first;
      s = r == M::Reduction::sum ? s + o : r == M::Reduction::min ? torch::minimum(s, o) : torch::maximum(s, o);
    });
    CHECK(i == other.size());
    CHECK(torch::allclose(rank0.compute().to(torch::kDouble), whole.compute().to(torch::kDouble)));
  };
  auto classify = [&](auto& m, int64_t b, int64_t n) { m.update(scores.narrow(0, b, n), labels.narrow(0, b, n)); };
  auto aggregate = [&](auto& m, int64_t b, int64_t n) { m.update(scores.narrow(0, b, n)); };
  check([] { return M::Accuracy({.num_classes = C, .average = Average::macro}); }, classify);
  check([] { return M::F1Score({.num_classes = C, .top_k = 2, .average = Average::none}); }, classify);
  check([] { return M::ConfusionMatrix({.num_classes = C}); }, classify);
  check([] { return M::MeanSquaredError{}; }, [&](auto& m, int64_t b, int64_t n) {
    m.update(scores.narrow(0, b, n), torch::zeros({n, C}));
  });
  check([] { return M::MeanMetric{}; }, aggregate);
  check([] { return M::MinMetric{}; }, aggregate);
  check([] { return M::MaxMetric{}; }, aggregate);
  M::MaxMetric max_metric;
  M::Reduction seen = M::Reduction::sum;
  max_metric.for_each_state([&](torch::Tensor&, M::Reduction r) { seen = r; });
  CHECK(seen == M::Reduction::max);
}

TEST_CASE("metrics: bad options and inputs say what was expected") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(M::Accuracy({.num_classes = 0}), Contains("num_classes >= 2, got 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(M::Precision({.num_classes = 3, .top_k = 4}), Contains("top_k must be in [1, num_classes = 3]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(M::Recall({.task = Task::binary, .top_k = 2}), Contains("multiclass only"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(M::F1Score({.task = Task::multilabel, .num_classes = 4}), Contains("num_labels >= 2"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(M::Accuracy({.task = Task::binary, .threshold = 1.5}), Contains("threshold"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(M::ConfusionMatrix({.num_classes = 1}), Contains("num_classes >= 2"), std::invalid_argument);

  M::Accuracy acc({.num_classes = 3});
  CHECK_THROWS_WITH_AS(acc.update(torch::rand({4, 5}), torch::zeros({4}, torch::kLong)),
                       Contains("preds have 5 classes in dim 1 (shape [4, 5]), expected num_classes = 3"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(acc.update(torch::rand({4, 3}), torch::tensor({0, 1, 3, 0})),
                       Contains("target holds 3, expected class indices in [0, num_classes = 3)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(acc.update(torch::rand({4, 3}), torch::zeros({4})), Contains("integer labels"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(acc.update(torch::rand({4, 3}), torch::zeros({5}, torch::kLong)),
                       Contains("expected preds (N, C, ...) and target (N, ...)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(acc.update(torch::rand({4}), torch::zeros({4}, torch::kLong)),
                       Contains("must be integer class labels"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(acc.update(torch::tensor({0, 7}), torch::tensor({0, 1})), Contains("preds holds 7"),
                       std::invalid_argument);
  M::Accuracy top2({.num_classes = 3, .top_k = 2});
  CHECK_THROWS_WITH_AS(top2.update(torch::tensor({0, 1}), torch::tensor({0, 1})), Contains("needs scores (N, C, ...)"),
                       std::invalid_argument);
  CHECK(value(acc.compute()) == 0.0);  // failed updates counted nothing

  M::Precision binary({.task = Task::binary});
  CHECK_THROWS_WITH_AS(binary.update(torch::rand({4, 1}), torch::zeros({4}, torch::kLong)),
                       Contains("squeeze preds' last dim"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(binary.update(torch::rand({4}), torch::tensor({0, 1, 2, 0})),
                       Contains("target holds 2, expected 0 or 1"), std::invalid_argument);
  M::Recall multilabel({.task = Task::multilabel, .num_labels = 3});
  CHECK_THROWS_WITH_AS(multilabel.update(torch::rand({4, 2}), torch::zeros({4, 2}, torch::kLong)),
                       Contains("L = num_labels = 3"), std::invalid_argument);

  M::MeanSquaredError mse;
  CHECK_THROWS_WITH_AS(mse.update(torch::rand({4}), torch::rand({4, 1})), Contains("same shape, got preds [4]"),
                       std::invalid_argument);
  M::MeanMetric mean;
  CHECK_THROWS_WITH_AS(mean.update(torch::rand({4}), torch::rand({3})), Contains("does not broadcast"),
                       std::invalid_argument);
}
