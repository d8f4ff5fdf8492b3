/*
 * porttrigger-set-reader: prints the elements of nf_tables sets, read straight from the kernel over netlink.
 *
 * Why it exists: the service reads its dynamic sets often, and with tens of thousands of entries
 * `nft -j list set` spends over a second in nft's own userspace (building and printing JSON), not in the
 * kernel. This program asks the kernel for the same elements (an NFT_MSG_GETSETELEM dump per set) and prints
 * them in a compact form that the TypeScript side decodes with the set's key layout, which it knows.
 *
 * Usage: porttrigger-set-reader FAMILY TABLE [SET...]
 *   FAMILY is ip, ip6, inet, arp, bridge or netdev; TABLE and SET are names of at most 255 characters of
 *   letters, digits and '_', '-', '.', '/'. Passed as arguments, never through a shell.
 *
 * Output, lines of fields separated by one space. First every set and map of the table (no elements):
 *   set NAME KIND KEYLEN DATALEN TIMEOUT
 *     KIND is set or map; KEYLEN, DATALEN in bytes (DATALEN '-' for a set); TIMEOUT the set's default
 *     element timeout in ms, '-' when it has none.
 * then the elements of each SET asked for, in the order asked:
 *   elem NAME KEY DATA TIMEOUT EXPIRES
 *     KEY, DATA  the bytes of the key and the data as lowercase hex (as the kernel holds them: integers in
 *                host byte order, addresses in network order, each part of a concatenation padded to 4
 *                bytes), DATA '-' for a set's element;
 *     TIMEOUT    the element's own timeout in ms, '-' when the kernel reports none;
 *     EXPIRES    the ms it has left, '-' when it has none.
 *
 * Exit status: 0 success; 2 bad arguments; 3 no such table; 4 no such set; 5 permission denied (reading needs
 * CAP_NET_ADMIN); 1 anything else. stderr then names what failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

enum { EXIT_BAD_ARGS = 2, EXIT_NO_TABLE = 3, EXIT_NO_SET = 4, EXIT_PERMISSION = 5 };

#define PROGRAM "porttrigger-set-reader"

/* Several dump messages (each up to 16 KiB) per receive. */
#define BUFFER_SIZE 65536

struct reader {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	const char *table;
	char *buf;
};

static int parse_family(const char *name, uint16_t *family)
{
	static const struct {
		const char *name;
		uint16_t family;
	} families[] = {
		{ "ip", NFPROTO_IPV4 },	      { "ip6", NFPROTO_IPV6 },	 { "inet", NFPROTO_INET },
		{ "arp", NFPROTO_ARP },	      { "bridge", NFPROTO_BRIDGE }, { "netdev", NFPROTO_NETDEV },
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (strcmp(name, families[i].name) == 0) {
			*family = families[i].family;
			return 0;
		}
	}
	return -1;
}

static int valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == '/'))
			return 0;
	}
	return 1;
}

static void print_hex(const void *data, uint32_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	if (!data || len == 0) {
		putchar('-');
		return;
	}
	for (uint32_t i = 0; i < len; i++) {
		putchar(digits[p[i] >> 4]);
		putchar(digits[p[i] & 0xf]);
	}
}

static void print_elem_ms(struct nftnl_set_elem *e, uint16_t attr)
{
	if (nftnl_set_elem_is_set(e, attr))
		printf(" %" PRIu64, nftnl_set_elem_get_u64(e, attr));
	else
		fputs(" -", stdout);
}

static int print_elem(struct nftnl_set_elem *e, void *data)
{
	const char *set = data;
	uint32_t len = 0;
	printf("elem %s ", set);
	const void *key = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY) ? nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len) :
									 NULL;
	print_hex(key, len);
	putchar(' ');
	len = 0;
	const void *value = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA) ?
				    nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len) :
				    NULL;
	print_hex(value, len);
	print_elem_ms(e, NFTNL_SET_ELEM_TIMEOUT);
	print_elem_ms(e, NFTNL_SET_ELEM_EXPIRATION);
	putchar('\n');
	return 0;
}

/* One message of an element dump: its elements are parsed into a set of their own, printed and freed. */
static int on_elements(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	nftnl_set_elem_foreach(s, print_elem, data);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* One message of a set dump: the set's name, kind, sizes and default timeout. */
static int on_set(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	uint32_t flags = nftnl_set_is_set(s, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(s, NFTNL_SET_FLAGS) : 0;
	int map = (flags & NFT_SET_MAP) != 0;
	printf("set %s %s %" PRIu32, nftnl_set_get_str(s, NFTNL_SET_NAME), map ? "map" : "set",
	       nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
	if (nftnl_set_is_set(s, NFTNL_SET_DATA_LEN))
		printf(" %" PRIu32, nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN));
	else
		fputs(" -", stdout);
	if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
		printf(" %" PRIu64 "\n", nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT));
	else
		fputs(" -\n", stdout);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Sends one request and runs `cb` on every answer until the dump is done or the kernel acknowledges; -1 with
 * errno set on failure. */
static int exchange(struct reader *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, BUFFER_SIZE);
		if (n < 0)
			return -1;
		int ret = mnl_cb_run(r->buf, (size_t)n, seq, r->portid, cb, data);
		if (ret < 0)
			return -1;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int permission_or(int err, int otherwise)
{
	return err == EPERM || err == EACCES ? EXIT_PERMISSION : otherwise;
}

static int fail(int status, const char *what, int err)
{
	if (status == EXIT_PERMISSION)
		fprintf(stderr, PROGRAM ": permission denied %s (needs CAP_NET_ADMIN)\n", what);
	else
		fprintf(stderr, PROGRAM ": %s failed: %s\n", what, strerror(err));
	return status;
}

static int check_table(struct reader *r)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return fail(EXIT_FAILURE, "allocating", ENOMEM);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, r->table);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(r->buf, NFT_MSG_GETTABLE, r->family, NLM_F_ACK, ++r->seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (exchange(r, nlh, NULL, NULL) == 0)
		return 0;
	int err = errno;
	if (err == ENOENT) {
		fprintf(stderr, PROGRAM ": no such table: %s\n", r->table);
		return EXIT_NO_TABLE;
	}
	return fail(permission_or(err, EXIT_FAILURE), "reading the table", err);
}

static int list_sets(struct reader *r)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return fail(EXIT_FAILURE, "allocating", ENOMEM);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, r->table);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(r->buf, NFT_MSG_GETSET, r->family, NLM_F_DUMP, ++r->seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (exchange(r, nlh, on_set, NULL) == 0)
		return 0;
	int err = errno;
	return fail(permission_or(err, EXIT_FAILURE), "listing the sets", err);
}

static int dump_elements(struct reader *r, const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return fail(EXIT_FAILURE, "allocating", ENOMEM);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, r->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(r->buf, NFT_MSG_GETSETELEM, r->family, NLM_F_DUMP, ++r->seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (exchange(r, nlh, on_elements, (void *)set) == 0)
		return 0;
	int err = errno;
	if (err == ENOENT) {
		fprintf(stderr, PROGRAM ": no such set: %s in table %s\n", set, r->table);
		return EXIT_NO_SET;
	}
	char what[300];
	snprintf(what, sizeof(what), "reading set %s", set);
	return fail(permission_or(err, EXIT_FAILURE), what, err);
}

int main(int argc, char **argv)
{
	struct reader r = { 0 };
	if (argc < 3) {
		fprintf(stderr, "usage: " PROGRAM " FAMILY TABLE [SET...]\n");
		return EXIT_BAD_ARGS;
	}
	if (parse_family(argv[1], &r.family) < 0) {
		fprintf(stderr, PROGRAM ": unknown family: %s (ip, ip6, inet, arp, bridge or netdev)\n", argv[1]);
		return EXIT_BAD_ARGS;
	}
	for (int i = 2; i < argc; i++) {
		if (!valid_name(argv[i])) {
			fprintf(stderr, PROGRAM ": not a valid %s name: %s\n", i == 2 ? "table" : "set", argv[i]);
			return EXIT_BAD_ARGS;
		}
	}
	r.table = argv[2];

	r.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!r.nl) {
		int err = errno;
		return fail(permission_or(err, EXIT_FAILURE), "opening a netlink socket", err);
	}
	if (mnl_socket_bind(r.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		mnl_socket_close(r.nl);
		return fail(permission_or(err, EXIT_FAILURE), "binding the netlink socket", err);
	}
	r.portid = mnl_socket_get_portid(r.nl);
	r.seq = (uint32_t)time(NULL);
	r.buf = malloc(BUFFER_SIZE);
	if (!r.buf) {
		mnl_socket_close(r.nl);
		return fail(EXIT_FAILURE, "allocating", ENOMEM);
	}
	int status = check_table(&r);
	if (status == 0)
		status = list_sets(&r);
	for (int i = 3; i < argc && status == 0; i++)
		status = dump_elements(&r, argv[i]);
	free(r.buf);
	mnl_socket_close(r.nl);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROGRAM ": writing the output failed: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return status;
}
