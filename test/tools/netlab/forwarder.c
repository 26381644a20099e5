/*
 * netlab forwarder: a userspace learning L2 switch between TAP devices that emulates per-host links
 * (one-way delay, jitter, loss, down) because this kernel has no netem.
 *
 * Usage: forwarder TAPNAME...   (creates one non-persistent TAP per name in the current namespace,
 * prints "ready" on stdout; the caller may then move the links into other namespaces — the fds stay
 * valid). When stdin closes or the parent dies, it exits and the kernel deletes the TAPs.
 *
 * A frame from port s to port d leaves at  now + (delay_s ± jitter_s) + (delay_d ± jitter_d)
 * (uniform jitter, clamped at 0), never earlier than the previous frame of the same (s,d) pair unless
 * either port allows reordering. It is dropped with probability 1-(1-loss_s)(1-loss_d), or if either
 * port is down (checked on arrival and again on departure).
 *
 * Timing: a timerfd (absolute, CLOCK_MONOTONIC, 1 ns slack) wakes the loop NETLAB_SPIN_US (default 60)
 * before the next departure, which it then busy-waits for; SCHED_FIFO when allowed (NETLAB_NO_RT unsets).
 *
 * Control (stdin, one command per line, one answer line each on stdout):
 *   set IDX DELAY_US JITTER_US LOSS_PPM DOWN REORDER  -> ok | err ...
 *   stats                                            -> one JSON object
 *   reset                                            -> ok   (clears counters and the error histogram)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAXP 64
#define MAXMAC 4096
#define MAXQ 200000
#define FRAME_MAX 65536
#define HIST_BUCKETS 2000 /* 10 us each: 0..20 ms of lateness */

struct port {
  int fd;
  char name[IFNAMSIZ];
  int64_t delay_ns, jitter_ns;
  uint32_t loss_ppm;
  int down, reorder;
  uint64_t rx, tx, drop_loss, drop_down, drop_queue, drop_write;
};

struct pkt {
  int64_t t;
  uint64_t seq;
  int src, dst;
  uint32_t len;
  unsigned char data[];
};

static struct port ports[MAXP];
static int nports;
static struct pkt **heap;
static size_t heap_n;
static uint64_t seq_counter;
static int64_t last_dep[MAXP][MAXP];
static struct {
  unsigned char mac[6];
  int port;
} macs[MAXMAC];
static int nmacs;
static uint64_t hist[HIST_BUCKETS + 1];
static uint64_t late_count, late_max_ns, flooded, rt_sched;
static uint64_t rng_state;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* uniform in [-j, +j] */
static int64_t jitter(int64_t j) {
  if (j <= 0) return 0;
  return (int64_t)(rng() % (uint64_t)(2 * j + 1)) - j;
}

static int less(const struct pkt *a, const struct pkt *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct pkt *p) {
  size_t i = heap_n++;
  heap[i] = p;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!less(heap[i], heap[parent])) break;
    struct pkt *tmp = heap[i];
    heap[i] = heap[parent];
    heap[parent] = tmp;
    i = parent;
  }
}

static struct pkt *heap_pop(void) {
  struct pkt *top = heap[0];
  heap[0] = heap[--heap_n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_n && less(heap[l], heap[m])) m = l;
    if (r < heap_n && less(heap[r], heap[m])) m = r;
    if (m == i) break;
    struct pkt *tmp = heap[i];
    heap[i] = heap[m];
    heap[m] = tmp;
    i = m;
  }
  return top;
}

static int tap_open(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int mac_lookup(const unsigned char *mac) {
  for (int i = 0; i < nmacs; i++)
    if (memcmp(macs[i].mac, mac, 6) == 0) return macs[i].port;
  return -1;
}

static void mac_learn(const unsigned char *mac, int port) {
  if (mac[0] & 1) return; /* never learn group addresses */
  for (int i = 0; i < nmacs; i++)
    if (memcmp(macs[i].mac, mac, 6) == 0) {
      macs[i].port = port;
      return;
    }
  if (nmacs < MAXMAC) {
    memcpy(macs[nmacs].mac, mac, 6);
    macs[nmacs].port = port;
    nmacs++;
  }
}

static void enqueue(int src, int dst, const unsigned char *buf, uint32_t len, int64_t now) {
  struct port *s = &ports[src], *d = &ports[dst];
  if (s->down || d->down) {
    s->drop_down++;
    return;
  }
  uint64_t pass = (uint64_t)(1000000 - s->loss_ppm) * (uint64_t)(1000000 - d->loss_ppm);
  if (rng() % 1000000000000ULL >= pass) {
    s->drop_loss++;
    return;
  }
  if (heap_n >= MAXQ) {
    s->drop_queue++;
    return;
  }
  int64_t leg1 = s->delay_ns + jitter(s->jitter_ns);
  int64_t leg2 = d->delay_ns + jitter(d->jitter_ns);
  if (leg1 < 0) leg1 = 0;
  if (leg2 < 0) leg2 = 0;
  int64_t t = now + leg1 + leg2;
  if (!s->reorder && !d->reorder && t < last_dep[src][dst]) t = last_dep[src][dst];
  last_dep[src][dst] = t;
  struct pkt *p = malloc(sizeof *p + len);
  if (!p) {
    s->drop_queue++;
    return;
  }
  p->t = t;
  p->seq = seq_counter++;
  p->src = src;
  p->dst = dst;
  p->len = len;
  memcpy(p->data, buf, len);
  heap_push(p);
}

static void on_frame(int src, const unsigned char *buf, uint32_t len, int64_t now) {
  if (len < 14) return;
  ports[src].rx++;
  mac_learn(buf + 6, src);
  int dst = (buf[0] & 1) ? -1 : mac_lookup(buf);
  if (dst == src) return;
  if (dst >= 0) {
    enqueue(src, dst, buf, len, now);
  } else {
    flooded++;
    for (int i = 0; i < nports; i++)
      if (i != src) enqueue(src, i, buf, len, now);
  }
}

static void depart(int64_t now) {
  while (heap_n > 0 && heap[0]->t <= now) {
    struct pkt *p = heap_pop();
    struct port *s = &ports[p->src], *d = &ports[p->dst];
    if (s->down || d->down) {
      s->drop_down++;
    } else if (write(d->fd, p->data, p->len) == (ssize_t)p->len) {
      d->tx++;
      int64_t late = now - p->t;
      size_t b = (size_t)(late / 10000);
      hist[b > HIST_BUCKETS ? HIST_BUCKETS : b]++;
      late_count++;
      if ((uint64_t)late > late_max_ns) late_max_ns = (uint64_t)late;
    } else {
      d->drop_write++;
    }
    free(p);
  }
}

static double hist_quantile(double q) {
  if (late_count == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)late_count);
  uint64_t acc = 0;
  for (int i = 0; i <= HIST_BUCKETS; i++) {
    acc += hist[i];
    if (acc > want) return (i + 1) * 10.0; /* upper edge of the bucket, in us */
  }
  return HIST_BUCKETS * 10.0;
}

static void print_stats(void) {
  printf("{\"queued\":%zu,\"flooded\":%llu,\"rtSched\":%llu,\"late\":{\"count\":%llu,\"p50Us\":%.0f,\"p99Us\":%.0f,"
         "\"p999Us\":%.0f,\"maxUs\":%.1f},\"ports\":[",
         heap_n, (unsigned long long)flooded, (unsigned long long)rt_sched, (unsigned long long)late_count,
         hist_quantile(0.5), hist_quantile(0.99), hist_quantile(0.999), late_max_ns / 1000.0);
  for (int i = 0; i < nports; i++) {
    struct port *p = &ports[i];
    printf("%s{\"name\":\"%s\",\"rx\":%llu,\"tx\":%llu,\"dropLoss\":%llu,\"dropDown\":%llu,\"dropQueue\":%llu,"
           "\"dropWrite\":%llu}",
           i ? "," : "", p->name, (unsigned long long)p->rx, (unsigned long long)p->tx,
           (unsigned long long)p->drop_loss, (unsigned long long)p->drop_down,
           (unsigned long long)p->drop_queue, (unsigned long long)p->drop_write);
  }
  printf("]}\n");
}

static void command(char *line) {
  int idx, down, reorder;
  long long delay_us, jitter_us;
  unsigned long loss_ppm;
  if (sscanf(line, "set %d %lld %lld %lu %d %d", &idx, &delay_us, &jitter_us, &loss_ppm, &down, &reorder) == 6) {
    if (idx < 0 || idx >= nports || delay_us < 0 || jitter_us < 0 || loss_ppm > 1000000) {
      printf("err bad set arguments\n");
    } else {
      struct port *p = &ports[idx];
      p->delay_ns = delay_us * 1000;
      p->jitter_ns = jitter_us * 1000;
      p->loss_ppm = (uint32_t)loss_ppm;
      p->down = down != 0;
      p->reorder = reorder != 0;
      printf("ok\n");
    }
  } else if (strncmp(line, "stats", 5) == 0) {
    print_stats();
  } else if (strncmp(line, "reset", 5) == 0) {
    memset(hist, 0, sizeof hist);
    late_count = late_max_ns = flooded = 0;
    for (int i = 0; i < nports; i++)
      ports[i].rx = ports[i].tx = ports[i].drop_loss = ports[i].drop_down = ports[i].drop_queue =
          ports[i].drop_write = 0;
    printf("ok\n");
  } else {
    printf("err unknown command\n");
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc - 1 > MAXP) {
    fprintf(stderr, "usage: forwarder TAPNAME... (1..%d)\n", MAXP);
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return 1; /* parent already gone */
  prctl(PR_SET_TIMERSLACK, 1UL);
  struct sched_param sp = {.sched_priority = 10};
  if (getenv("NETLAB_NO_RT") == NULL && sched_setscheduler(0, SCHED_FIFO, &sp) == 0) rt_sched = 1;
  rng_state = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
  if (getenv("NETLAB_SEED")) rng_state = strtoull(getenv("NETLAB_SEED"), NULL, 10) | 1;
  heap = malloc(sizeof(struct pkt *) * MAXQ);
  if (!heap) return 1;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  nports = argc - 1;
  for (int i = 0; i < nports; i++) {
    struct port *p = &ports[i];
    memset(p, 0, sizeof *p);
    strncpy(p->name, argv[i + 1], IFNAMSIZ - 1);
    p->fd = tap_open(p->name);
    if (p->fd < 0) {
      fprintf(stderr, "cannot create TAP %s: %s\n", p->name, strerror(errno));
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = 1000};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 1001};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  printf("ready\n");
  fflush(stdout);

  int64_t spin_ns = getenv("NETLAB_SPIN_US") ? atoll(getenv("NETLAB_SPIN_US")) * 1000 : 60000;
  static unsigned char buf[FRAME_MAX];
  static char cmdbuf[4096];
  size_t cmdlen = 0;
  int64_t armed = -1;
  struct epoll_event events[MAXP + 2];
  for (;;) {
    int64_t now = now_ns();
    depart(now);
    /* The timer wakes us spin_ns before the next departure (wake-up latency is ~50-100 us); inside
     * that window we poll epoll without sleeping, so input is still served while we wait precisely. */
    int timeout = -1;
    if (heap_n > 0 && heap[0]->t - now <= spin_ns) {
      timeout = 0;
    } else if (heap_n > 0 && heap[0]->t - spin_ns != armed) {
      armed = heap[0]->t - spin_ns;
      struct itimerspec its = {{0, 0}, {armed / 1000000000LL, armed % 1000000000LL}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(ep, events, MAXP + 2, timeout);
    if (n < 0 && errno != EINTR) return 1;
    now = now_ns();
    for (int e = 0; e < n; e++) {
      uint32_t id = events[e].data.u32;
      if (id == 1000) {
        uint64_t exp;
        if (read(tfd, &exp, sizeof exp) < 0) { /* spurious */
        }
        armed = -1;
      } else if (id == 1001) {
        for (;;) {
          ssize_t r = read(0, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
          if (r == 0) return 0; /* controller gone: exit, TAPs vanish */
          if (r < 0) break;
          cmdlen += (size_t)r;
          cmdbuf[cmdlen] = 0;
          char *nl;
          while ((nl = strchr(cmdbuf, '\n')) != NULL) {
            *nl = 0;
            command(cmdbuf);
            size_t used = (size_t)(nl - cmdbuf) + 1;
            memmove(cmdbuf, nl + 1, cmdlen - used + 1);
            cmdlen -= used;
          }
          if (cmdlen >= sizeof cmdbuf - 1) cmdlen = 0; /* overlong line: discard */
        }
      } else if (id < (uint32_t)nports) {
        for (int k = 0; k < 256; k++) {
          ssize_t r = read(ports[id].fd, buf, sizeof buf);
          if (r <= 0) break;
          on_frame((int)id, buf, (uint32_t)r, now);
        }
      }
    }
  }
}
