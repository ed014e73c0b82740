// AUTOMATIC1111 prompt weighting: the parser against the examples of A1111's
// parse_prompt_attention docstring (behaviour, not fixture numbers), chunking of long prompts,
// the weight/mean rule, and that a plain prompt gives exactly diffusers' prompt_embeds (fixture,
// one text-encoder forward: atol 1e-4 + rtol 1e-4).
#include <torch/torch.h>

#include <QtTest>

#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline_stable_diffusion.h"
#include "core/pipelines/prompt_weighting.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

using Segments = std::vector<PromptSegment>;

std::string describe(const Segments& s) {
  std::string out = "[";
  for (const auto& p : s)
    out += "['" + p.text + "', " + std::to_string(p.weight) + "] ";
  return out + "]";
}

#define EXPECT_PARSE(text, ...)                                                     \
  do {                                                                              \
    const Segments _got = parse_prompt_attention(text);                             \
    const Segments _want = __VA_ARGS__;                                             \
    QVERIFY2(_got == _want, (std::string(text) + " -> " + describe(_got)).c_str()); \
  } while (false)

CLIPTokenizer tokenizer() {
  return CLIPTokenizer::from_folder(test::fixture_path("pipelines/sd_tiny/tokenizer"));
}

}  // namespace

class TestPromptWeighting : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  // The examples of A1111's modules/prompt_parser.py parse_prompt_attention docstring.
  void a1111_docstring_examples() {
    EXPECT_PARSE("normal text", {{"normal text", 1.0}});
    EXPECT_PARSE("an (important) word", {{"an ", 1.0}, {"important", 1.1}, {" word", 1.0}});
    EXPECT_PARSE("(unbalanced", {{"unbalanced", 1.1}});
    EXPECT_PARSE("\\(literal\\]", {{"(literal]", 1.0}});
    EXPECT_PARSE("(unnecessary)(parens)", {{"unnecessaryparens", 1.1}});
    EXPECT_PARSE("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
                 {{"a ", 1.0},
                  {"house", 1.5730000000000004},
                  {" ", 1.1},
                  {"on", 1.0},
                  {" a ", 1.1},
                  {"hill", 0.55},
                  {", sun, ", 1.1},
                  {"sky", 1.4641000000000006},
                  {".", 1.1}});
  }

  void more_syntax() {
    EXPECT_PARSE("", {{"", 1.0}});
    EXPECT_PARSE("[word]", {{"word", 1 / 1.1}});
    EXPECT_PARSE("((word))", {{"word", 1.1 * 1.1}});
    EXPECT_PARSE("(word: 1.3 )", {{"word", 1.3}});        // spaces around the number
    EXPECT_PARSE("a \\\\ b", {{"a \\ b", 1.0}});          // escaped backslash
    EXPECT_PARSE("time: 10:30", {{"time: 10:30", 1.0}});  // colons outside brackets are text
    EXPECT_PARSE("x:1.2)", {{"x:1.2)", 1.0}});            // a weight without an open bracket
    EXPECT_PARSE("a BREAK b", {{"a", 1.0}, {"BREAK", kBreakWeight}, {"b", 1.0}});
    EXPECT_PARSE("BREAKFAST", {{"BREAKFAST", 1.0}});  // only the whole word
    QVERIFY(!has_prompt_weighting_syntax("a photo of an astronaut, 4k: best"));
    QVERIFY(has_prompt_weighting_syntax("a (photo)"));
    QVERIFY(has_prompt_weighting_syntax("a \\(photo\\)"));
    QVERIFY_THROWS_EXCEPTION(Error, parse_prompt_attention("(a:1.2.3)"));
  }

  void chunks_of_75_tokens() {
    const CLIPTokenizer tok = tokenizer();
    // A plain short prompt: one chunk equal to the diffusers tokenisation.
    const auto one = tokenize_weighted_prompt(tok, "a photo of an astronaut riding a horse");
    QCOMPARE(one.size(), size_t{1});
    QVERIFY(one[0].tokens == tok("a photo of an astronaut riding a horse").input_ids);
    QVERIFY(!one[0].weighted());

    // 100 words without commas: 75 + 25 tokens, each chunk bos ... eos + padding, 77 long.
    std::string long_prompt;
    for (int i = 0; i < 100; ++i)
      long_prompt += "cat ";
    const auto two = tokenize_weighted_prompt(tok, long_prompt);
    QCOMPARE(two.size(), size_t{2});
    for (const auto& c : two) {
      QCOMPARE(c.tokens.size(), size_t{77});
      QCOMPARE(c.tokens.front(), tok.bos_id());
    }
    QCOMPARE(two[0].tokens[76], tok.eos_id());
    QCOMPARE(two[1].tokens[26], tok.eos_id());
    QCOMPARE(two[1].attention_mask[27], int64_t{0});

    // A comma within 20 tokens of the chunk end moves the words after it to the next chunk.
    std::string with_comma;
    for (int i = 0; i < 70; ++i)
      with_comma += "cat ";
    with_comma += ", dog dog dog dog dog dog dog dog";
    const auto moved = tokenize_weighted_prompt(tok, with_comma);
    QCOMPARE(moved.size(), size_t{2});
    const int64_t comma = *tok.token_to_id(",</w>");
    QCOMPARE(moved[0].tokens[71], comma);  // bos + 70 cats + comma, then eos
    QCOMPARE(moved[0].tokens[72], tok.eos_id());
    QCOMPARE(moved[1].tokens[1], *tok.token_to_id("dog</w>"));
    WeightedPromptOptions no_backtrack;
    no_backtrack.comma_padding_backtrack = 0;
    QCOMPARE(tokenize_weighted_prompt(tok, with_comma, no_backtrack)[0].tokens[76], tok.eos_id());

    // BREAK starts a new chunk; weights follow their tokens.
    const auto broken = tokenize_weighted_prompt(tok, "(red:1.5) cat BREAK dog");
    QCOMPARE(broken.size(), size_t{2});
    QCOMPARE(broken[0].multipliers[1], 1.5);
    QCOMPARE(broken[0].multipliers[2], 1.0);
    QCOMPARE(broken[1].tokens[1], *tok.token_to_id("dog</w>"));
    WeightedPromptOptions literal;
    literal.parse_weights = false;
    QVERIFY(!tokenize_weighted_prompt(tok, "(red:1.5) cat", literal)[0].weighted());
  }

  void weights_scale_rows_and_keep_the_mean() {
    const at::Tensor z = torch::rand({1, 4, 3}) + 0.5;
    const std::vector<double> w = {1.0, 2.0, 0.5, 1.0};
    const at::Tensor out = apply_prompt_weights(z, w);
    PAPILLON_EXPECT_CLOSE(out.mean(), z.mean(), 1e-6, 1e-6, "mean restored");
    const at::Tensor expected = z * torch::tensor({1.0f, 2.0f, 0.5f, 1.0f}).view({1, 4, 1});
    PAPILLON_EXPECT_CLOSE(out, expected * (z.mean() / expected.mean()), 1e-6, 1e-6, "rows");
    QVERIFY(apply_prompt_weights(z, {1, 1, 1, 1}).is_same(z));
  }

  // Without weighting syntax, within 75 tokens, the embeddings are diffusers' (fixture).
  void unweighted_prompt_equals_diffusers() {
    const Json meta = test::fixture_json("pipeline_runs/sd_pndm_cfg_neg_10steps_seed0/meta.json");
    const auto run = SafetensorsFile::open(
        test::fixture_path("pipeline_runs/sd_pndm_cfg_neg_10steps_seed0/run.safetensors"));
    StableDiffusionPipeline pipeline =
        StableDiffusionPipeline::load(open_model_folder(test::fixture_path("pipelines/sd_tiny")));
    StableDiffusionRequest request;
    request.prompts = meta["call_kwargs"]["prompt"].get<std::vector<std::string>>();
    request.negative_prompts =
        meta["call_kwargs"]["negative_prompt"].get<std::vector<std::string>>();
    request.plain_prompt = false;
    const auto [cond, uncond] = pipeline.encode_prompt(request, true);
    PAPILLON_EXPECT_CLOSE(cond, run.get("prompt_embeds"), 1e-4, 1e-4, "prompt_embeds");
    PAPILLON_EXPECT_CLOSE(uncond, run.get("negative_prompt_embeds"), 1e-4, 1e-4,
                          "negative_prompt_embeds");

    // A weighted prompt = the same tokens' embeddings, rows weighted and the mean restored; the
    // fixture prompt 1 is the same text without the weight.
    QCOMPARE(request.prompts[1], std::string("a photo of an astronaut riding a horse on mars"));
    const std::string weighted_text = "a photo of an (astronaut:1.3) riding a horse on mars";
    request.prompts = {weighted_text};
    request.negative_prompts = {};
    const auto [weighted, empty] = pipeline.encode_prompt(request, true);
    const auto chunks = tokenize_weighted_prompt(pipeline.tokenizer(), weighted_text);
    QCOMPARE(chunks.size(), size_t{1});
    QVERIFY(chunks[0].weighted());
    PAPILLON_EXPECT_CLOSE(
        weighted,
        apply_prompt_weights(run.get("prompt_embeds").narrow(0, 1, 1), chunks[0].multipliers), 1e-4,
        1e-4, "weighted prompt");
    QVERIFY(!torch::allclose(weighted, run.get("prompt_embeds").narrow(0, 1, 1)));

    // A long prompt adds chunks, the negative prompt is padded to as many.
    std::string long_prompt;
    for (int i = 0; i < 80; ++i)
      long_prompt += "horse ";
    request.prompts = {long_prompt};
    const auto [two_chunks, uncond_two] = pipeline.encode_prompt(request, true);
    QCOMPARE(two_chunks.size(1), int64_t{154});
    QCOMPARE(uncond_two.size(1), int64_t{154});
    // The padding chunk of the negative prompt is the empty prompt's embedding.
    PAPILLON_EXPECT_CLOSE(uncond_two.narrow(1, 77, 77), uncond_two.narrow(1, 0, 77), 0.0, 0.0,
                          "empty chunks");
    // clip_skip (diffusers 0.27: the prompt only): 0 = the last layer, 1 = one layer earlier,
    // beyond the text encoder's layers an error.
    request.prompts = meta["call_kwargs"]["prompt"].get<std::vector<std::string>>();
    request.negative_prompts =
        meta["call_kwargs"]["negative_prompt"].get<std::vector<std::string>>();
    request.clip_skip = 0;
    PAPILLON_EXPECT_CLOSE(pipeline.encode_prompt(request, false).first, run.get("prompt_embeds"),
                          1e-4, 1e-4, "clip_skip 0");
    request.clip_skip = 1;
    const auto [skipped, negative_skipped] = pipeline.encode_prompt(request, true);
    QVERIFY(skipped.sizes() == run.get("prompt_embeds").sizes());
    QVERIFY(!torch::allclose(skipped, run.get("prompt_embeds"), 1e-3, 1e-3));
    PAPILLON_EXPECT_CLOSE(negative_skipped, run.get("negative_prompt_embeds"), 1e-4, 1e-4,
                          "negative prompt without clip_skip");
    request.clip_skip = 99;
    QVERIFY_THROWS_EXCEPTION(Error, pipeline.encode_prompt(request, false));
    request.clip_skip.reset();
    request.prompts = {long_prompt};
    request.negative_prompts = {};

    // plain_prompt: diffusers' truncation to 77 tokens.
    request.plain_prompt = true;
    QCOMPARE(pipeline.encode_prompt(request, false).first.size(1), int64_t{77});
  }
};

QTEST_APPLESS_MAIN(TestPromptWeighting)
#include "tst_prompt_weighting.moc"
