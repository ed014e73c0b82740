// papillon-cli on the PixArt-α fixture folder (t5_pixart/pipelines/pixart_tiny): tokenize prints
// the T5 ids the pipeline feeds its encoder (equality with diffusers' run meta: ids have no
// tolerance), inspect describes the folder (sharded text encoder included), generate makes the
// fixture runs' images, and a missing sentencepiece module is a clear error.
#include <QProcess>
#include <QProcessEnvironment>
#include <QtTest>

#include "core/io/config.h"
#include "core/io/safetensors.h"
#include "core/runtime/png_io.h"
#include "tests/common/cli_process.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using test::run_cli;

namespace {

using Result = test::CliResult;

QString fixture(const std::string& rel) {
  return test::cli_fixture(rel);
}

const char* const kFolder = "t5_pixart/pipelines/pixart_tiny";

}  // namespace

class TestCliPixArt : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY2(!qgetenv("PAPILLON_CLI").isEmpty(), "PAPILLON_CLI must point at papillon-cli");
  }

  void tokenize_prints_the_pipeline_ids() {
    // The pipeline folder: prompt.lower().strip() first, as PixArtAlphaPipeline does.
    const Json meta =
        test::fixture_json("t5_pixart/pipeline_runs/pixart_ddim_nocfg_5steps_seed3/meta.json");
    const QString prompt = QString::fromStdString(meta["call_kwargs"]["prompt"].get<std::string>());
    auto r = run_cli({"tokenize", "--model", fixture(kFolder), prompt});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    Json j = Json::parse(r.out.toStdString());
    const Json expected = meta["input_ids"].is_string()
                              ? Json::parse(meta["input_ids"].get<std::string>())
                              : meta["input_ids"];
    QVERIFY2(j["input_ids"] == (expected.at(0).is_array() ? expected.at(0) : expected),
             qPrintable(r.out));
    QCOMPARE(j["attention_mask"].size(), size_t{120});

    // The tokenizer folder itself: the text as given (cases_public.json's input_ids).
    const Json cases = test::fixture_json("t5_pixart/tokenizer/cases_public.json").at("cases");
    const Json& c = cases.at(1);  // "A small cactus ...": upper case, so the two calls differ
    QVERIFY(c.at("input_ids") != c.at("input_ids_pipeline"));
    r = run_cli({"tokenize", "--model", fixture(std::string(kFolder) + "/tokenizer"),
                 QString::fromStdString(c.at("prompt").get<std::string>())});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    j = Json::parse(r.out.toStdString());
    QVERIFY2(j["input_ids"] == c.at("input_ids"), qPrintable(r.out));
    QVERIFY2(j["attention_mask"] == c.at("attention_mask"), qPrintable(r.out));

    r = run_cli({"tokenize", "--model", fixture(kFolder), "--no-padding", "x"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(Json::parse(r.out.toStdString())["input_ids"] == Json::parse("[3, 29, 1]"),
             qPrintable(r.out));
    r = run_cli({"tokenize", "--model", fixture(kFolder), "--max-length", "4", "a b c d e f"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(Json::parse(r.out.toStdString())["input_ids"].size(), size_t{4});
  }

  void inspect_describes_the_folder() {
    const auto r = run_cli({"inspect", fixture(kFolder), "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    const Json j = Json::parse(r.out.toStdString());
    QCOMPARE(j["pipeline"].get<std::string>(), std::string("PixArtAlphaPipeline"));
    const Json& te = j["components"]["text_encoder"];
    QCOMPARE(te["class"].get<std::string>(), std::string("T5EncoderModel"));
    QCOMPARE(te["weights"].size(), size_t{3});
    QVERIFY(te["sharded"].get<bool>());
    // Every stored tensor once: keys.json less the tied alias encoder.embed_tokens.weight.
    int64_t expected = 0;
    for (const auto& k : test::fixture_json("t5_pixart/models/t5_encoder/keys.json")) {
      if (k["name"] == "encoder.embed_tokens.weight") continue;
      int64_t n = 1;
      for (const auto& d : k["shape"])
        n *= d.get<int64_t>();
      expected += n;
    }
    int64_t shards = 0;
    for (const auto& w : te["weights"])
      shards += w["parameters"].get<int64_t>();
    QCOMPARE(shards, expected);
  }

  // Every fixture run through the process, with the run's own cli_args (meta.json): the dump
  // against diffusers' run (images atol 1e-3, latents rtol 1e-4 + atol 1e-4, T5 embeddings atol
  // 1e-4, as the fixtures README), and the PNG's parameters.
  void generate_matches_diffusers_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"pixart_dpmpp2m_8steps_seed1", "pixart_dpmpp2m_neg_64x96_6steps_seed2",
                          "pixart_ddim_nocfg_5steps_seed3"})
      QTest::newRow(n) << QString(n);
  }
  void generate_matches_diffusers() {
    QFETCH(QString, name);
    const std::string run_dir = "t5_pixart/pipeline_runs/" + name.toStdString();
    const Json meta = test::fixture_json(run_dir + "/meta.json");
    const auto run = SafetensorsFile::open(test::fixture_path(run_dir + "/run.safetensors"));
    QStringList args = {"generate"};
    const auto cli_args = meta["cli_args"].get<std::vector<std::string>>();
    for (size_t i = 0; i < cli_args.size(); ++i) {
      // Paths are relative to the run's folder.
      const bool path = i > 0 && cli_args[i - 1] == "--model";
      args << (path ? fixture(run_dir + "/" + cli_args[i]) : QString::fromStdString(cli_args[i]));
    }
    const std::string dir = test::temp_dir("cli-pixart-" + name.toStdString());
    const QString grid = QString::fromStdString(dir + "/grid.png");
    const QString dump = QString::fromStdString(dir + "/out.safetensors");
    args << "--out" << grid << "--dump" << dump << "--threads"
         << "1"
         << "--quiet";
    const auto r = run_cli(args);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto out = SafetensorsFile::open(dump.toStdString());
    PAPILLON_EXPECT_CLOSE(out.get("images"), run.get("image").permute({0, 3, 1, 2}), 1e-3, 0.0,
                          "dumped images");
    PAPILLON_EXPECT_CLOSE(out.get("latents"), run.get("latents_final"), 1e-4, 1e-4,
                          "dumped latents");
    PAPILLON_EXPECT_CLOSE(out.get("prompt_embeds"), run.get("prompt_embeds"), 1e-4, 0.0,
                          "dumped prompt_embeds");

    const auto text = read_png_text(grid.toStdString());
    const QString params = QString::fromStdString(text.at("parameters"));
    const Json& kw = meta["call_kwargs"];
    QVERIFY2(
        params.startsWith(QString::fromStdString(kw["prompt"].get<std::string>())) &&
            params.contains("Steps: " + QString::number(kw["num_inference_steps"].get<int>())) &&
            params.contains("Model: pixart_tiny"),
        qPrintable(params));
    if (kw.contains("negative_prompt")) {
      QVERIFY2(params.contains("Negative prompt: " +
                               QString::fromStdString(kw["negative_prompt"].get<std::string>())),
               qPrintable(params));
    }
  }

  void missing_module_is_a_clear_error() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("PAPILLON_SENTENCEPIECE_MODULE", "/nonexistent/libpapillon_sentencepiece.so");
    const auto r = run_cli({"tokenize", "--model", fixture(kFolder), "a cat"}, env);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("sentencepiece module") && r.err.contains("/nonexistent/") &&
                 r.err.contains("PAPILLON_SENTENCEPIECE_MODULE"),
             qPrintable(r.err));
  }
};

QTEST_APPLESS_MAIN(TestCliPixArt)
#include "tst_cli_pixart.moc"
