// Sealed anonymous shared memory (memfd) and passing its descriptors to another process
// (SCM_RIGHTS over a unix socket): native/src/memfd.cc (memory, fetching) and serve.cc (serving).
#pragma once

#include <fcntl.h>
#include <napi.h>
#include <sys/un.h>

#include <cstddef>
#include <string>

namespace fb {

// From shm.cc.
Napi::Value ThrowCode(Napi::Env env, const char* code, const std::string& msg);
Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err);
Napi::Value MapToArrayBuffer(Napi::Env env, int fd, size_t size, bool populate, bool keepFd, bool writable);

// The seals of the ring's memory: every region; the consumer page adds F_SEAL_FUTURE_WRITE (nobody
// can make a new writable mapping of it, nor write() it).
constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
constexpr int kRoSeals = kSeals | F_SEAL_FUTURE_WRITE;
constexpr double kMaxBytes = 4294967296.0 + 8192.0;
// What a producer sends to ask a ring's server for its region (a mere connect asks nothing).
constexpr char kRequest = 'R';

// From memfd.cc: argument and error helpers shared with serve.cc.
Napi::Value ThrowSys(Napi::Env env, const std::string& what, int err);
bool GetFd(const Napi::CallbackInfo& info, size_t i, int* fd);
bool GetPath(const Napi::CallbackInfo& info, size_t i, std::string* out);
bool FillAddr(const std::string& path, sockaddr_un* a);

// Adds memfdCreate, mapFd, sealsOf, closeFd, dupFd, fetchFd, peerGone (memfd.cc) and serveFd,
// serveRing, ringEvents, dropPeer, unserveFd (serve.cc) to exports.
void RegisterMemfd(Napi::Env env, Napi::Object exports);
void RegisterServe(Napi::Env env, Napi::Object exports);
// Adds the FdPoller class (poller.cc).
void RegisterPoller(Napi::Env env, Napi::Object exports);

}  // namespace fb
