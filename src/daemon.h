/* uplinkd's daemon: one thread, one epoll loop; every reaction is a reconcile. */
#ifndef UPLINKD_DAEMON_H
#define UPLINKD_DAEMON_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "apply.h"
#include "config.h"
#include "conntrack.h"
#include "holddown.h"
#include "plan.h"

struct daemon;

/* A deadline on CLOCK_MONOTONIC; the loop arms one timerfd for the earliest. */
struct dtimer {
	uint64_t at_ms;          /* 0: not armed */
	void (*fn)(struct daemon *d, struct dtimer *t);
	size_t uplink;           /* which uplink it belongs to, when it does */
};

/* Something the loop polls: the callback gets the epoll events. */
struct dsource {
	int fd;
	void (*fn)(struct daemon *d, struct dsource *s, uint32_t events);
	void *arg;
};

enum health {
	HEALTH_NONE,             /* no check configured */
	HEALTH_OK,
	HEALTH_FAILED,
};

#define PROBE_WINDOW 20

/* What the daemon knows about an uplink beyond the config. */
struct uplink_rt {
	/* health check */
	enum health health;
	unsigned fails, oks;          /* consecutive probe results */
	struct dsource probe;         /* the socket of the probe in flight (fd -1: none) */
	uint16_t probe_seq;
	uint16_t probe_id;            /* the ICMP echo id, random per probe */
	uint64_t probe_sent_ms;
	uint8_t window[PROBE_WINDOW]; /* 1 = answered, over the last probes */
	unsigned window_n, window_pos;
	double rtt_ms;                /* moving average of answered probes */
	struct dtimer probe_timer, probe_timeout;
	struct sockaddr_storage probe_peer;
	socklen_t probe_peer_len;
	/* recovery */
	struct hold_hist hold;
	bool held;
	struct dtimer hold_timer;
	bool admin_down;
	/* the kernel refused one of its objects: left out until fault_timer (backoff) */
	bool fault_held;
	char fault[256];
	uint64_t fault_backoff_ms;
	struct dtimer fault_timer;
	/* what the last reconcile found */
	enum plan_uplink_state state;
	bool usable;
	time_t since;
	char reason[256];
	bool has_nat4;
	struct in_addr nat4;
	uint16_t nat_mask, nat_bits, nat_min; /* nat4's ports (mape_port_mask; mask 0: all) */
	/* DS-Lite AFTR name */
	bool has_aftr;
	struct in6_addr aftr;
	bool resolving;
	struct dtimer resolve_timer;
	unsigned resolve_failures;
	char aftr_error[96];     /* the last failed answer for the AFTR name, or "" */
	/* transix update request, sent by a child process */
	pid_t update_pid;
	struct dsource update_out;
	struct in6_addr update_local;   /* the address to register: registered when update_ok */
	struct in6_addr update_sent;    /* the address the running child registers */
	bool update_ok;
	unsigned update_attempts;
	struct dtimer update_timer;
	char update_msg[200];
	/* PPPoE: the pppd uplinkd runs */
	bool inactive;                /* the active-if condition does not hold */
	pid_t ppp_pid;
	struct dsource ppp_out;       /* its stdout and stderr, for the log */
	uint64_t ppp_started_ms;
	unsigned ppp_starts;
	uint64_t ppp_backoff_ms;
	bool ppp_stopping;
	struct dtimer ppp_timer;
	char ppp_reason[200];         /* why the last session ended, or why none runs */
	char ppp_last_line[200];
	char ppp_echo_lost[200];      /* pppd's "No response to N echo-requests" of this session */
	/* DHCPv6 prefix delegation (daemon_pd.c) */
	struct dhcp6_client *pd;
	struct dsource pd_sock;       /* fd -1: not asking (no interface, or given back) */
	int pd_ifindex;
	struct dtimer pd_timer;
	bool pd_releasing;
	char pd_why[160];             /* why it is not asking */
	char pd_error[200];           /* the last failed exchange, as the client tells it */
};

struct daemon {
	const char *config_path;
	char *config_owned;           /* config_path when a reload gave a new one */
	const char *run_dir;
	struct config *cfg;
	unsigned cfg_gen;             /* bumped by every reload: answers for older ones are dropped */
	struct uplink_rt *rt;         /* indexed like cfg->uplinks */
	struct applier ap;
	struct plan plan;
	bool have_plan;

	int epfd;
	struct dsource sig, rtnl_ev, nft_ev, ctl, timer;
	uint32_t rtnl_portid, nft_portid;
	bool dirty;                   /* something changed: reconcile after this round */
	bool nft_tampered;            /* someone else touched our nftables table */
	bool nft_known;
	uint64_t nft_hash;
	bool stopping;
	bool torn_down;               /* uplinkctl down: everything removed, stopping for good */
	bool failed_last;             /* the last reconcile failed: retry soon */
	uint64_t retry_backoff_ms;
	struct dtimer retry_timer;
	struct dtimer calm_timer;     /* after a failure, events reconcile at most once a second */
	bool link_appeared;           /* a new interface (or a rename): retry failed uplinks now */
	char last_error[256];

	/* DNS */
	void *ares;                   /* ares_channel */
	struct in6_addr rdnss[3];
	size_t n_rdnss;
	unsigned rdnss_gen;              /* counts changes of the resolvers */
	struct dsource ares_src[4];
	struct dtimer ares_timer;

	/* counters for status and benchmarks */
	unsigned long reconciles, events, changes_total, event_overflows;
	uint64_t last_reconcile_us;
	uint64_t started_ms;

	/* the control request being served captures the changes it caused */
	struct strbuf *capture;
};

uint64_t now_ms(void);
uint64_t now_us(void);

/* loop */
int loop_init(struct daemon *d);
int loop_add(struct daemon *d, struct dsource *s, uint32_t events);
void loop_del(struct daemon *d, struct dsource *s);
void timer_arm(struct daemon *d, struct dtimer *t, uint64_t delay_ms);
void timer_disarm(struct dtimer *t);
int loop_run(struct daemon *d);

/* processes: started and stopped from the plan; children reaped and handed to their owner */
void supervise(struct daemon *d);
int child_register(pid_t pid, void (*exited)(struct daemon *d, pid_t pid, int status));
void children_reap(struct daemon *d);

/* reconcile */
int daemon_reconcile(struct daemon *d, const char *why);
/* After events: at once, or within a second when the last reconcile failed. */
void daemon_reconcile_events(struct daemon *d);
int daemon_reload(struct daemon *d, const char *path, struct strbuf *out);
void daemon_set_admin(struct daemon *d, size_t uplink, bool down);
void daemon_free_runtime(struct daemon *d);
int daemon_init_runtime(struct daemon *d);

/* events from the kernel */
int events_open(struct daemon *d);
void events_close(struct daemon *d);

/* control socket */
int ctl_open(struct daemon *d);
void ctl_close(struct daemon *d);

/* health checks */
void health_start(struct daemon *d);
void health_stop(struct daemon *d);

/* DNS for AFTR names */
int dns_init(struct daemon *d);
void dns_close(struct daemon *d);
void dns_resolve_all(struct daemon *d);
void dns_set_rdnss(struct daemon *d, const struct in6_addr *servers, size_t n);

/* transix update requests */
void updates_sync(struct daemon *d, size_t uplink, const struct plan_proc *want, const char *why_not);
void updates_stop(struct daemon *d);
void updates_child_exited(struct daemon *d, pid_t pid, int status);
void updates_set_config(const char *config);
int updates_send_sync(const struct cfg_uplink *u, const struct in6_addr *local, struct ul_err *e);

/* PPPoE sessions */
void ppp_sync(struct daemon *d, size_t uplink, const struct plan_proc *want, const char *why_not);
void ppp_child_exited(struct daemon *d, pid_t pid, int status);
void ppp_stop_all(struct daemon *d);
void ppp_carry_over(struct daemon *d, struct uplink_rt *old_rt, const struct config *old);

/* DHCPv6 prefix delegation */
struct uplink_facts;
bool pd_wanted(const struct cfg_uplink *u);
void pd_sync(struct daemon *d, size_t uplink, const struct plan_proc *want, const char *why_not);
void pd_fact(struct daemon *d, size_t uplink, struct uplink_facts *uf);
void pd_stop_all(struct daemon *d);
void pd_carry_over(struct daemon *d, struct uplink_rt *old_rt, const struct config *old);
const char *pd_state_word(const struct uplink_rt *rt);

/* status */
void status_text(struct daemon *d, struct strbuf *sb);
void status_json(struct daemon *d, struct strbuf *sb);

/* systemd */
void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
