// Weight-file lookup in a component folder (diffusers / transformers names, variants, shard
// indexes) and loading by extension: a sharded copy of a fixture gives exactly the same tensors.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/io/safetensors.h"
#include "core/io/shard_index.h"
#include "core/io/weights.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using papillon::Error;
using papillon::TensorList;
namespace ptest = papillon::test;
namespace fs = std::filesystem;
using papillon::test::error_of;

namespace {

std::map<std::string, at::Tensor> by_name(const TensorList& list) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : list)
    out.emplace(name, t);
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

class TestWeights : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void finds_fixture_files() {
    const std::string unet = ptest::fixture_path("pipelines/sd_tiny/unet");
    QCOMPARE(papillon::find_weights_file(unet, {"diffusion_pytorch_model"}),
             unet + "/diffusion_pytorch_model.safetensors");
    QCOMPARE(papillon::find_weights_file(unet, {"diffusion_pytorch_model"}, "fp16"),
             unet + "/diffusion_pytorch_model.fp16.safetensors");
    // safetensors is preferred over .bin.
    const std::string classcond = ptest::fixture_path("models/unet2d_classcond/weights");
    QCOMPARE(papillon::find_weights_file(classcond, {"diffusion_pytorch_model"}),
             classcond + "/diffusion_pytorch_model.safetensors");
    // transformers stems: model.safetensors first, then pytorch_model.bin.
    const std::string text = ptest::fixture_path("pipelines/sd_tiny/text_encoder");
    QCOMPARE(papillon::find_weights_file(text, {"model", "pytorch_model"}),
             text + "/model.safetensors");
    const std::string clip = ptest::fixture_path("models/clip_text_gelu_bin/weights");
    QCOMPARE(papillon::find_weights_file(clip, {"model", "pytorch_model"}),
             clip + "/pytorch_model.bin");
    // Nothing there: the error says what was looked for.
    const std::string message =
        error_of([&] { papillon::find_weights_file(clip, {"model"}, "fp16"); });
    QVERIFY2(message.find(clip) != std::string::npos, message.c_str());
    QVERIFY2(message.find("model.fp16.safetensors") != std::string::npos, message.c_str());
    QVERIFY2(message.find("model.safetensors.index.fp16.json") != std::string::npos,
             message.c_str());
    QVERIFY2(message.find("model.fp16.bin") != std::string::npos, message.c_str());
  }

  void loads_by_extension() {
    const std::string dir = ptest::fixture_path("models/unet2d_classcond/weights/");
    const auto st =
        by_name(papillon::load_weights_file(dir + "diffusion_pytorch_model.safetensors"));
    const auto bin = by_name(papillon::load_weights_file(dir + "diffusion_pytorch_model.bin"));
    QCOMPARE(st.size(), bin.size());
    for (const auto& [name, t] : st)
      QVERIFY2(torch::equal(bin.at(name), t), name.c_str());
    const std::string message = error_of([&] { papillon::load_weights_file(dir + "config.txt"); });
    QVERIFY2(message.find("config.txt") != std::string::npos, message.c_str());
  }

  void loads_sharded_checkpoints() {
    const std::string dir = ptest::temp_dir("weights");
    const TensorList full = papillon::load_safetensors(
        ptest::fixture_path("models/unet2d_classcond/weights/diffusion_pytorch_model.safetensors"));
    TensorList first(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
    TensorList second(full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2), full.end());
    const std::string s1 = "diffusion_pytorch_model-00001-of-00002.safetensors";
    const std::string s2 = "diffusion_pytorch_model-00002-of-00002.safetensors";
    papillon::save_safetensors(dir + "/" + s1, first);
    papillon::save_safetensors(dir + "/" + s2, second);
    papillon::Json map = papillon::Json::object();
    for (const auto& [name, t] : first)
      map[name] = s1;
    for (const auto& [name, t] : second)
      map[name] = s2;
    const std::string index = dir + "/diffusion_pytorch_model.safetensors.index.json";
    write_text(index,
               papillon::Json{{"metadata", {{"total_size", 1}}}, {"weight_map", map}}.dump());

    QCOMPARE(papillon::find_weights_file(dir, {"diffusion_pytorch_model"}), index);
    const TensorList loaded = papillon::load_weights_file(index);
    QCOMPARE(loaded.size(), full.size());
    for (size_t i = 0; i < full.size(); ++i) {  // shard 1 then shard 2: the original order
      QCOMPARE(loaded[i].first, full[i].first);
      QVERIFY2(torch::equal(loaded[i].second, full[i].second), full[i].first.c_str());
    }

    // Broken indexes.
    const std::string bad = dir + "/bad.safetensors.index.json";
    auto expect = [&](const papillon::Json& json, const std::string& needle) {
      write_text(bad, json.dump());
      const std::string message = error_of([&] { papillon::load_weights_file(bad); });
      QVERIFY2(message.find(bad) != std::string::npos, (needle + ": " + message).c_str());
      QVERIFY2(message.find(needle) != std::string::npos, (needle + ": " + message).c_str());
    };
    expect({{"metadata", {}}}, "weight_map");
    expect({{"weight_map", {{"a", "../../etc/passwd.safetensors"}}}}, "../../etc/passwd");
    expect({{"weight_map", {{"a", "/abs/x.safetensors"}}}}, "/abs/x.safetensors");
    expect({{"weight_map", {{"a", "x.json"}}}}, "x.json");
    expect({{"weight_map", {{"a", 3}}}}, "'a'");
    papillon::Json missing = map;
    missing["not.in.any.shard"] = s2;
    expect({{"weight_map", missing}}, "not.in.any.shard");
    papillon::Json wrong = map;
    wrong[first.front().first] = s2;  // mapped to the other shard
    expect({{"weight_map", wrong}}, first.front().first);
    // A tensor in two shards.
    papillon::save_safetensors(dir + "/dup.safetensors", {first.front()});
    papillon::Json dup = map;
    dup["extra"] = "dup.safetensors";
    expect({{"weight_map", dup}}, "more than one shard");
    // A shard file the index names is not there: one error listing every absent shard.
    papillon::Json absent = map;
    absent["w1"] = "gone-1.safetensors";
    absent["w2"] = "gone-2.safetensors";
    expect({{"weight_map", absent}}, "2 of the 4 shard files it lists are missing");
    const std::string message = error_of([&] { papillon::load_weights_file(bad); });
    QVERIFY2(message.find("gone-1.safetensors, gone-2.safetensors") != std::string::npos,
             message.c_str());
    // The parser alone (what the fuzz harness drives): names the source.
    QVERIFY(error_of([] {
              papillon::parse_shard_index("{", "x.index.json");
            }).find("x.index.json: invalid JSON") != std::string::npos);
    const papillon::ShardIndex parsed = papillon::parse_shard_index(
        R"({"weight_map": {"b": "s2.safetensors", "a": "s1.safetensors", "c": "s2.safetensors"}})",
        "x.index.json");
    QCOMPARE(parsed.shards, (std::vector<std::string>{"s1.safetensors", "s2.safetensors"}));
    QCOMPARE(parsed.weight_map.at("c"), std::string("s2.safetensors"));
  }
};

QTEST_APPLESS_MAIN(TestWeights)
#include "tst_weights.moc"
