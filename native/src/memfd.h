// Sealed anonymous shared memory (memfd) and passing its descriptor to another process
// (SCM_RIGHTS over a unix socket). See native/src/memfd.cc.
#pragma once

#include <napi.h>

#include <cstddef>
#include <string>

namespace fb {

// From shm.cc.
Napi::Value ThrowCode(Napi::Env env, const char* code, const std::string& msg);
Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err);
Napi::Value MapToArrayBuffer(Napi::Env env, int fd, size_t size, bool populate, bool keepFd, bool writable);

// Adds memfdCreate, mapFd, sealsOf, closeFd, serveFd, serveRing, ringEvents, dropPeer, unserveFd, fetchFd, peerGone to exports.
void RegisterMemfd(Napi::Env env, Napi::Object exports);

}  // namespace fb
