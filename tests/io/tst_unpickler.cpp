// The restricted torch.save (.bin) reader: the fixture .bin files give exactly the tensors of their
// safetensors twin / key list, and hostile or corrupt archives built here are refused with an Error
// naming the file (and the global / storage at fault), never a crash or a huge allocation.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "core/io/safetensors.h"
#include "core/io/unpickler.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using papillon::Error;
using papillon::TensorList;
namespace ptest = papillon::test;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

using Bytes = std::string;

void put_u16(Bytes& b, uint32_t v) {
  for (int i = 0; i < 2; ++i)
    b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t crc32(const Bytes& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A minimal zip writer (stored records, or a claimed compression method to test refusal).
Bytes make_zip(const std::vector<std::pair<std::string, Bytes>>& records, uint16_t method = 0) {
  Bytes out, central;
  for (const auto& [name, data] : records) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t crc = crc32(data);
    put_u32(out, 0x04034b50);
    put_u16(out, 20);
    put_u16(out, 0);
    put_u16(out, method);
    put_u32(out, 0);  // time, date
    put_u32(out, crc);
    put_u32(out, static_cast<uint32_t>(data.size()));
    put_u32(out, static_cast<uint32_t>(data.size()));
    put_u16(out, static_cast<uint32_t>(name.size()));
    put_u16(out, 0);
    out += name + data;
    put_u32(central, 0x02014b50);
    put_u16(central, 20);
    put_u16(central, 20);
    put_u16(central, 0);
    put_u16(central, method);
    put_u32(central, 0);
    put_u32(central, crc);
    put_u32(central, static_cast<uint32_t>(data.size()));
    put_u32(central, static_cast<uint32_t>(data.size()));
    put_u16(central, static_cast<uint32_t>(name.size()));
    put_u32(central, 0);  // extra, comment lengths
    put_u32(central, 0);  // disk, internal attributes
    put_u32(central, 0);  // external attributes
    put_u32(central, offset);
    central += name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put_u32(out, 0x06054b50);
  put_u32(out, 0);
  put_u16(out, static_cast<uint32_t>(records.size()));
  put_u16(out, static_cast<uint32_t>(records.size()));
  put_u32(out, static_cast<uint32_t>(central.size()));
  put_u32(out, cd_offset);
  put_u16(out, 0);
  return out;
}

// Pickle opcodes, protocol 2, as torch.save writes them.
struct Pickle {
  Bytes b = "\x80\x02";
  Pickle& op(const Bytes& s) {
    b += s;
    return *this;
  }
  Pickle& str(const std::string& s) {
    b += 'X';
    put_u32(b, static_cast<uint32_t>(s.size()));
    b += s;
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    return op("c" + module + "\n" + name + "\n");
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) return op(Bytes("K") + static_cast<char>(v));
    if (v >= INT32_MIN && v <= INT32_MAX) {
      b += 'J';
      put_u32(b, static_cast<uint32_t>(v));
      return *this;
    }
    b += "\x8a\x08";  // LONG1, 8 bytes
    for (int i = 0; i < 8; ++i)
      b.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    op("(");
    for (int64_t x : v)
      integer(x);
    return op("t");
  }
  // key -> _rebuild_tensor_v2(persistent_load(('storage', <type>, storage, 'cpu', numel)), offset,
  // size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& key, const std::string& storage, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                 const std::string& type = "FloatStorage") {
    str(key).global("torch._utils", "_rebuild_tensor_v2").op("((").str("storage");
    global("torch", type).str(storage).str("cpu").integer(numel).op("tQ");
    integer(offset).ints(size).ints(stride).op("\x89");
    return global("collections", "OrderedDict").op(")RtR");
  }
};

Bytes floats(const std::vector<float>& v) {
  return Bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string write_file(const std::string& dir, const std::string& name, const Bytes& data) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
  return path;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The body of the state dict `{...}` around `items`.
Bytes state_dict(const std::function<void(Pickle&)>& items) {
  Pickle p;
  p.op("}(");
  items(p);
  p.op("u.");
  return p.b;
}

Bytes archive(const Bytes& pickle, const std::vector<std::pair<std::string, Bytes>>& storages) {
  std::vector<std::pair<std::string, Bytes>> records = {{"archive/data.pkl", pickle}};
  for (const auto& [key, data] : storages)
    records.emplace_back("archive/data/" + key, data);
  records.emplace_back("archive/version", "3\n");
  return make_zip(records);
}

}  // namespace

class TestUnpickler : public QObject {
  Q_OBJECT

 private:
  std::string dir_;

  // Loading `data` must throw an Error mentioning the file and every string in `needles`.
  void expect_error(const Bytes& data, const std::vector<std::string>& needles, const char* what) {
    const std::string path = write_file(dir_, "bad.bin", data);
    try {
      papillon::load_torch_bin(path);
    } catch (const Error& e) {
      const std::string message = e.what();
      QVERIFY2(message.find(path) != std::string::npos,
               (what + std::string(": ") + message).c_str());
      for (const auto& needle : needles)
        QVERIFY2(message.find(needle) != std::string::npos,
                 (std::string(what) + ": '" + needle + "' not in: " + message).c_str());
      return;
    }
    QFAIL((std::string(what) + ": no error").c_str());
  }

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    dir_ = ptest::temp_dir("unpickler");
  }

  void bin_equals_safetensors() {
    // Same tensors (values bit-exact) as the safetensors twin, in the state-dict order of
    // keys.json.
    const std::string dir = ptest::fixture_path("models/unet2d_classcond/weights/");
    const TensorList bin = papillon::load_torch_bin(dir + "diffusion_pytorch_model.bin");
    const papillon::SafetensorsFile st =
        papillon::SafetensorsFile::open(dir + "diffusion_pytorch_model.safetensors");
    const papillon::Json keys = ptest::fixture_json("models/unet2d_classcond/keys.json");
    QCOMPARE(bin.size(), keys.size());
    QCOMPARE(bin.size(), st.entries().size());
    for (size_t i = 0; i < bin.size(); ++i) {
      const auto& [name, tensor] = bin[i];
      QCOMPARE(name, keys[i]["name"].get<std::string>());
      QVERIFY2(st.contains(name), name.c_str());
      const at::Tensor expected = st.get(name);
      QCOMPARE(tensor.scalar_type(), expected.scalar_type());
      QVERIFY2(tensor.sizes() == expected.sizes(), name.c_str());
      QVERIFY2(torch::equal(tensor, expected), name.c_str());  // exact: same bytes
    }
  }

  void clip_bin_matches_key_list() {
    const TensorList bin = papillon::load_torch_bin(
        ptest::fixture_path("models/clip_text_gelu_bin/weights/pytorch_model.bin"));
    const papillon::Json keys = ptest::fixture_json("models/clip_text_gelu_bin/keys.json");
    QCOMPARE(bin.size(), keys.size());
    for (size_t i = 0; i < bin.size(); ++i) {
      QCOMPARE(bin[i].first, keys[i]["name"].get<std::string>());
      QCOMPARE(bin[i].second.sizes().vec(), keys[i]["shape"].get<std::vector<int64_t>>());
      QCOMPARE(keys[i]["dtype"].get<std::string>(), std::string("float32"));
      QCOMPARE(bin[i].second.scalar_type(), at::kFloat);
      QVERIFY(bin[i].second.isfinite().all().item<bool>());
    }
  }

  void views_and_shared_storage() {
    // Two tensors viewing one storage (offset, transposed stride), one Half tensor, a 0-d tensor.
    const std::vector<float> values = {0, 1, 2, 3, 4, 5};
    const at::Tensor half = torch::tensor({1.5, -2.0, 0.25}, torch::kHalf);
    const Bytes pkl = state_dict([](Pickle& p) {
      p.tensor("a", "0", 6, 1, {2, 2}, {2, 1});
      p.tensor("b", "0", 6, 0, {3, 2}, {1, 3});
      p.tensor("h", "1", 3, 0, {3}, {1}, "HalfStorage");
      p.tensor("s", "0", 6, 5, {}, {});
    });
    const std::string path =
        write_file(dir_, "good.bin",
                   archive(pkl, {{"0", floats(values)},
                                 {"1", Bytes(static_cast<const char*>(half.data_ptr()), 6)}}));
    const TensorList t = papillon::load_torch_bin(path);
    QCOMPARE(t.size(), size_t{4});
    QCOMPARE(t[0].first, std::string("a"));
    QVERIFY(torch::equal(t[0].second, torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
    QVERIFY(torch::equal(t[1].second, torch::tensor({0.f, 3.f, 1.f, 4.f, 2.f, 5.f}).view({3, 2})));
    QVERIFY(torch::equal(t[2].second, half));
    QCOMPARE(t[3].second.dim(), int64_t{0});
    QCOMPARE(t[3].second.item<float>(), 5.f);
    // Tensors may be written to without changing the file.
    const Bytes before = read_file(path);
    t[0].second.add_(1);
    QCOMPARE(read_file(path), before);
    // Wrapped checkpoints {"state_dict": {...}} are unwrapped.
    Pickle wrapped;
    wrapped.op("}").str("epoch").integer(3).op("s").str("state_dict");
    wrapped.op("}(").tensor("w", "0", 6, 0, {6}, {1}).op("us.");
    const TensorList u = papillon::load_torch_bin(
        write_file(dir_, "wrapped.bin", archive(wrapped.b, {{"0", floats(values)}})));
    QCOMPARE(u.size(), size_t{1});
    QCOMPARE(u[0].first, std::string("w"));
    QVERIFY(torch::equal(u[0].second, torch::tensor(values)));
  }

  void lazy_reads_equal_eager_reads() {
    // open_torch_bin checks everything up front and reads each tensor when asked: the same names,
    // shapes, dtypes and bytes as load_torch_bin, for the fixture checkpoint and for views.
    const std::string fixture =
        ptest::fixture_path("models/unet2d_classcond/weights/diffusion_pytorch_model.bin");
    const TensorList eager = papillon::load_torch_bin(fixture);
    const papillon::LazyTensorList lazy = papillon::open_torch_bin(fixture);
    QCOMPARE(lazy.size(), eager.size());
    for (size_t i = 0; i < lazy.size(); ++i) {
      QCOMPARE(lazy[i].name, eager[i].first);
      QCOMPARE(lazy[i].shape, eager[i].second.sizes().vec());
      QCOMPARE(lazy[i].dtype, eager[i].second.scalar_type());
      at::Tensor dst = torch::empty(lazy[i].shape, torch::TensorOptions().dtype(lazy[i].dtype));
      lazy[i].read_into(dst);
      QVERIFY2(torch::equal(dst, eager[i].second), lazy[i].name.c_str());
    }
    // Views into shared storages: an offset view, a transposed view, another dtype.
    const std::vector<float> values = {0, 1, 2, 3, 4, 5};
    const at::Tensor half = torch::tensor({1.5f, -2.f, 3.25f}).to(torch::kHalf);
    const Bytes pkl = state_dict([](Pickle& p) {
      p.tensor("a", "0", 6, 1, {2, 2}, {2, 1});
      p.tensor("b", "0", 6, 0, {3, 2}, {1, 3});
      p.tensor("h", "1", 3, 0, {3}, {1}, "HalfStorage");
    });
    const std::string path =
        write_file(dir_, "lazy.bin",
                   archive(pkl, {{"0", floats(values)},
                                 {"1", Bytes(static_cast<const char*>(half.data_ptr()), 6)}}));
    const papillon::LazyTensorList views = papillon::open_torch_bin(path);
    QCOMPARE(views.size(), size_t{3});
    at::Tensor a = torch::empty({2, 2});
    views[0].read_into(a);
    QVERIFY(torch::equal(a, torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
    at::Tensor b = torch::empty({3, 2}, torch::kDouble);
    views[1].read_into(b);
    QVERIFY(torch::equal(b, torch::tensor({0., 3., 1., 4., 2., 5.}, torch::kDouble).view({3, 2})));
    at::Tensor h = torch::empty({3});
    views[2].read_into(h);
    QVERIFY(torch::equal(h, half.to(torch::kFloat)));
  }

  void a_file_truncated_after_open_gives_an_error() {
    // Truncated by another process while being loaded: an Error naming the file, not SIGBUS.
    const std::string fixture =
        ptest::fixture_path("models/unet2d_classcond/weights/diffusion_pytorch_model.bin");
    const std::string path = dir_ + "/shrinks.bin";
    fs::copy_file(fixture, path, fs::copy_options::overwrite_existing);
    const papillon::LazyTensorList lazy = papillon::open_torch_bin(path);
    fs::resize_file(path, 64);
    int failures = 0;
    for (const papillon::LazyTensor& t : lazy) {
      try {
        t.read_into(torch::empty(t.shape, torch::TensorOptions().dtype(t.dtype)));
      } catch (const Error& e) {
        ++failures;
        QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        QVERIFY2(std::string(e.what()).find("truncated") != std::string::npos, e.what());
      }
    }
    QCOMPARE(failures, static_cast<int>(lazy.size()));
  }

  void refuses_code_globals() {
    const Bytes storage = floats({1, 2});
    for (const auto& [module, name] :
         std::vector<std::pair<std::string, std::string>>{{"os", "system"},
                                                          {"builtins", "eval"},
                                                          {"subprocess", "Popen"},
                                                          {"posix", "system"},
                                                          {"torch.storage", "_load_from_bytes"},
                                                          {"torch", "load"},
                                                          {"__builtin__", "exec"}}) {
      const std::string qualified = module + "." + name;
      // GLOBAL, followed by bytes that are not even a valid pickle: the refusal must come first.
      Pickle p;
      p.global(module, name).op("\xff\xff");
      expect_error(archive(p.b, {{"0", storage}}), {"refusing global '" + qualified + "'"},
                   qualified.c_str());
      // STACK_GLOBAL (protocol 4 style) with SHORT_BINUNICODE names.
      Pickle s;
      s.op(Bytes("\x8c") + static_cast<char>(module.size()) + module);
      s.op(Bytes("\x8c") + static_cast<char>(name.size()) + name).op("\x93(X\x02\0\0\0lsR."s);
      expect_error(archive(s.b, {}), {"refusing global '" + qualified + "'"}, "STACK_GLOBAL");
      // Inside an otherwise valid state dict, after a good tensor.
      // (C++17 lambdas cannot capture structured bindings; clang refuses, hence the copies.)
      const Bytes pkl = state_dict([&, m = module, n = name](Pickle& q) {
        q.tensor("ok", "0", 2, 0, {2}, {1});
        q.str("evil").global(m, n).str("echo pwned").op("\x85R");
      });
      expect_error(archive(pkl, {{"0", storage}}), {qualified}, "global inside a state dict");
    }
  }

  void refuses_views_outside_storage() {
    const Bytes storage = floats({0, 1, 2, 3, 4, 5});
    const struct {
      int64_t offset;
      std::vector<int64_t> size, stride;
    } cases[] = {
        {6, {1}, {1}},                                      // offset past the end
        {-1, {2}, {1}},                                     // negative offset
        {5, {2}, {1}},                                      // runs off the end
        {0, {2, 4}, {4, 1}},                                // 8 elements in 6
        {0, {3, 2}, {3, 1}},                                // strides reach element 7
        {0, {2}, {-1}},                                     // negative stride
        {0, {-2}, {1}},                                     // negative size
        {0, {2, 2}, {1}},                                   // size/stride rank mismatch
        {0, {1LL << 31, 1LL << 31, 1LL << 31}, {0, 0, 0}},  // 2^93 elements
        {0, {2}, {1LL << 62}},                              // overflowing stride
    };
    for (const auto& c : cases) {
      const Bytes pkl =
          state_dict([&](Pickle& p) { p.tensor("w", "0", 6, c.offset, c.size, c.stride); });
      expect_error(archive(pkl, {{"0", storage}}), {"storage '0'"}, "view outside the storage");
    }
  }

  void refuses_storage_size_mismatch() {
    // numel says 7 floats, the record has 6 (and 5, and one extra byte).
    for (const Bytes& data : {floats({0, 1, 2, 3, 4, 5}), floats({0, 1, 2, 3, 4}),
                              floats({0, 1, 2, 3, 4, 5, 6}) + "x"}) {
      const Bytes pkl = state_dict([](Pickle& p) { p.tensor("w", "0", 7, 0, {7}, {1}); });
      expect_error(archive(pkl, {{"0", data}}), {"storage '0'", "archive/data/0"},
                   "numel mismatch");
    }
    // A storage that has no record.
    const Bytes pkl = state_dict([](Pickle& p) { p.tensor("w", "9", 1, 0, {1}, {1}); });
    expect_error(archive(pkl, {{"0", floats({1})}}), {"archive/data/9"}, "missing storage record");
    // One storage key used with two sizes.
    const Bytes twice = state_dict([](Pickle& p) {
      p.tensor("a", "0", 2, 0, {1}, {1});
      p.tensor("b", "0", 1, 0, {1}, {1});
    });
    expect_error(archive(twice, {{"0", floats({1, 2})}}), {"storage '0'"}, "storage size changes");
  }

  void refuses_corrupt_archives() {
    const Bytes good =
        read_file(ptest::fixture_path("models/clip_text_gelu_bin/weights/pytorch_model.bin"));
    // Truncated anywhere: the end-of-central-directory record or a record is missing.
    for (size_t cut : {size_t{0}, size_t{10}, size_t{100}, good.size() / 2, good.size() - 23,
                       good.size() - 22, good.size() - 1}) {
      expect_error(good.substr(0, cut), {}, ("truncated at " + std::to_string(cut)).c_str());
    }
    expect_error(make_zip({{"archive/version", "3\n"}, {"archive/data/0", floats({1})}}),
                 {"archive/data.pkl"}, "missing data.pkl");
    expect_error(make_zip({{"data.pkl", state_dict([](Pickle&) {})}}), {"not inside a folder"},
                 "no top folder");
    expect_error(make_zip({{"archive/data.pkl", state_dict([](Pickle&) {})}}, 8), {"compressed"},
                 "deflated record");
    expect_error(make_zip({{"archive/data.pkl", "\x80\x02}."}, {"archive/byteorder", "big"}}),
                 {"big"}, "big-endian");
    expect_error("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", {"zip"},
                 "legacy format");
    // Central directory offset pointing past the end: in the ZIP64 record torch writes, and in the
    // plain end record of a small archive.
    Bytes bad = good;
    const size_t z64 = bad.rfind("PK\x06\x06");
    QVERIFY(z64 != Bytes::npos);
    bad[z64 + 48 + 5] = '\x7f';
    expect_error(bad, {"central directory"}, "ZIP64 central directory outside the file");
    Bytes small = archive(state_dict([](Pickle&) {}), {});
    small[small.size() - 3] = '\x7f';
    expect_error(small, {"central directory"}, "central directory outside the file");
    // Too many records claimed for the central directory's size.
    small = archive(state_dict([](Pickle&) {}), {});
    small[small.size() - 12] = '\x7f';
    expect_error(small, {"records"}, "record count");
  }

  void refuses_bad_pickles() {
    const Bytes storage = floats({1});
    const struct {
      Bytes pickle;
      std::string needle;
    } cases[] = {
        {"\x80\x02}\xff.", "0xff"},                         // unknown opcode
        {"\x80\x02}(X\x01\0\0\0ai__main__\nA\n."s, "'i'"},  // INST: never needed
        {"\x80\x02}\x82\x01.", "0x82"},                     // EXT1
        {"\x80\x02" + Bytes(100000, '(') + "}.", "MARK"},   // deep MARK nesting
        {"\x80\x02}j\xff\xff\xff\xff.", "4294967295"},      // memo index never stored
        {"\x80\x02]r\xff\xff\xff\xff.", "list"},      // huge memo index is fine, a list is not
        {"\x80\x02}X\xff\xff\xff\x7f", "truncated"},  // string longer than the pickle
        {"\x80\x02}\x8a\x09" + Bytes(9, '\1') + ".", "too large"},  // 9-byte integer
        {"\x80\x02}(K\x01u.", "odd"},                       // SETITEMS with a key but no value
        {"\x80\x02}s.", "underflow"},                       // SETITEM on too few items
        {"\x80\x02}", "truncated"},                         // no STOP
        {"\x80\x09}.", "protocol"},                         // unknown protocol
        {"\x80\x02}X\x01\0\0\0wK\x01s."s, "'w' is a int"},  // a state dict entry that is no tensor
        {"\x80\x02(X\x07\0\0\0storageX\x01\0\0\0\x30X\x01\0\0\0\x30X\x03\0\0\0cpuK\x01tQ."s,
         "persistent id"},  // the storage type is a str, not a whitelisted class
    };
    for (const auto& c : cases)
      expect_error(archive(c.pickle, {{"0", storage}}), {c.needle}, c.needle.c_str());
  }

  void survives_random_corruption() {
    // Flipping bytes of a real file must give either a result or an Error, never a crash.
    const Bytes good =
        read_file(ptest::fixture_path("models/clip_text_gelu_bin/weights/pytorch_model.bin"));
    std::mt19937 rng(1234);
    int errors = 0, loaded = 0;
    for (int round = 0; round < 300; ++round) {
      Bytes bad = good;
      // Most flips land in data.pkl (the first 6 KB) and the central directory (the last 5 KB).
      const size_t region = round % 2 == 0 ? 6200 : 5000;
      const size_t base = round % 2 == 0 ? 0 : good.size() - 5000;
      for (int k = 0; k < 3; ++k)
        bad[base + rng() % region] = static_cast<char>(rng() & 0xff);
      const std::string path = write_file(dir_, "fuzz.bin", bad);
      try {
        const TensorList t = papillon::load_torch_bin(path);
        for (const auto& [name, tensor] : t)
          tensor.sum();  // every view is readable
        ++loaded;
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        ++errors;
      }
    }
    QCOMPARE(errors + loaded, 300);
    QVERIFY(errors > 0);
  }
};

QTEST_APPLESS_MAIN(TestUnpickler)
#include "tst_unpickler.moc"
