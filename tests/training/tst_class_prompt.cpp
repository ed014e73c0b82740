// Prompts that pick a class of a class-conditional model.
#include <QtTest>

#include "core/pipelines/class_prompt.h"
#include "core/training/dataset.h"
#include "core/util/error.h"

using namespace papillon;

class TestClassPrompt : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void names_articles_plurals_case() {
    const auto& names = fashion_mnist_class_names();
    QCOMPARE(parse_class_prompt("ankle boot", names), int64_t(9));
    QCOMPARE(parse_class_prompt("An Ankle Boot", names), int64_t(9));
    QCOMPARE(parse_class_prompt("ankle boots", names), int64_t(9));
    QCOMPARE(parse_class_prompt("a sneaker", names), int64_t(7));
    QCOMPARE(parse_class_prompt("Sneakers!", names), int64_t(7));
    QCOMPARE(parse_class_prompt("the trousers", names), int64_t(1));
    QCOMPARE(parse_class_prompt("dresses", names), int64_t(3));
    QCOMPARE(parse_class_prompt("dress", names), int64_t(3));
    QCOMPARE(parse_class_prompt("T-shirt", names), int64_t(0));
    QCOMPARE(parse_class_prompt("a tshirt", names), int64_t(0));
    QCOMPARE(parse_class_prompt("top", names), int64_t(0));
    QCOMPARE(parse_class_prompt("t-shirt/top", names), int64_t(0));
    QCOMPARE(parse_class_prompt("  BAG ", names), int64_t(8));
    QCOMPARE(parse_class_prompt("shirt", names), int64_t(6));
    QCOMPARE(parse_class_prompt("pullovers", names), int64_t(2));
  }

  void unknown_words_list_the_classes() {
    const auto& names = fashion_mnist_class_names();
    for (const char* bad : {"a purple elephant", "", "boot", "a"}) {
      try {
        parse_class_prompt(bad, names);
        QFAIL((std::string("accepted '") + bad + "'").c_str());
      } catch (const Error& e) {
        const std::string m = e.what();
        QVERIFY2(m.find("unknown class") != std::string::npos, m.c_str());
        QVERIFY2(m.find("T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, "
                        "Bag, Ankle boot") != std::string::npos,
                 m.c_str());
      }
    }
  }

  void normalization() {
    QCOMPARE(normalize_class_text("The Sneakers!"), std::string("sneaker"));
    QCOMPARE(normalize_class_text("some Glasses"), std::string("glass"));
  }
};

QTEST_APPLESS_MAIN(TestClassPrompt)
#include "tst_class_prompt.moc"
