// Saving under faults: a full disk (an injected file-size limit, and a real small tmpfs when the
// test may mount one), a read-only output folder and kill -9 in the middle of a save. Images,
// grids, safetensors files and checkpoint folders either get the new content or keep the previous
// one, byte for byte, and a failure is an Error naming the file, not a crash.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <torch/torch.h>

#include <QCoreApplication>
#include <QImage>
#include <QProcess>
#include <QtTest/QtTest>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "core/io/safetensors.h"
#include "core/runtime/image_export.h"
#include "core/runtime/png_io.h"
#include "core/training/checkpoint.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
namespace fs = std::filesystem;

namespace {

// Incompressible pixels, so the PNG is about w*h*3 bytes; `seed` tells versions apart.
QImage noise_image(int size, int seed) {
  QImage image(size, size, QImage::Format_RGB888);
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (int y = 0; y < size; ++y) {
    uchar* line = image.scanLine(y);
    for (int x = 0; x < size * 3; ++x)
      line[x] = static_cast<uchar>(rng());
  }
  return image;
}

QString parameters_json(int seed) {
  return QString("{\"prompt\":\"version %1\",\"seed\":%1,\"steps\":1}").arg(seed);
}

TensorList tensors(int64_t numel, float value) {
  return {{"weight", torch::full({numel}, value)}};
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> folder_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The process may not write files larger than `bytes` while this lives: write() fails with EFBIG,
// exactly where a full disk fails with ENOSPC (SIGXFSZ, which would kill us, is ignored).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

// One way to save each kind of file the studio and the trainer write; version 1 is larger.
struct Saver {
  const char* what;
  const char* file;
  std::function<void(const fs::path& path, int version)> save;
};

std::vector<Saver> savers() {
  return {
      {"image", "image.png",
       [](const fs::path& p, int v) {
         save_image_with_parameters(QString::fromStdString(p.string()),
                                    noise_image(v == 0 ? 8 : 300, v), parameters_json(v));
       }},
      {"grid", "grid.png",
       [](const fs::path& p, int v) {
         const int size = v == 0 ? 8 : 200;
         save_grid_with_parameters(QString::fromStdString(p.string()),
                                   {noise_image(size, v), noise_image(size, v + 10)},
                                   {parameters_json(v), parameters_json(v + 10)}, 2);
       }},
      {"safetensors", "weights.safetensors",
       [](const fs::path& p, int v) {
         save_safetensors(p.string(), tensors(v == 0 ? 4 : 100000, static_cast<float>(v)));
       }},
      {"checkpoint", "checkpoint",
       [](const fs::path& p, int v) {
         write_folder_atomically(p.string(), [&](const std::string& tmp) {
           fs::create_directories(tmp + "/unet");
           write_text_file_atomically(tmp + "/unet/config.json",
                                      "{\"version\": " + std::to_string(v) + "}\n");
           save_safetensors(tmp + "/unet/diffusion_pytorch_model.safetensors",
                            tensors(v == 0 ? 4 : 100000, static_cast<float>(v)));
         });
       }},
  };
}

// Everything under `path` (a file or a folder) as one comparable string.
std::string snapshot(const fs::path& path) {
  if (!fs::is_directory(path)) return read_bytes(path);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files)
    out += fs::relative(f, path).string() + "\n" + read_bytes(f) + "\n";
  return out;
}

// Saves version 0, then tries version 1 under `fault`: expects an Error naming the file, version 0
// intact and no temporary files left beside it.
void expect_previous_kept(const fs::path& dir, const std::function<void(const Saver&)>& fault_on,
                          const std::function<void(const std::function<void()>&)>& under_fault) {
  for (const Saver& s : savers()) {
    const fs::path path = dir / s.file;
    s.save(path, 0);
    const std::string before = snapshot(path);
    const auto listing = folder_listing(dir);
    std::string message;
    under_fault([&] {
      try {
        s.save(path, 1);
      } catch (const Error& e) {
        message = e.what();
      }
    });
    if (fault_on) fault_on(s);
    QVERIFY2(!message.empty(),
             (std::string(s.what) + ": saving succeeded under the fault").c_str());
    QVERIFY2(message.find(s.file) != std::string::npos, message.c_str());
    QVERIFY2(message.find("Unknown error") == std::string::npos, message.c_str());  // a reason
    QVERIFY2(snapshot(path) == before, (std::string(s.what) + ": previous file changed").c_str());
    QCOMPARE(folder_listing(dir), listing);
    qInfo("%s: %s", s.what, message.c_str());
  }
}

bool may_mount() {
  return ::geteuid() == 0;
}

// The writer child of kill_9_during_saves: saves versions 0 and 1 alternately, forever.
int run_writer(const fs::path& dir) {
  for (int i = 0;; ++i) {
    for (const Saver& s : savers())
      s.save(dir / s.file, i % 2);
    if (i == 0) std::ofstream(dir / "started").put('1');
  }
}

}  // namespace

class TestSaveFaults : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void disk_full_keeps_the_previous_files() {
    const fs::path dir = test::temp_dir("disk_full");
    // 64 kB: every version 0 fits, no version 1 does (300x300 noise PNG ~270 kB, 400 kB tensors).
    expect_previous_kept(dir, nullptr, [](const std::function<void()>& save) {
      FileSizeLimit limit(64 * 1024);
      save();
    });
  }

  void a_real_full_tmpfs_keeps_the_previous_files() {
    if (!may_mount()) QSKIP("mounting a small tmpfs needs root (the injected limit covers this)");
    const fs::path dir = test::temp_dir("tmpfs_full");
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") != 0)
      QSKIP(qPrintable(QString("cannot mount a tmpfs here: ") + std::strerror(errno)));
    struct Unmount {
      fs::path d;
      ~Unmount() { ::umount2(d.c_str(), MNT_DETACH); }
    } unmount{dir};
    expect_previous_kept(dir, nullptr, [&](const std::function<void()>& save) {
      // Fill what is left, keep a little for the temporary names, save, free it again.
      {
        std::ofstream filler(dir / "filler", std::ios::binary);
        const std::string block(4096, 'x');
        while (filler.write(block.data(), block.size())) {
        }
      }
      fs::resize_file(dir / "filler", fs::file_size(dir / "filler") - 4096);
      save();
      fs::remove(dir / "filler");
    });
  }

  void a_read_only_folder_keeps_the_previous_files() {
    const fs::path dir = test::temp_dir("read_only");
    if (::geteuid() != 0) {
      expect_previous_kept(dir, nullptr, [&](const std::function<void()>& save) {
        fs::permissions(dir, fs::perms::owner_write, fs::perm_options::remove);
        save();
        fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
      });
      return;
    }
    // root ignores permissions: a read-only mount it is.
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m") != 0)
      QSKIP(qPrintable(QString("root without mount permission: ") + std::strerror(errno)));
    struct Unmount {
      fs::path d;
      ~Unmount() { ::umount2(d.c_str(), MNT_DETACH); }
    } unmount{dir};
    expect_previous_kept(dir, nullptr, [&](const std::function<void()>& save) {
      QVERIFY(::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
      save();
      QVERIFY(::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT, "size=4m") == 0);
    });
  }

  void kill_9_during_saves_leaves_the_old_or_the_new_file() {
    const fs::path dir = test::temp_dir("kill9");
    // Each file's two versions, as the writer makes them.
    std::map<std::string, std::array<std::string, 2>> versions;
    {
      const fs::path ref = test::temp_dir("kill9_reference");
      for (const Saver& s : savers()) {
        for (int v = 0; v < 2; ++v) {
          s.save(ref / s.file, v);
          versions[s.file][static_cast<size_t>(v)] = snapshot(ref / s.file);
        }
      }
    }
    std::mt19937 rng(9);
    std::uniform_int_distribution<int> delay_ms(0, 150);
    constexpr int kKills = 25;
    int seen_versions[2] = {0, 0};
    for (int round = 0; round < kKills; ++round) {
      fs::remove(dir / "started");
      QProcess writer;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.insert("PAPILLON_KILL_WRITER_DIR", QString::fromStdString(dir.string()));
      writer.setProcessEnvironment(env);
      writer.start(QCoreApplication::applicationFilePath(), {});
      QVERIFY(writer.waitForStarted());
      QVERIFY(QTest::qWaitFor([&] { return fs::exists(dir / "started"); }, 60000));
      QTest::qWait(delay_ms(rng));
      ::kill(static_cast<pid_t>(writer.processId()), SIGKILL);
      QVERIFY(writer.waitForFinished());
      QCOMPARE(writer.exitStatus(), QProcess::CrashExit);
      for (const Saver& s : savers()) {
        fs::path path = dir / s.file;
        if (std::string(s.what) == "checkpoint") {
          // Killed between the two renames of the fallback path: the previous copy is complete.
          path = find_complete_folder(path.string());
          QVERIFY2(!path.empty(), "no complete checkpoint folder");
        }
        const std::string now = snapshot(path);
        const auto& v = versions[s.file];
        QVERIFY2(now == v[0] || now == v[1],
                 qPrintable(QString("round %1: %2 is neither version").arg(round).arg(s.what)));
        ++seen_versions[now == v[0] ? 0 : 1];
      }
    }
    qInfo("after %d kills: %d files held version 0, %d version 1", kKills, seen_versions[0],
          seen_versions[1]);
    // The files stay readable by the real readers too.
    QCOMPARE(read_png_text((dir / "image.png").string()).count("papillon"), size_t{1});
    QCOMPARE(load_safetensors((dir / "weights.safetensors").string()).size(), size_t{1});
  }
};

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("PAPILLON_KILL_WRITER_DIR")) return run_writer(dir);
  QCoreApplication app(argc, argv);
  TestSaveFaults test;
  QTEST_SET_MAIN_SOURCE_PATH
  return QTest::qExec(&test, argc, argv);
}

#include "tst_save_faults.moc"
