// JSON configs with diffusers semantics: missing or null -> the default, unknown keys ignored, a
// value of the wrong type -> an Error naming the file and the key; int-or-list; file errors.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <fstream>
#include <functional>

#include "core/io/config.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using papillon::ConfigReader;
using papillon::Error;
using papillon::Json;
namespace ptest = papillon::test;

namespace {

// `f` must throw an Error whose message contains every needle.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles,
                  const char* what) {
  try {
    f();
  } catch (const Error& e) {
    for (const auto& needle : needles)
      QVERIFY2(std::string(e.what()).find(needle) != std::string::npos,
               (std::string(what) + ": '" + needle + "' not in: " + e.what()).c_str());
    return;
  }
  QFAIL((std::string(what) + ": no error").c_str());
}

}  // namespace

class TestConfig : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void reader_semantics() {
    const Json json = Json::parse(R"({
      "in_channels": 4, "scale": 0.18215, "whole_float": 2.0, "flag": true, "name": "DDIM",
      "nothing": null, "blocks": [32, 64], "ratios": [1, 0.5], "names": ["a", "b"],
      "heads": 8, "head_list": [1, 2, 3], "unknown_key": {"x": 1}, "huge": 18446744073709551615
    })");
    const ConfigReader r(json, "unet/config.json");
    QCOMPARE(r.source(), std::string("unet/config.json"));
    QCOMPARE(r.get_int("in_channels", 3), int64_t{4});
    QCOMPARE(r.get_int("missing", 3), int64_t{3});
    QCOMPARE(r.get_int("nothing", 3), int64_t{3});      // null -> default
    QCOMPARE(r.get_int("whole_float", 0), int64_t{2});  // 2.0 is an int
    QCOMPARE(r.get_double("scale", 1.0), 0.18215);
    QCOMPARE(r.get_double("in_channels", 1.0), 4.0);  // ints are numbers
    QCOMPARE(r.get_double("missing", 1.5), 1.5);
    QCOMPARE(r.get_bool("flag", false), true);
    QCOMPARE(r.get_bool("nothing", false), false);
    QCOMPARE(r.get_string("name", ""), std::string("DDIM"));
    QCOMPARE(r.get_string("missing", "x"), std::string("x"));
    QVERIFY(r.has("name"));
    QVERIFY(!r.has("nothing"));
    QVERIFY(!r.has("missing"));
    QVERIFY(!r.get_optional_int("nothing").has_value());
    QVERIFY(!r.get_optional_int("missing").has_value());
    QCOMPARE(r.get_optional_int("heads").value(), int64_t{8});
    QCOMPARE(r.get_optional_double("scale").value(), 0.18215);
    QVERIFY(!r.get_optional_double("nothing").has_value());
    QCOMPARE(r.get_optional_string("name").value(), std::string("DDIM"));
    QVERIFY(!r.get_optional_string("nothing").has_value());
    QCOMPARE(r.get_int_list("blocks", {}), (std::vector<int64_t>{32, 64}));
    QCOMPARE(r.get_int_list("missing", {1}), (std::vector<int64_t>{1}));
    QCOMPARE(r.get_double_list("ratios", {}), (std::vector<double>{1.0, 0.5}));
    QCOMPARE(r.get_string_list("names", {}), (std::vector<std::string>{"a", "b"}));
    // int or list: an int is repeated per block, a list must have one entry per block.
    QCOMPARE(r.get_int_or_list("heads", 1, 3), (std::vector<int64_t>{8, 8, 8}));
    QCOMPARE(r.get_int_or_list("head_list", 1, 3), (std::vector<int64_t>{1, 2, 3}));
    QCOMPARE(r.get_int_or_list("missing", 5, 2), (std::vector<int64_t>{5, 5}));
    QCOMPARE(r.get_int_or_list("nothing", 5, 2), (std::vector<int64_t>{5, 5}));

    // Wrong types name the file and the key.
    const std::vector<std::pair<std::function<void()>, std::string>> wrong = {
        {[&] { r.get_int("scale", 0); }, "scale"},
        {[&] { r.get_int("flag", 0); }, "flag"},
        {[&] { r.get_int("name", 0); }, "name"},
        {[&] { r.get_int("huge", 0); }, "huge"},
        {[&] { r.get_double("name", 0); }, "name"},
        {[&] { r.get_double("flag", 0); }, "flag"},
        {[&] { r.get_bool("in_channels", false); }, "in_channels"},
        {[&] { r.get_string("in_channels", ""); }, "in_channels"},
        {[&] { r.get_int_list("heads", {}); }, "heads"},
        {[&] { r.get_int_list("ratios", {}); }, "ratios"},
        {[&] { r.get_double_list("names", {}); }, "names"},
        {[&] { r.get_string_list("blocks", {}); }, "blocks"},
        {[&] { r.get_optional_int("name"); }, "name"},
        {[&] { r.get_int_or_list("head_list", 1, 2); }, "head_list"},
        {[&] { r.get_int_or_list("name", 1, 2); }, "name"},
        {[&] { r.fail("blocks", "must have 3 entries"); }, "must have 3 entries"},
    };
    for (const auto& [f, key] : wrong)
      expect_error(f, {"unet/config.json: ", key}, key.c_str());
    expect_error([] { (void)ConfigReader(Json::array(), "x.json"); }, {"x.json"}, "not an object");
  }

  void reader_outlives_temporary_json() {
    // A reader made from a temporary keeps its own copy.
    const ConfigReader r(Json::parse(R"({"a": 7})"), "tmp");
    QCOMPARE(r.get_int("a", 0), int64_t{7});
  }

  void reads_files() {
    // A fixture config.
    const Json unet = ptest::fixture_json("pipelines/sd_tiny/unet/config.json");
    QVERIFY(unet.is_object());
    QCOMPARE(unet["_class_name"].get<std::string>(), std::string("UNet2DConditionModel"));
    const std::string dir = ptest::temp_dir("config");
    expect_error([&] { papillon::read_json_file(dir + "/missing.json"); }, {dir + "/missing.json"},
                 "missing file");
    std::ofstream(dir + "/bad.json") << "{\"a\": 1,,}";
    expect_error([&] { papillon::read_json_file(dir + "/bad.json"); }, {dir + "/bad.json"},
                 "invalid JSON");
    std::ofstream(dir + "/empty.json") << "";
    expect_error([&] { papillon::read_json_file(dir + "/empty.json"); }, {dir + "/empty.json"},
                 "empty file");
  }

  void parses_command_line_values() {
    QCOMPARE(papillon::parse_json_value("true"), Json(true));
    QCOMPARE(papillon::parse_json_value("True"), Json(true));
    QCOMPARE(papillon::parse_json_value("False"), Json(false));
    QCOMPARE(papillon::parse_json_value("0.5"), Json(0.5));
    QCOMPARE(papillon::parse_json_value("12"), Json(12));
    QVERIFY(papillon::parse_json_value("12").is_number_integer());
    QCOMPARE(papillon::parse_json_value("leading"), Json("leading"));
    QCOMPARE(papillon::parse_json_value("[1,2]"), Json::parse("[1,2]"));
    QCOMPARE(papillon::parse_json_value("\"quoted\""), Json("quoted"));
    QVERIFY(papillon::parse_json_value("null").is_null());
    QVERIFY(papillon::parse_json_value("None").is_null());
    QCOMPARE(papillon::parse_json_value("sde-dpmsolver++"), Json("sde-dpmsolver++"));
  }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "tst_config.moc"
