#pragma once
// Running the real papillon-cli ($PAPILLON_CLI, set by CTest) from a Qt test, for the CLI tests.
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <string>

#include "tests/common/fixtures.h"

namespace papillon::test {

struct CliResult {
  int code = -1;  // the exit code; -1 when the process crashed or did not finish
  QString out;
  QString err;
};

inline CliResult run_cli(const QStringList& args, const QProcessEnvironment& env =
                                                      QProcessEnvironment::systemEnvironment()) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(QString::fromLocal8Bit(qgetenv("PAPILLON_CLI")), args);
  p.waitForFinished(600000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

// fixture_path as a QString, for process arguments.
inline QString cli_fixture(const std::string& relative) {
  return QString::fromStdString(fixture_path(relative));
}

}  // namespace papillon::test
