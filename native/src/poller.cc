// FdPoller: the eventfds of an eventfd-mode ring consumer, watched by libuv on the JS thread's own
// loop (uv_poll_t), so that a producer's write wakes the JS thread directly: one wake-up per
// frame, where the waiter thread (waiter.cc) costs two (its own, then the JS thread's).
//   new FdPoller(onReady)  onReady(key) runs on the JS thread when a watched eventfd had a count
//                          while armed (then disarmed: once per arm).
//   add(fd, key)           takes fd (closed by remove() or close()) and watches it for reading.
//   remove(key) -> bool    stops watching it and closes its fd.
//   arm()                  a count on any watched fd calls onReady once; the handles hold the loop
//                          meanwhile (a waiting end keeps its process alive, as a listening socket does).
//   disarm()               no call; the handles hold nothing.
//   close()                removes every fd. Idempotent; also at environment teardown and GC.
//   stats() -> { fired, coalesced, spurious, fds }
// Every readiness drains its fd (preadv2 RWF_NOWAIT: it cannot block even if a hostile producer,
// which shares the open file, cleared O_NONBLOCK; wake-ups coalesce in the eventfd's counter).
// A drain while disarmed counts as coalesced (the JS side is draining already, or has scheduled
// it); readiness with nothing to read (another reader drained it) counts as spurious.
// Teardown: a handle's close completes on a later loop turn, through a callback in this addon, and a
// worker thread's environment unloads the addon when it ends. So the poller holds an async cleanup
// hook (Node-API 8) until every handle it closed has finished closing: the environment (and the
// addon) outlives them, even when the consumer is closed, or never closed, right before it ends.
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <napi.h>

#include <cstdint>
#include <unordered_map>

#include "memfd.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

namespace fb {
namespace {

class FdPoller;

// What the handles' close callbacks share; outlives the poller until the last close completes.
struct Closing {
  FdPoller* owner = nullptr;  // null once the poller is closed
  int pending = 0;      // handles whose close has not completed
  bool done = false;    // the poller is closed: remove the hook once pending reaches 0
  napi_async_cleanup_hook_handle hook = nullptr;  // registered at construction
  bool tearingDown = false;  // the hook ran: the environment is ending and waits for us
};

struct Entry {
  uv_poll_t h;
  int fd;
  int key;
  FdPoller* owner;  // null once removed
  Closing* closing;
};

// Once the poller is closed and no close is pending: let the environment go on, free the state.
// The watchdog timer armed with the poller (arm(timeoutMs)): it runs only while the consumer sleeps,
// so a consumer woken every frame never wakes for it (a JS timer refreshed per frame still expires
// at its first due time and wakes the loop, docs/ring.md).
struct TimerBox {
  uv_timer_t t;
  FdPoller* owner;  // null once closed
  Closing* closing;
};

// The key the callback gets when the watchdog timer, not an eventfd, woke the sleeping consumer.
constexpr int kTimerKey = -2;

void Settle(Closing* c) {
  if (!c->done || c->pending > 0) return;
  if (c->hook) napi_remove_async_cleanup_hook(c->hook);
  delete c;
}

class FdPoller : public Napi::ObjectWrap<FdPoller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdPoller",
                       {InstanceMethod("add", &FdPoller::Add), InstanceMethod("remove", &FdPoller::Remove),
                        InstanceMethod("arm", &FdPoller::Arm), InstanceMethod("disarm", &FdPoller::Disarm),
                        InstanceMethod("close", &FdPoller::CloseJs), InstanceMethod("stats", &FdPoller::Stats)});
  }

  explicit FdPoller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdPoller>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      closed_ = true;
      ThrowCode(env, "FB_ERR_USAGE", "new FdPoller(onReady: (key) => void)");
      return;
    }
    if (napi_get_uv_event_loop(env, &loop_) != napi_ok || !loop_) {
      closed_ = true;
      ThrowCode(env, "FB_ERR_NATIVE_UNAVAILABLE", "no libuv loop for this environment");
      return;
    }
    env_ = env;
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    napi_value name;
    napi_create_string_utf8(env, "framebench-ring-poller", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, nullptr, name, &ctx_);
    closing_ = new Closing();
    closing_->owner = this;
    timer_ = new TimerBox();
    timer_->owner = this;
    timer_->closing = closing_;
    timer_->t.data = timer_;
    uv_timer_init(loop_, &timer_->t);
    uv_unref(reinterpret_cast<uv_handle_t*>(&timer_->t));  // the armed eventfds hold the loop, not the timer
    if (napi_add_async_cleanup_hook(env, Teardown, closing_, &closing_->hook) != napi_ok) closing_->hook = nullptr;
  }

  ~FdPoller() override { Close(); }

 private:
  // The environment is ending (the hook must be removed once our closes completed: Settle does).
  static void Teardown(napi_async_cleanup_hook_handle handle, void* arg) {
    auto* c = static_cast<Closing*>(arg);
    c->hook = handle;
    c->tearingDown = true;
    if (c->owner) c->owner->Close();
    c->done = true;
    Settle(c);
  }

  // A handle's close completed: free its box (Entry or TimerBox), and the poller's state when it was the last.
  template <typename Box>
  static void OnClosed(uv_handle_t* h) {
    auto* b = static_cast<Box*>(h->data);
    Closing* c = b->closing;
    delete b;
    c->pending--;
    Settle(c);
  }

  void Drop(Entry* e) {
    uv_poll_stop(&e->h);
    close(e->fd);  // (stopped first: libuv no longer watches it)
    e->owner = nullptr;
    closing_->pending++;
    uv_close(reinterpret_cast<uv_handle_t*>(&e->h), OnClosed<Entry>);
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    armed_ = false;
    for (auto& kv : entries_) Drop(kv.second);
    entries_.clear();
    if (timer_) {
      uv_timer_stop(&timer_->t);
      timer_->owner = nullptr;
      closing_->pending++;
      uv_close(reinterpret_cast<uv_handle_t*>(&timer_->t), OnClosed<TimerBox>);
      timer_ = nullptr;
    }
    if (ctx_) {
      napi_async_destroy(env_, ctx_);
      ctx_ = nullptr;
    }
    cb_.Reset();
    if (closing_) {
      Closing* c = closing_;
      closing_ = nullptr;
      c->owner = nullptr;
      if (!c->tearingDown) {  // (Teardown settles it itself)
        c->done = true;
        Settle(c);
      }
    }
  }

  void RefAll(bool ref) {
    for (auto& kv : entries_) {
      uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&kv.second->h);
      if (ref) uv_ref(h);
      else uv_unref(h);
    }
  }

  static void OnPoll(uv_poll_t* h, int status, int /*events*/) {
    auto* e = static_cast<Entry*>(h->data);
    FdPoller* p = e->owner;
    if (!p || p->closed_) return;
    bool had = false;
    if (status < 0) {
      had = true;  // an error on the fd: stop watching it; the JS side's scan decides what it means
      uv_poll_stop(h);
    } else {
      uint64_t v = 0;
      iovec io{&v, sizeof(v)};
      ssize_t n = preadv2(e->fd, &io, 1, -1, RWF_NOWAIT);
      had = n == static_cast<ssize_t>(sizeof(v));
    }
    if (!had) {
      p->spurious_++;
      return;
    }
    if (!p->armed_) {
      p->coalesced_++;
      return;
    }
    p->Fire(e->key);
  }

  static void OnTimer(uv_timer_t* t) {
    auto* b = static_cast<TimerBox*>(t->data);
    FdPoller* p = b->owner;
    if (!p || p->closed_ || !p->armed_) return;
    p->timeouts_++;
    p->Fire(kTimerKey);
  }

  // Disarms (the timer too) and makes the one call into JS for this sleep.
  void Fire(int key) {
    armed_ = false;
    RefAll(false);
    if (timer_) uv_timer_stop(&timer_->t);
    if (key != kTimerKey) fired_++;
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    napi_value recv, arg, fn = cb_.Value();
    napi_get_global(env, &recv);  // (napi_make_callback wants an object)
    napi_create_int32(env, key, &arg);
    napi_value result;
    if (napi_make_callback(env, ctx_, recv, fn, 1, &arg, &result) != napi_ok && env.IsExceptionPending()) {
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());  // reported as uncaught, like a throwing timer
    }
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd;
    if (closed_) return ThrowCode(env, "FB_ERR_USAGE", "add: the poller is closed");
    if (!GetFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "add(fd, key)");
    int key = info[1].As<Napi::Number>().Int32Value();
    if (entries_.count(key)) return ThrowCode(env, "FB_ERR_USAGE", "add: key already watched");
    auto* e = new Entry();
    e->fd = fd;
    e->key = key;
    e->owner = this;
    e->closing = closing_;
    e->h.data = e;
    int r = uv_poll_init(loop_, &e->h, fd);
    const bool inited = r == 0;
    if (r == 0) r = uv_poll_start(&e->h, UV_READABLE, OnPoll);
    if (r != 0) {
      close(fd);
      e->owner = nullptr;
      if (inited) {
        closing_->pending++;
        uv_close(reinterpret_cast<uv_handle_t*>(&e->h), OnClosed<Entry>);  // (frees e)
      } else {
        delete e;
      }
      return ThrowCode(env, "EIO", std::string("uv_poll on an eventfd: ") + uv_strerror(r));
    }
    if (!armed_) uv_unref(reinterpret_cast<uv_handle_t*>(&e->h));
    entries_[key] = e;
    return env.Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "remove(key)");
    auto it = entries_.find(info[0].As<Napi::Number>().Int32Value());
    if (it == entries_.end()) return Napi::Boolean::New(env, false);
    Drop(it->second);
    entries_.erase(it);
    return Napi::Boolean::New(env, true);
  }

  // arm([timeoutMs]): watch for the next readable eventfd; with timeoutMs > 0, or until that many
  // ms pass (the callback then gets key -2).
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return ThrowCode(env, "FB_ERR_USAGE", "arm: the poller is closed");
    double ms = 0;
    if (info.Length() >= 1 && !info[0].IsUndefined()) {
      if (!info[0].IsNumber()) return ThrowCode(env, "FB_ERR_USAGE", "arm(timeoutMs?: number)");
      ms = info[0].As<Napi::Number>().DoubleValue();
      if (!(ms >= 0 && ms <= 86400e3)) return ThrowCode(env, "FB_ERR_USAGE", "arm: timeoutMs must be in [0, 86400000]");
    }
    if (!armed_) {
      armed_ = true;
      RefAll(true);
    }
    if (timer_) {
      if (ms > 0) uv_timer_start(&timer_->t, OnTimer, static_cast<uint64_t>(ms), 0);
      else uv_timer_stop(&timer_->t);
    }
    return env.Undefined();
  }

  Napi::Value Disarm(const Napi::CallbackInfo& info) {
    if (armed_) {
      armed_ = false;
      RefAll(false);
    }
    if (timer_) uv_timer_stop(&timer_->t);
    return info.Env().Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("fired", Napi::Number::New(env, static_cast<double>(fired_)));
    o.Set("coalesced", Napi::Number::New(env, static_cast<double>(coalesced_)));
    o.Set("spurious", Napi::Number::New(env, static_cast<double>(spurious_)));
    o.Set("timeouts", Napi::Number::New(env, static_cast<double>(timeouts_)));
    o.Set("fds", Napi::Number::New(env, static_cast<double>(entries_.size())));
    return o;
  }

  napi_env env_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  napi_async_context ctx_ = nullptr;
  Napi::FunctionReference cb_;
  std::unordered_map<int, Entry*> entries_;
  Closing* closing_ = nullptr;
  TimerBox* timer_ = nullptr;
  bool armed_ = false;
  bool closed_ = false;
  uint64_t fired_ = 0, coalesced_ = 0, spurious_ = 0, timeouts_ = 0;
};

}  // namespace

void RegisterPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("FdPoller", FdPoller::Define(env));
}

}  // namespace fb
