#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

static int parse_mac(const char *s, uint8_t *m) {
  return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}
static uint16_t csum(const void *data, size_t len) {
  const uint8_t *p = data; uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}
static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc != 11) { fprintf(stderr, "usage: %s IFACE SRCMAC DSTMAC SRCIP DSTIP SPORT DPORT FRAMELEN MAXPKTS MAXSECONDS\n", argv[0]); return 2; }
  const char *ifname = argv[1];
  uint8_t smac[6], dmac[6];
  struct in_addr sip, dip;
  if (parse_mac(argv[2], smac) || parse_mac(argv[3], dmac) || !inet_aton(argv[4], &sip) || !inet_aton(argv[5], &dip)) { fprintf(stderr, "bad address\n"); return 2; }
  int sport = atoi(argv[6]), dport = atoi(argv[7]), flen = atoi(argv[8]);
  long long maxp = atoll(argv[9]); double maxs = atof(argv[10]);
  if (flen < 42 || flen > 1514 || maxp <= 0 || maxs <= 0 || maxs > 600) { fprintf(stderr, "bad limits\n"); return 2; }
  uint8_t f[1514]; memset(f, 0x41, sizeof f);
  memcpy(f, dmac, 6); memcpy(f + 6, smac, 6); f[12] = 0x08; f[13] = 0x00;
  uint8_t *ip = f + 14; int iplen = flen - 14;
  ip[0] = 0x45; ip[1] = 0; ip[2] = iplen >> 8; ip[3] = iplen & 0xff; ip[4] = ip[5] = 0; ip[6] = 0x40; ip[7] = 0; ip[8] = 64; ip[9] = 17; ip[10] = ip[11] = 0;
  memcpy(ip + 12, &sip, 4); memcpy(ip + 16, &dip, 4);
  uint16_t c = csum(ip, 20); ip[10] = c >> 8; ip[11] = c & 0xff;
  uint8_t *udp = ip + 20; int ulen = iplen - 20;
  udp[0] = sport >> 8; udp[1] = sport & 0xff; udp[2] = dport >> 8; udp[3] = dport & 0xff; udp[4] = ulen >> 8; udp[5] = ulen & 0xff; udp[6] = udp[7] = 0;
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int one = 1, sndbuf = 16 << 20;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
  struct sockaddr_ll sa = {0};
  sa.sll_family = AF_PACKET; sa.sll_ifindex = if_nametoindex(ifname); sa.sll_halen = 6; memcpy(sa.sll_addr, dmac, 6);
  if (!sa.sll_ifindex) { fprintf(stderr, "no interface %s\n", ifname); return 1; }
  struct mmsghdr msgs[BATCH]; struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = f; iov[i].iov_len = flen;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &sa; msgs[i].msg_hdr.msg_namelen = sizeof sa;
  }
  long long sent = 0, errors = 0; double t0 = now_s(), t = t0;
  while (sent < maxp && (t = now_s()) - t0 < maxs) {
    int n = (int)(maxp - sent < BATCH ? maxp - sent : BATCH);
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) { if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) { errors++; continue; } perror("sendmmsg"); return 1; }
    sent += r;
  }
  t = now_s();
  printf("{\"sent\":%lld,\"seconds\":%.6f,\"errors\":%lld}\n", sent, t - t0, errors);
  return 0;
}
