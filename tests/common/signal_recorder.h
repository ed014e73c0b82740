#pragma once
// Records a signal's calls on the test's thread, for signals emitted by worker threads.
// QSignalSpy appends from the emitting thread (a direct connection) while the test thread reads it,
// a data race ThreadSanitizer reports; here a slot whose context object lives on the test's thread
// is called through the event queue. Reads like QSignalSpy: count(), at(i).at(k), isEmpty(), a
// loop.
//   SignalRecorder finished(&worker, &GenerationWorker::jobFinished);
#include <QList>
#include <QObject>
#include <QVariant>

#include <type_traits>

namespace papillon::test {

template <typename Sender, typename... Args>
class SignalRecorder : public QObject {
 public:
  SignalRecorder(Sender* sender, void (Sender::*signal)(Args...)) {
    QObject::connect(sender, signal, this, [this](std::decay_t<Args>... args) {
      calls_.append(QList<QVariant>{QVariant::fromValue(args)...});
    });
  }

  int count() const { return static_cast<int>(calls_.size()); }
  bool isEmpty() const { return calls_.isEmpty(); }
  const QList<QVariant>& at(int i) const { return calls_.at(i); }
  QList<QVariant> value(int i) const { return calls_.value(i); }
  const QList<QVariant>& last() const { return calls_.last(); }
  auto begin() const { return calls_.cbegin(); }
  auto end() const { return calls_.cend(); }

 private:
  QList<QList<QVariant>> calls_;
};

}  // namespace papillon::test
