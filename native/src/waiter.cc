// Waiter: the futex waits of a ring end, done on a native thread of its own so that the JS
// thread never blocks; it wakes the event loop through a thread-safe function.
//   new Waiter(onWake)        starts the thread, idle (it sleeps on a private control word).
//   watch(abs[], offsets[])   the u32 words to wait on (each in a live mapping of ours, up to 127);
//                             disarms. Call it before unmapping any of them.
//   arm(expected: Uint32Array) wake when any word differs from expected[i] (the caller read them
//                             before its last check, so nothing committed after that is missed).
//                             The thread then disarms itself and calls onWake(observedNs) once:
//                             observedNs is CLOCK_MONOTONIC when its wait returned and it saw a word
//                             change. While armed the function holds the event loop (a waiting end
//                             keeps its process alive, as a listening socket does).
//   disarm()                  no call for what changes from now on (one already queued still comes:
//                             onWake re-checks).
// Between wake-ups the thread keeps waiting on the values it read last, so an arm() with those
// same values (the usual case: one commit, drained) costs no system call.
//   close()                   stops and joins the thread, releases the function: the process is no
//                             longer held. Idempotent; also done at environment teardown and GC.
//   stats() -> { waits, timeouts, fired, coalesced }
// The thread runs on the CPU the JS thread last armed it from (see Arm).
// Coalescing: at most one call is pending. Changes seen while one is pending only count as
// `coalesced`; the JS side drains everything available when called, so nothing is lost.
// The thread reads the words only under the mutex and only the set of the last watch() (the JS
// side calls watch() before it unmaps any of them); after EFAULT from futex_waitv (a mapping went
// away all the same) it reads none and waits for the next watch().
#include "waiter.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "memfd.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

namespace fb {
namespace {

// A wait returns at least this often (a re-wait, no JS call): a missed wake-up costs at most this.
constexpr long kWaitNs = 1000L * 1000 * 1000;

double MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Everything the thread and the thread-safe function share. Owned by shared pointers: the JS
// object's, the thread's and the function's (released in its finalizer).
struct Core {
  std::mutex mu;
  std::vector<WaitvEntry> words;  // guarded by mu (the thread copies them)
  bool armed = false;             // guarded by mu
  bool stop = false;              // guarded by mu
  bool stale = false;             // guarded by mu: the words' values are unknown (read them before waiting)
  uint64_t gen = 0;               // guarded by mu: +1 on every watch, every arm with other values, stop
  uint32_t ctl = 0;               // private futex word: +1 on every change above (the thread sleeps on it)
  std::atomic<bool> pending{false};
  std::atomic<double> observedNs{0};
  std::atomic<uint64_t> waits{0}, timeouts{0}, fired{0}, coalesced{0};
  napi_threadsafe_function tsfn = nullptr;
  napi_env env = nullptr;
  std::thread th;
  bool refd = false;   // JS thread only
  bool closed = false; // JS thread only
  bool hook = false;   // JS thread only: the environment cleanup hook is registered
  int cpu = -1;        // JS thread only: the CPU the thread is pinned to (the JS thread's, at the last arm)
};

void Kick(Core* c) {  // call with mu held
  c->gen++;
  __atomic_fetch_add(&c->ctl, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &c->ctl, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void Fire(Core* c, double now) {
  if (c->pending.exchange(true)) {
    c->coalesced++;
    return;
  }
  c->observedNs.store(now);
  // The queue is unbounded and holds one call at most: this never blocks.
  if (napi_call_threadsafe_function(c->tsfn, nullptr, napi_tsfn_nonblocking) != napi_ok) c->pending.store(false);
}

// Reads the watched words into their expected values (mu held; generation unchanged since the
// last watch(), so every word is in a mapping the JS side has not unmapped: it calls watch() first).
void ReadWords(Core* c) {
  for (auto& e : c->words) e.val = __atomic_load_n(reinterpret_cast<const uint32_t*>(static_cast<uintptr_t>(e.uaddr)), __ATOMIC_SEQ_CST);
}

void Run(std::shared_ptr<Core> keep) {
  Core* c = keep.get();
  std::vector<WaitvEntry> w;
  w.reserve(kMaxWaitv);
  for (;;) {
    uint32_t ctl;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (c->stop) return;
      ctl = __atomic_load_n(&c->ctl, __ATOMIC_SEQ_CST);
      gen = c->gen;
      if (c->stale && !c->armed) ReadWords(c);
      c->stale = false;
      w.assign(1, WaitvEntry{ctl, reinterpret_cast<uintptr_t>(&c->ctl), kFutex2SizeU32 | kFutex2Private, 0});
      w.insert(w.end(), c->words.begin(), c->words.end());
    }
    if (w.size() == 1) {  // nothing watched
      syscall(SYS_futex, &c->ctl, FUTEX_WAIT_PRIVATE, ctl, nullptr, nullptr, 0);
      continue;
    }
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  // futex_waitv takes an absolute deadline
    long ns = ts.tv_nsec + kWaitNs;
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    c->waits++;
    long r = syscall(SYS_futex_waitv, w.data(), static_cast<unsigned>(w.size()), 0, &ts, CLOCK_MONOTONIC);
    int err = r < 0 ? errno : 0;
    if (r == 0 || (r < 0 && (err == EINTR || err == ETIMEDOUT))) {  // the control word, a signal, or time
      if (err == ETIMEDOUT) c->timeouts++;
      continue;
    }
    // r > 0: a watched word was woken; EAGAIN: a word was not as expected; EFAULT: a mapping went
    // away. Unless the control word moved meanwhile (a new set or new values): start over.
    if (__atomic_load_n(&c->ctl, __ATOMIC_SEQ_CST) != ctl) continue;
    double now = MonoNs();
    bool fire;
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (c->stop) return;
      if (c->gen != gen) continue;
      fire = c->armed;
      c->armed = false;
      if (err == EFAULT) {
        c->words.clear();  // never read them: idle until the JS side watches again
      } else {
        // Wait next on the values now there: when the JS side drains and arms with the same values
        // (nothing else came), arm() need not wake this thread at all.
        ReadWords(c);
      }
    }
    if (fire) Fire(c, now);
    else c->coalesced++;  // a change while disarmed: the JS side is draining, or a call is pending
  }
}

// On the JS thread, for each call the thread queued.
void CallJs(napi_env env, napi_value cb, void* context, void* /*data*/) {
  if (env == nullptr || cb == nullptr) return;  // the function is being torn down
  Core* c = static_cast<std::shared_ptr<Core>*>(context)->get();
  double ns = c->observedNs.load();
  c->pending.store(false);  // anything seen from now on gets a call of its own
  c->fired++;
  bool armed;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    armed = c->armed;
  }
  if (!armed && c->refd && !c->closed) {  // nothing to wait for until the handler re-arms
    napi_unref_threadsafe_function(env, c->tsfn);
    c->refd = false;
  }
  napi_value arg, recv;
  napi_create_double(env, ns, &arg);
  napi_get_undefined(env, &recv);
  napi_call_function(env, recv, cb, 1, &arg, nullptr);  // an exception is reported by Node as uncaught
}

void FinalizeTsfn(napi_env /*env*/, void* /*data*/, void* context) {
  delete static_cast<std::shared_ptr<Core>*>(context);
}

// Stops and joins the thread, releases the function. JS thread (or environment teardown) only.
void Stop(Core* c) {
  if (c->closed) return;
  c->closed = true;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->stop = true;
    c->armed = false;
    Kick(c);
  }
  if (c->th.joinable()) c->th.join();
}

void Teardown(void* arg) {
  Core* c = static_cast<Core*>(arg);
  c->hook = false;  // Node removes a hook once it has run
  Stop(c);
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
}

void Close(Core* c) {
  if (c->closed) return;
  Stop(c);
  if (c->hook) {
    napi_remove_env_cleanup_hook(c->env, Teardown, c);
    c->hook = false;
  }
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
}

class Waiter : public Napi::ObjectWrap<Waiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Waiter",
                       {InstanceMethod("watch", &Waiter::Watch), InstanceMethod("arm", &Waiter::Arm),
                        InstanceMethod("disarm", &Waiter::Disarm), InstanceMethod("close", &Waiter::CloseJs),
                        InstanceMethod("stats", &Waiter::Stats)});
  }

  explicit Waiter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Waiter>(info), core_(std::make_shared<Core>()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowCode(env, "FB_ERR_USAGE", "new Waiter(onWake: (observedNs) => void)");
      return;
    }
    // futex_waitv with no words: EINVAL where the call exists, ENOSYS where it does not.
    if (syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, 0) < 0 && errno == ENOSYS) {
      ThrowCode(env, "FB_ERR_NATIVE_UNAVAILABLE", "futex_waitv needs Linux 5.16 or later");
      return;
    }
    Core* c = core_.get();
    c->env = env;
    auto* ctx = new std::shared_ptr<Core>(core_);
    napi_value name;
    napi_create_string_utf8(env, "framebench-ring-waiter", NAPI_AUTO_LENGTH, &name);
    napi_status st = napi_create_threadsafe_function(env, info[0], nullptr, name, 0, 1, nullptr, FinalizeTsfn, ctx, CallJs, &c->tsfn);
    if (st != napi_ok) {
      delete ctx;
      c->closed = true;
      ThrowCode(env, "EIO", "napi_create_threadsafe_function failed");
      return;
    }
    napi_unref_threadsafe_function(env, c->tsfn);  // idle: holds nothing
    c->th = std::thread(Run, core_);
    napi_add_env_cleanup_hook(env, Teardown, c);
    c->hook = true;
  }

  ~Waiter() override { Close(core_.get()); }

 private:
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core* c = core_.get();
    if (c->closed) return ThrowCode(env, "FB_ERR_USAGE", "watch: the waiter is closed");
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray())
      return ThrowCode(env, "FB_ERR_USAGE", "watch(abs: ArrayBuffer[], byteOffsets: number[])");
    Napi::Array abs = info[0].As<Napi::Array>();
    Napi::Array offs = info[1].As<Napi::Array>();
    uint32_t n = abs.Length();
    if (n > kMaxWaitv - 1 || offs.Length() != n) return ThrowCode(env, "FB_ERR_USAGE", "watch: up to 127 words, arrays of equal length");
    std::vector<WaitvEntry> w(n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value a = abs[i], o = offs[i];
      if (!a.IsArrayBuffer() || !o.IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "watch: bad entry");
      Napi::ArrayBuffer ab = a.As<Napi::ArrayBuffer>();
      double off = o.As<Napi::Number>().DoubleValue();
      if (!(off >= 0) || std::floor(off) != off || static_cast<size_t>(off) % 4 != 0 || off + 4 > static_cast<double>(ab.ByteLength()) ||
          !LiveMapping(ab.Data(), static_cast<size_t>(off) + 4))
        return ThrowCode(env, "FB_ERR_USAGE", "watch: offset out of bounds, unaligned, or not a live shared mapping");
      w[i] = WaitvEntry{0, reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(ab.Data()) + static_cast<size_t>(off)), kFutex2SizeU32, 0};
    }
    std::lock_guard<std::mutex> lock(c->mu);
    c->words.swap(w);
    c->stale = true;
    c->armed = false;
    Kick(c);
    return env.Undefined();
  }

  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core* c = core_.get();
    if (c->closed) return ThrowCode(env, "FB_ERR_USAGE", "arm: the waiter is closed");
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
      return ThrowCode(env, "FB_ERR_USAGE", "arm(expected: Uint32Array)");
    Napi::Uint32Array e = info[0].As<Napi::Uint32Array>();
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (e.ElementLength() != c->words.size()) return ThrowCode(env, "FB_ERR_USAGE", "arm: one expected value per watched word");
      if (c->words.empty()) return ThrowCode(env, "FB_ERR_USAGE", "arm: no word to wait on (watch first)");
      bool same = true;
      for (size_t i = 0; i < c->words.size(); i++) {
        if (c->words[i].val != e[i]) same = false;
        c->words[i].val = e[i];
      }
      c->stale = false;
      c->armed = true;
      // Same values as the thread waits on (it read them after its last wake-up): it is already
      // waiting for exactly this, no need to wake it.
      if (!same) Kick(c);
    }
    // The thread follows the JS thread's CPU (one affinity call when that changes): its call then
    // wakes the JS thread on the CPU it runs on. Measured here (2 vCPUs, realtime 1080p RGBA): the
    // consumer's CPU per frame rose ~190 us with the waiter free to run anywhere, ~80 us pinned.
    int cpu = sched_getcpu();
    if (cpu >= 0 && cpu != c->cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(c->th.native_handle(), sizeof(set), &set);
      c->cpu = cpu;
    }
    if (!c->refd) {
      napi_ref_threadsafe_function(env, c->tsfn);
      c->refd = true;
    }
    return env.Undefined();
  }

  Napi::Value Disarm(const Napi::CallbackInfo& info) {
    Core* c = core_.get();
    if (!c->closed) {
      {
        std::lock_guard<std::mutex> lock(c->mu);
        c->armed = false;  // (the thread may wake; disarmed, it calls nobody)
      }
      if (c->refd) {
        napi_unref_threadsafe_function(info.Env(), c->tsfn);
        c->refd = false;
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close(core_.get());
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core* c = core_.get();
    Napi::Object o = Napi::Object::New(env);
    o.Set("waits", Napi::Number::New(env, static_cast<double>(c->waits.load())));
    o.Set("timeouts", Napi::Number::New(env, static_cast<double>(c->timeouts.load())));
    o.Set("fired", Napi::Number::New(env, static_cast<double>(c->fired.load())));
    o.Set("coalesced", Napi::Number::New(env, static_cast<double>(c->coalesced.load())));
    return o;
  }

  std::shared_ptr<Core> core_;
};

}  // namespace

void RegisterWaiter(Napi::Env env, Napi::Object exports) {
  exports.Set("Waiter", Waiter::Define(env));
}

}  // namespace fb
