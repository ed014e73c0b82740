// safetensors: the fixture files read exactly (fp16 variant = fp32 weights rounded to fp16), every
// dtype round-trips bit-exactly, and corrupt or hostile files give an Error naming the file (and
// the tensor) without crashing or allocating. Saving is atomic: a failed save leaves the old file
// intact.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using papillon::Error;
using papillon::SafetensorsFile;
using papillon::TensorList;
namespace ptest = papillon::test;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_raw(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A safetensors file with this header text and data section.
std::string make_file(const std::string& header, const std::string& data, uint64_t length = 0) {
  const uint64_t n = length ? length : header.size();
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT

 private:
  std::string dir_;

  // Opening `data` must throw an Error naming the file and containing each of `needles`.
  void expect_error(const std::string& data, const std::vector<std::string>& needles,
                    const std::string& what) {
    const std::string path = dir_ + "/bad.safetensors";
    write_raw(path, data);
    try {
      SafetensorsFile::open(path).all();
    } catch (const Error& e) {
      const std::string message = e.what();
      QVERIFY2(message.find(path) != std::string::npos, (what + ": " + message).c_str());
      for (const auto& needle : needles)
        QVERIFY2(message.find(needle) != std::string::npos,
                 (what + ": '" + needle + "' not in: " + message).c_str());
      return;
    }
    QFAIL((what + ": no error").c_str());
  }

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    dir_ = ptest::temp_dir("safetensors");
  }

  void reads_fixture_and_fp16_variant() {
    const std::string unet = ptest::fixture_path("pipelines/sd_tiny/unet/");
    const SafetensorsFile f32 = SafetensorsFile::open(unet + "diffusion_pytorch_model.safetensors");
    const SafetensorsFile f16 =
        SafetensorsFile::open(unet + "diffusion_pytorch_model.fp16.safetensors");
    // Shapes and dtypes as in the state-dict key list.
    const papillon::Json keys = ptest::fixture_json("models/unet_cond_sd_tiny/keys.json");
    QCOMPARE(f32.entries().size(), keys.size());
    QCOMPARE(f16.entries().size(), keys.size());
    for (const auto& key : keys) {
      const std::string name = key["name"].get<std::string>();
      QVERIFY2(f32.contains(name) && f16.contains(name), name.c_str());
      QCOMPARE(f32.entry(name).dtype, std::string("F32"));
      QCOMPARE(f16.entry(name).dtype, std::string("F16"));
      QCOMPARE(f32.entry(name).shape, key["shape"].get<std::vector<int64_t>>());
      const at::Tensor a = f32.get(name);
      const at::Tensor b = f16.get(name);
      QCOMPARE(a.scalar_type(), at::kFloat);
      QCOMPARE(b.scalar_type(), at::kHalf);
      // The fp16 file is the fp32 weights rounded to fp16: bit-exact equality.
      QVERIFY2(torch::equal(a.to(at::kHalf), b), name.c_str());
    }
    QCOMPARE(f16.metadata().at("format"), std::string("pt"));
    // Tensors read may be written to without touching the file.
    const std::string path = unet + "diffusion_pytorch_model.safetensors";
    at::Tensor w = f32.get("conv_in.weight");
    const at::Tensor before = w.clone();
    w.add_(1);
    QVERIFY(torch::equal(SafetensorsFile::open(path).get("conv_in.weight"), before));
  }

  void round_trips_every_dtype() {
    torch::manual_seed(0);
    const TensorList tensors = {
        {"f32", torch::randn({3, 4})},
        {"f64", torch::randn({2}, torch::kDouble)},
        {"f16", torch::randn({5}).to(torch::kHalf)},
        {"bf16", torch::randn({2, 3}).to(torch::kBFloat16)},
        {"i64", torch::tensor({int64_t{1} << 40, int64_t{-7}, int64_t{0}})},
        {"i32", torch::tensor({-3, 2147483647}, torch::kInt)},
        {"i16", torch::tensor({-3, 32000}, torch::kShort)},
        {"i8", torch::tensor({-128, 127}, torch::kChar)},
        {"u8", torch::tensor({0, 255}, torch::kByte)},
        {"bool", torch::tensor({true, false, true})},
        {"scalar", torch::tensor(2.5f)},
        {"empty", torch::empty({0, 3})},
        {"strided", torch::arange(12, torch::kFloat).view({3, 4}).t()},  // saved contiguous
    };
    const std::string path = dir_ + "/all.safetensors";
    papillon::save_safetensors(path, tensors, {{"format", "pt"}, {"note", "x"}});
    const SafetensorsFile f = SafetensorsFile::open(path);
    QCOMPARE(f.metadata().size(), size_t{2});
    QCOMPARE(f.metadata().at("note"), std::string("x"));
    QCOMPARE(f.entries().size(), tensors.size());
    QCOMPARE(f.entry("bf16").dtype, std::string("BF16"));
    QCOMPARE(f.entry("i64").dtype, std::string("I64"));
    QCOMPARE(f.entry("i32").dtype, std::string("I32"));
    for (const auto& [name, tensor] : tensors) {
      const at::Tensor back = f.get(name);
      QCOMPARE(back.scalar_type(), tensor.scalar_type());
      QVERIFY2(back.sizes() == tensor.sizes(), name.c_str());
      QVERIFY2(torch::equal(back, tensor), name.c_str());
    }
    // Saving a loaded file again gives the same tensors (and a byte-identical file).
    const std::string again = dir_ + "/again.safetensors";
    papillon::save_safetensors(again, papillon::load_safetensors(path), f.metadata());
    QCOMPARE(read_file(again), read_file(path));
    // The header length keeps the data section 8-byte aligned.
    const std::string bytes = read_file(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
      n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    QCOMPARE(n % 8, uint64_t{0});
  }

  void refuses_corrupt_files() {
    const std::string good_header =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
    const std::string data(16, '\1');
    const std::string good = make_file(good_header, data);
    write_raw(dir_ + "/good.safetensors", good);
    QCOMPARE(papillon::load_safetensors(dir_ + "/good.safetensors").size(), size_t{2});

    // Truncated at several points.
    for (size_t cut : {size_t{0}, size_t{5}, size_t{8}, size_t{8} + good_header.size() / 2,
                       size_t{8} + good_header.size(), good.size() - 1}) {
      expect_error(good.substr(0, cut), {}, "truncated at " + std::to_string(cut));
    }
    expect_error(make_file(good_header, data, uint64_t{1} << 60), {"header"},
                 "absurd header length");
    expect_error(make_file(good_header, data, good_header.size() + 17), {"header"},
                 "header longer than the file");
    expect_error(make_file(std::string(good_header.size(), 'x'), data), {"JSON"}, "not JSON");
    expect_error(make_file("[1, 2, 3]", data), {"object"}, "not an object");
    expect_error(make_file("\"text\"", ""), {"object"}, "a string");
    auto one = [&](const std::string& entry, const std::string& name = "w") {
      return make_file("{\"" + name + "\":" + entry + "}", data);
    };
    const std::vector<std::pair<std::string, std::string>> bad_entries = {
        {R"({"dtype":"F8","shape":[2],"data_offsets":[0,8]})", "dtype unknown"},
        {R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})", "shape x dtype != span"},
        {R"({"dtype":"F64","shape":[2],"data_offsets":[0,8]})", "dtype size != span"},
        {R"({"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]})", "negative shape"},
        {R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})", "fractional shape"},
        {R"({"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]})",
         "overflowing shape"},
        {R"({"dtype":"F32","shape":[9223372036854775807],"data_offsets":[0,8]})", "huge shape"},
        {R"({"dtype":"F32","shape":[4],"data_offsets":[8,24]})", "span outside the file"},
        {R"({"dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]})",
         "empty span far outside"},
        {R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})", "begin > end"},
        {R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", "one offset"},
        {R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})", "negative offset"},
        {R"({"dtype":"F32","shape":[2]})", "no offsets"},
        {R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})", "dtype not a string"},
        {R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})", "shape not a list"},
        {R"([1,2])", "entry not an object"},
    };
    for (const auto& [entry, what] : bad_entries)
      expect_error(one(entry), {"'w'"}, what);

    expect_error(
        make_file(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            data),
        {"overlap"}, "overlapping spans");
    expect_error(
        make_file(
            R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
            data),
        {"overlap", "'a'", "'b'"}, "span inside another, an empty one between");
    expect_error(
        make_file(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
            data),
        {"'a'"}, "duplicate keys");
    expect_error(
        make_file(R"({"__metadata__":[1],"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                  data),
        {"__metadata__"}, "metadata not an object");
    expect_error(make_file(R"({"__metadata__":{"k":1}})", data), {"__metadata__", "'k'"},
                 "metadata value not a string");
    expect_error("", {}, "empty file");
    // Bool bytes other than 0/1 read as true (an invalid bool would be undefined behaviour).
    write_raw(dir_ + "/bool.safetensors",
              make_file(R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                        std::string("\0\2\1", 3)));
    QVERIFY(torch::equal(SafetensorsFile::open(dir_ + "/bool.safetensors").get("b"),
                         torch::tensor({false, true, true})));
    // A directory is not a file.
    try {
      SafetensorsFile::open(dir_);
      QFAIL("directory opened");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find(dir_) != std::string::npos);
    }
    // A missing tensor name is an error naming file and tensor.
    const SafetensorsFile f = SafetensorsFile::open(dir_ + "/good.safetensors");
    try {
      f.get("nope");
      QFAIL("missing tensor returned");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("'nope'") != std::string::npos);
    }
  }

  // Files that claim gigabytes (a header length of 3 GB, tensors of 4 GB and 2^62 elements) in a
  // few hundred bytes are refused, and refused before allocating: the address space is capped at
  // what the process uses now + 256 MB while they are opened, so an attempt to allocate the
  // claimed size would fail with std::bad_alloc (not an Error) and fail this test.
  void reads_straight_into_a_destination() {
    torch::manual_seed(1);
    const at::Tensor w = torch::randn({4, 5});
    const at::Tensor h = torch::randn({7}).to(at::kHalf);
    const std::string path = dir_ + "/into.safetensors";
    papillon::save_safetensors(path, {{"w", w}, {"h", h}});
    const SafetensorsFile file = SafetensorsFile::open(path);
    // Same dtype, contiguous, CPU: filled in place (the destination's memory is kept).
    at::Tensor dst = torch::zeros({4, 5});
    const void* memory = dst.data_ptr();
    file.read_into("w", dst);
    QCOMPARE(dst.data_ptr(), memory);
    QVERIFY(torch::equal(dst, w));
    // Another dtype or a non-contiguous destination: converted, as copy_ would.
    at::Tensor wide = torch::zeros({7}, torch::kDouble);
    file.read_into("h", wide);
    QVERIFY(torch::equal(wide, h.to(torch::kDouble)));
    at::Tensor transposed = torch::zeros({5, 4}).t();
    file.read_into("w", transposed);
    QVERIFY(torch::equal(transposed, w));
    // The lazy list reads the same bytes.
    const papillon::LazyTensorList lazy = file.lazy();
    QCOMPARE(lazy.size(), size_t{2});
    const TensorList all = papillon::materialize(lazy);
    QVERIFY(torch::equal(all[0].second, w));
    QVERIFY(torch::equal(all[1].second, h));
    // A destination of another shape is refused.
    try {
      file.read_into("w", torch::zeros({20}));
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("another shape") != std::string::npos, e.what());
    }
  }

  void a_file_truncated_after_open_gives_an_error() {
    // Another process truncating a weights file while it is loaded: with a memory mapping the
    // reads past the new end raised SIGBUS and killed the app; now the read fails with an Error.
    const std::string path = dir_ + "/shrinks.safetensors";
    papillon::save_safetensors(path, {{"a", torch::ones({256})}, {"b", torch::ones({256})}});
    const SafetensorsFile file = SafetensorsFile::open(path);
    const papillon::LazyTensorList lazy = file.lazy();
    fs::resize_file(path, fs::file_size(path) - 600);
    QVERIFY(torch::equal(file.get("a"), torch::ones({256})));  // still inside the file
    for (int round = 0; round < 2; ++round) {
      try {
        if (round == 0) {
          file.get("b");
        } else {
          lazy[1].read_into(torch::empty({256}));
        }
        QFAIL("no error");
      } catch (const Error& e) {
        const std::string message = e.what();
        QVERIFY2(message.find(path) != std::string::npos, e.what());
        QVERIFY2(message.find("truncated") != std::string::npos, e.what());
      }
    }
    fs::resize_file(path, 0);
    try {
      file.get("a");
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("truncated") != std::string::npos, e.what());
    }
  }

  void claims_of_gigabytes_are_refused_before_allocating() {
    const std::string data(16, '\0');
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {make_file("{}", data, 3'000'000'000ull), {"header claims 3000000000 bytes"}},
        {make_file(R"({"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}})",
                   data),
         {"'w'"}},
        {make_file(R"({"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,16]}})", data),
         {"'w'"}},
        {make_file(R"({"w":{"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,16]}})",
                   data),
         {"'w'"}},
    };
    rlimit saved{};
    ::getrlimit(RLIMIT_AS, &saved);
    std::ifstream statm("/proc/self/statm");
    uint64_t pages = 0;
    statm >> pages;
    rlimit capped = saved;
    capped.rlim_cur = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) + (256ull << 20);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)capped;  // sanitizers reserve terabytes of shadow memory: no cap, the errors still count
#else
    ::setrlimit(RLIMIT_AS, &capped);
#endif
    for (const auto& [file, needles] : cases)
      expect_error(file, needles, needles.front());
    ::setrlimit(RLIMIT_AS, &saved);
  }

  void save_is_atomic() {
    const std::string path = dir_ + "/model.safetensors";
    const TensorList old = {{"w", torch::ones({2})}};
    papillon::save_safetensors(path, old);
    const std::string old_bytes = read_file(path);
    auto expect_save_error = [&](const std::string& target, const TensorList& tensors,
                                 const std::string& what) {
      try {
        papillon::save_safetensors(target, tensors);
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(target) != std::string::npos, e.what());
        return;
      }
      QFAIL((what + ": no error").c_str());
    };
    // A folder that does not exist.
    expect_save_error(dir_ + "/missing/model.safetensors", old, "nonexistent folder");
    // Unsaveable tensors: the old file stays as it was.
    expect_save_error(path, {{"w", torch::ones({2}, torch::kComplexFloat)}}, "complex dtype");
    expect_save_error(path, {{"w", at::Tensor()}}, "undefined tensor");
    expect_save_error(path, {{"w", torch::ones({1})}, {"w", torch::ones({1})}}, "duplicate name");
    QCOMPARE(read_file(path), old_bytes);
    // The target is a folder: the rename fails and the temporary file is removed.
    fs::create_directories(dir_ + "/folder.safetensors");
    expect_save_error(dir_ + "/folder.safetensors", old, "target is a folder");
    // A read-only folder (root may write anywhere, so only checked for other users).
    const std::string ro = dir_ + "/readonly";
    fs::create_directories(ro);
    papillon::save_safetensors(ro + "/m.safetensors", old);
    ::chmod(ro.c_str(), 0555);
    if (::geteuid() != 0) {
      expect_save_error(ro + "/m.safetensors", {{"w", torch::zeros({3})}}, "read-only folder");
      QCOMPARE(read_file(ro + "/m.safetensors"), old_bytes);
    }
    ::chmod(ro.c_str(), 0755);
    // A writer that fails half-way: old file intact, no temporary left behind.
    try {
      papillon::write_file_atomically(path, [](const std::string& tmp) {
        write_raw(tmp, "partial");
        throw Error("disk full");
      });
      QFAIL("no error");
    } catch (const Error& e) {
      QCOMPARE(std::string(e.what()), std::string("disk full"));
    }
    QCOMPARE(read_file(path), old_bytes);
    for (const auto& entry : fs::directory_iterator(dir_))
      QVERIFY2(entry.path().string().find(".tmp") == std::string::npos, entry.path().c_str());
    // And a successful save replaces the file.
    papillon::save_safetensors(path, {{"w", torch::zeros({3})}});
    QVERIFY(torch::equal(papillon::load_safetensors(path)[0].second, torch::zeros({3})));
  }
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
