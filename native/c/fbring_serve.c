/*
 * The consumer's serving thread: native/src/serve.cc's ring mode, in C. A listening unix socket
 * (0600); a connection that asks (one byte 'R') gets a fresh sealed region of its own, its line
 * in the page reset first, and two descriptors with SCM_RIGHTS (the page, its region) plus its
 * index (u32). The connection stays open as the liveness token: when it closes (the process
 * died or left) the consumer learns it (peersSeq bumped, fb_serve_events). Up to 64 producers;
 * at most 256 connections; one that has not asked within 5 s is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "fbring_int.h"

#define MAX_CONNS 256
#define PENDING (-2)
#define PENDING_MS 5000.0

/* per index: free; open (its connection sock_of[i] is open); dropping (the consumer is done with it:
 * freed once the serving thread closed the socket); held (cut off: its socket shut down, the index
 * kept until the consumer drops it); closed (gone, not yet dropped) */
enum { SLOT_FREE = 0, SLOT_OPEN, SLOT_DROPPING, SLOT_HELD, SLOT_CLOSED };

typedef struct conn {
  int sock, pid, uid, index;
  double since;
} conn;

struct fb_server {
  int listen_fd, wake_fd, page_fd;
  char path[108];
  pthread_t th;
  conn conns[MAX_CONNS]; /* serving thread only */
  int nconns;
  size_t region_bytes;
  ConsumerPage* page;
  pthread_mutex_t mu; /* guards slot, sock_of, added, gone */
  int slot[kMaxProducers];
  int sock_of[kMaxProducers];
  fb_arrival added[kMaxProducers];
  int nadded;
  int gone[kMaxProducers];
  int ngone;
};

static void send_fds(int sock, const int* fds, int n, const void* data, size_t len) {
  struct iovec iov = {(void*)data, len};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 2)];
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
  (void)!sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void bump_peers(fb_server* s) {
  __atomic_fetch_add(&s->page->meta.peersSeq, 1, __ATOMIC_SEQ_CST);
  fb_futex_wake(&s->page->meta.peersSeq, 0x7fffffff);
}

static void remove_conn(fb_server* s, int i) {
  s->conns[i] = s->conns[--s->nconns];
}

static void drop_conn(fb_server* s, int i) {
  conn c = s->conns[i];
  remove_conn(s, i);
  int report = 0;
  if (c.index >= 0) {
    pthread_mutex_lock(&s->mu); /* before close: fb_serve_drop never shuts down a stale number */
    if (s->slot[c.index] == SLOT_DROPPING) {
      s->slot[c.index] = SLOT_FREE;
    } else if (s->slot[c.index] == SLOT_HELD) {
      s->slot[c.index] = SLOT_CLOSED; /* cut off: no departure to report */
    } else {
      s->slot[c.index] = SLOT_CLOSED; /* taken until the consumer drops it */
      s->gone[s->ngone++] = c.index;
      report = 1;
    }
    pthread_mutex_unlock(&s->mu);
  }
  close(c.sock);
  if (report) bump_peers(s);
}

static void accept_ring(fb_server* s, conn c) {
  int index = -1;
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < (int)kMaxProducers && index < 0; i++)
    if (s->slot[i] == SLOT_FREE) index = i;
  if (index >= 0) s->slot[index] = SLOT_CLOSED;
  pthread_mutex_unlock(&s->mu);
  int region = index < 0 ? -1 : fb_memfd_sealed("framebench-region", s->region_bytes, 0);
  int mine = region < 0 ? -1 : fcntl(region, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) { /* refused: every index taken, or no memory; no descriptor */
    if (region >= 0) close(region);
    close(c.sock);
    if (index >= 0) {
      pthread_mutex_lock(&s->mu);
      s->slot[index] = SLOT_FREE;
      pthread_mutex_unlock(&s->mu);
    }
    return;
  }
  ProducerLine* line = &s->page->lines[index];
  __atomic_store_n(&line->readCursor, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&line->spaceSeq, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&line->state, (uint32_t)kLineActive, __ATOMIC_SEQ_CST);
  c.index = index;
  s->conns[s->nconns++] = c;
  pthread_mutex_lock(&s->mu);
  s->slot[index] = SLOT_OPEN;
  s->sock_of[index] = c.sock;
  s->added[s->nadded++] = (fb_arrival){index, mine, c.pid, c.uid};
  pthread_mutex_unlock(&s->mu);
  bump_peers(s); /* the consumer learns of the region before the producer has it */
  int fds[2] = {s->page_fd, region};
  uint32_t idx = (uint32_t)index;
  send_fds(c.sock, fds, 2, &idx, sizeof(idx));
  close(region);
}

static void* serve(void* arg) {
  fb_server* s = arg;
  struct pollfd p[2 + MAX_CONNS];
  for (;;) {
    int n = 2, pending = 0;
    p[0] = (struct pollfd){s->listen_fd, POLLIN, 0};
    p[1] = (struct pollfd){s->wake_fd, POLLIN, 0};
    for (int i = 0; i < s->nconns; i++) {
      p[n++] = (struct pollfd){s->conns[i].sock, POLLIN | POLLRDHUP, 0};
      pending |= s->conns[i].index == PENDING;
    }
    int r = poll(p, (nfds_t)n, pending ? 1000 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return NULL;
    if (p[1].revents & POLLIN) {
      uint64_t v = 0;
      (void)!read(s->wake_fd, &v, sizeof(v));
      if (v >= (1ull << 32)) return NULL;
      continue;
    }
    if (pending) {
      double now = fb_now_ms();
      int before = s->nconns;
      for (int i = s->nconns; i-- > 0;) {
        if (s->conns[i].index == PENDING && now - s->conns[i].since > PENDING_MS) {
          close(s->conns[i].sock);
          remove_conn(s, i);
        }
      }
      if (s->nconns != before) continue;
    }
    /* connections, last first (remove_conn moves the last one into the hole) */
    for (int i = n; i-- > 2;) {
      short ev = p[i].revents;
      if (!ev) continue;
      int ci = i - 2;
      if (s->conns[ci].index == PENDING && (ev & POLLIN)) {
        char req = 0;
        ssize_t k = recv(s->conns[ci].sock, &req, 1, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        conn c = s->conns[ci];
        remove_conn(s, ci);
        if (k == 1 && req == FB_REQUEST) accept_ring(s, c);
        else close(c.sock);
        continue;
      }
      int end = (ev & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
      if (!end && (ev & POLLIN)) {
        char junk[256];
        ssize_t k = recv(s->conns[ci].sock, junk, sizeof(junk), MSG_DONTWAIT);
        end = k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR);
      }
      if (end) {
        if (s->conns[ci].index == PENDING) {
          close(s->conns[ci].sock);
          remove_conn(s, ci);
        } else {
          drop_conn(s, ci);
        }
      }
    }
    if (p[0].revents & POLLIN) {
      int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) continue;
      struct ucred cred;
      socklen_t len = sizeof(cred);
      if (s->nconns >= MAX_CONNS || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        close(c);
        continue;
      }
      s->conns[s->nconns++] = (conn){c, (int)cred.pid, (int)cred.uid, PENDING, fb_now_ms()};
    }
  }
}

fb_server* fb_serve_ring(const char* path, int page_fd, ConsumerPage* page, size_t region_bytes, fb_err* err) {
  size_t plen = strlen(path);
  if (plen < 2 || plen >= sizeof(((struct sockaddr_un*)0)->sun_path) || path[0] != '/') {
    fb_set_err(err, "FB_ERR_USAGE", "ring socket path too long or not absolute: %s", path);
    return NULL;
  }
  fb_server* s = calloc(1, sizeof(*s));
  if (!s) {
    fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "serving: out of memory");
    return NULL;
  }
  memcpy(s->path, path, plen + 1);
  s->page = page;
  s->region_bytes = region_bytes;
  pthread_mutex_init(&s->mu, NULL);
  s->page_fd = fcntl(page_fd, F_DUPFD_CLOEXEC, 0);
  s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  s->wake_fd = eventfd(0, EFD_CLOEXEC);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, plen);
  const char* what = NULL;
  int e = 0;
  if (s->page_fd < 0 || s->listen_fd < 0 || s->wake_fd < 0) {
    what = "descriptors";
  } else if (bind(s->listen_fd, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
    what = "bind";
  } else if (chmod(path, 0600) != 0 || listen(s->listen_fd, 128) != 0) {
    e = errno;
    unlink(path);
    errno = e;
    what = "listen";
  } else if ((e = pthread_create(&s->th, NULL, serve, s)) != 0) {
    unlink(path);
    errno = e;
    what = "thread";
  }
  if (what) {
    e = errno;
    if (s->page_fd >= 0) close(s->page_fd);
    if (s->listen_fd >= 0) close(s->listen_fd);
    if (s->wake_fd >= 0) close(s->wake_fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
    fb_set_err(err, "FB_ERR_TRANSPORT_UNAVAILABLE", "serving the ring on %s: %s: %s", path, what, strerror(e));
    return NULL;
  }
  return s;
}

void fb_serve_events(fb_server* s, fb_arrival* added, int* nadded, int* gone, int* ngone) {
  pthread_mutex_lock(&s->mu);
  memcpy(added, s->added, sizeof(fb_arrival) * (size_t)s->nadded);
  *nadded = s->nadded;
  memcpy(gone, s->gone, sizeof(int) * (size_t)s->ngone);
  *ngone = s->ngone;
  s->nadded = s->ngone = 0;
  pthread_mutex_unlock(&s->mu);
}

void fb_serve_drop(fb_server* s, int index) {
  if (index < 0 || index >= (int)kMaxProducers) return;
  pthread_mutex_lock(&s->mu);
  if (s->slot[index] == SLOT_OPEN || s->slot[index] == SLOT_HELD) {
    if (s->slot[index] == SLOT_OPEN) shutdown(s->sock_of[index], SHUT_RDWR); /* the serving thread sees it end, closes it */
    s->slot[index] = SLOT_DROPPING;
  } else if (s->slot[index] == SLOT_CLOSED) {
    s->slot[index] = SLOT_FREE;
    int k = 0; /* its departure, if not yet collected, is not the next owner's */
    for (int i = 0; i < s->ngone; i++)
      if (s->gone[i] != index) s->gone[k++] = s->gone[i];
    s->ngone = k;
  }
  pthread_mutex_unlock(&s->mu);
}

void fb_serve_cut(fb_server* s, int index) {
  if (index < 0 || index >= (int)kMaxProducers) return;
  pthread_mutex_lock(&s->mu);
  if (s->slot[index] == SLOT_OPEN) {
    shutdown(s->sock_of[index], SHUT_RDWR);
    s->slot[index] = SLOT_HELD;
  }
  pthread_mutex_unlock(&s->mu);
}

void fb_serve_stop(fb_server* s) {
  uint64_t stop = 1ull << 32;
  (void)!write(s->wake_fd, &stop, sizeof(stop));
  pthread_join(s->th, NULL);
  close(s->listen_fd);
  close(s->wake_fd);
  close(s->page_fd);
  for (int i = 0; i < s->nconns; i++) close(s->conns[i].sock);
  for (int i = 0; i < s->nadded; i++) close(s->added[i].fd);
  unlink(s->path);
  pthread_mutex_destroy(&s->mu);
  free(s);
}
