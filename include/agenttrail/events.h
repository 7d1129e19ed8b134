/* SPDX-License-Identifier: MIT */
/*
 * The event model, shared by the kernel programs (bpf/) and user space (src/).
 *
 * Every record starts with struct at_hdr. Records travel through one BPF ring
 * buffer; variable-length strings are packed after the fixed part in the
 * order their length fields are declared, each NUL-terminated, and the
 * lengths include that NUL (0 means "absent").
 *
 * Identity of a process is (pid, start_ns): pids are reused, start times are
 * not. start_ns is the thread-group leader's task->start_time (CLOCK_MONOTONIC
 * ns); all ts_ns values are CLOCK_MONOTONIC ns as well, user space converts to
 * wall-clock time once.
 */
#ifndef AGENTTRAIL_EVENTS_H
#define AGENTTRAIL_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AT_COMM_LEN 16
#define AT_PATH_MAX 4096      /* one resolved path, including the NUL */
#define AT_PATH_DEPTH 64      /* directory levels walked in the kernel */
#define AT_ARGV_MAX 16384     /* bytes of argv captured at exec */
#define AT_CGROUP_MAX 512     /* bytes of cgroup path captured at exec */
#define AT_DNS_MAX 2048       /* bytes of one DNS message captured (power of 2) */
#define AT_UNIX_PATH_MAX 108  /* sizeof(sun_path) */
#define AT_SYSCALL_SLOTS 512  /* syscall numbers the exit dispatcher handles */
#define AT_SX_HOOKED 1        /* hooked[nr] (bpf/sysexit.bpf.c): a handler */
#define AT_SX_PAYLOAD 2       /* ... that records only a socket's bytes */
#define AT_DATA_MAX 16384     /* payload bytes in one data record (power of 2) */
#define AT_DATA_CHUNKS 1024   /* data records one call may produce (16 MiB) */

enum at_kind {
	AT_EV_NONE = 0,
	AT_EV_EXEC,
	AT_EV_FORK,
	AT_EV_EXIT,
	AT_EV_OPEN,
	AT_EV_UNLINK,
	AT_EV_RENAME,
	AT_EV_MKDIR,
	AT_EV_CHMOD,
	AT_EV_CONNECT,
	AT_EV_ACCEPT,
	AT_EV_BIND,
	AT_EV_LISTEN,
	AT_EV_SOCK_CLOSE,
	AT_EV_DNS,
	AT_EV_SESSION,       /* the kernel started a session (comm match) */
	AT_EV_DATA,          /* plaintext payload of a TLS or plain-HTTP stream */
	AT_EV_EXEC_MAP,      /* a session process mapped a file executable */
	AT_EV_VIOLATION,     /* a policy rule fired (agenttrail/guard.h) */
	AT_EV__MAX,
};

/* Lost-event counters beyond the ring buffer (indexes into the drops map
 * after the per-kind slots). */
enum at_loss {
	AT_LOSS_TRACK_FULL = AT_EV__MAX, /* tracked-process map full */
	AT_LOSS_SOCK_FULL,               /* socket-owner map full */
	AT_LOSS_DNS_FULL,                /* DNS-socket map full */
	AT_LOSS_DATA_CAP,                /* payload beyond AT_DATA_CHUNKS or iovecs */
	AT_LOSS__MAX,
};

/* at_hdr.flags */
#define AT_F_ARGV_TRUNC   (1u << 0) /* argv longer than AT_ARGV_MAX */
#define AT_F_PATH_TRUNC   (1u << 1) /* a path deeper/longer than the walk limit */
#define AT_F_THREAD       (1u << 2) /* fork: a thread, not a process */
#define AT_F_PATH_LEXICAL (1u << 3) /* path = dir + arg, joined in user space */
#define AT_F_DNS_TCP      (1u << 4) /* dns: message came over TCP (length-prefixed) */
#define AT_F_DNS_TRUNC    (1u << 5) /* dns: message longer than AT_DNS_MAX */
#define AT_F_CORE_DUMP    (1u << 6) /* exit: dumped core */
#define AT_F_PATH_PSEUDO  (1u << 7) /* open: not a file in the tree (pipe, socket, memfd) */
#define AT_F_EXE_WRITTEN  (1u << 8) /* open for writing of a program looked at for TLS */

struct at_hdr {
	__u16 kind;
	__u16 flags;
	__u32 size;        /* bytes of the whole record */
	__u64 ts_ns;
	__u64 session;
	__u64 start_ns;    /* identity of pid */
	__u32 pid;         /* tgid */
	__u32 tid;
	__u32 ppid;        /* real parent's tgid */
	__u32 uid;
	char comm[AT_COMM_LEN];
};

/* strings: argv (NUL-separated, argc entries), filename, exe, cwd, cgroup */
struct at_exec {
	struct at_hdr h;
	__u64 parent_start_ns;
	__u64 cgroup_id;
	__u32 euid;
	__u32 gid;
	__u32 argc;
	__u32 sid;          /* session id of the process (setsid) */
	__u16 argv_len;
	__u16 filename_len;
	__u16 exe_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	__u16 _pad[3];
	__u64 exe_ino;      /* the executable as the kernel names it (at_exe_key) */
	__u32 exe_dev;
	__u32 _pad2;
	char data[];
};

/* h describes the child; the parent is (h.ppid, parent_start_ns) */
struct at_fork {
	struct at_hdr h;
	__u64 parent_start_ns;
	__u32 parent_tid;
	__u32 child_tid;
};

struct at_exit {
	struct at_hdr h;
	__s32 code;        /* exit code, valid when signal == 0 */
	__s32 signal;
	__u64 duration_ns;
};

/*
 * Files: open, unlink, rename, mkdir, chmod.
 * strings: path (resolved from the opened file, or the resolved directory
 * the argument is relative to when AT_F_PATH_LEXICAL), arg (as the caller
 * passed it), then for rename path2 / arg2 the same for the new name.
 */
struct at_file {
	struct at_hdr h;
	__s64 ret;         /* fd or 0 on success, -errno on failure */
	__u32 flags;       /* open flags / unlinkat flags / rename flags */
	__u32 mode;        /* create or chmod mode */
	__u64 ino;         /* inode of the opened file, 0 if unknown */
	__u32 dev;
	__s32 dirfd;
	__u16 path_len;
	__u16 arg_len;
	__u16 path2_len;
	__u16 arg2_len;
	char data[];
};

/* connect, accept, bind, listen, sock_close */
struct at_net {
	struct at_hdr h;
	__s64 ret;
	__u64 sock;        /* kernel socket address, stable while the socket lives */
	__u64 bytes_sent;  /* sock_close: payload bytes sent (TCP) */
	__u64 bytes_recv;  /* sock_close: payload bytes received (TCP) */
	__u16 family;      /* AF_INET, AF_INET6, AF_UNIX */
	__u16 sotype;      /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 sport;       /* host byte order */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__s32 fd;
	__u32 backlog;     /* listen */
	char unix_path[AT_UNIX_PATH_MAX];
};

/* One DNS message seen on a session socket to or from port 53. */
struct at_dns {
	struct at_hdr h;
	__u16 len;         /* bytes in data */
	__u16 port;        /* remote port */
	__u16 family;
	__u16 _pad;
	__u8 server[16];
	__u8 data[AT_DNS_MAX];
};

/* AT_EV_SESSION: h.session was created by the kernel for h.pid */
struct at_session {
	struct at_hdr h;
};

/* Where a data record's bytes were taken (at_data.source). */
enum at_source {
	AT_SRC_SOCKET = 1,   /* send/recv family on a TCP socket (plain HTTP) */
	AT_SRC_OPENSSL,      /* SSL_read/SSL_write of a library with symbols */
	AT_SRC_BORINGSSL,    /* SSL_read/SSL_write found by scanning a stripped binary */
	AT_SRC_GNUTLS,       /* gnutls_record_recv/send */
};

/* at_data.dir */
#define AT_DIR_OUT 0 /* written by the process */
#define AT_DIR_IN 1  /* read by the process */

/*
 * Payload bytes of one stream direction. A stream is a connection: the
 * SSL object (source OPENSSL/BORINGSSL, per process) or the kernel socket
 * (source SOCKET). offset is the position of data[0] in that direction;
 * records the ring could not take leave a hole user space sees as a jump.
 */
struct at_data {
	struct at_hdr h;
	__u64 conn;        /* SSL * in the process, or struct sock * */
	__u64 sock;        /* TLS: the socket the SSL object last used, 0 if unknown */
	__u64 offset;
	__u32 len;         /* bytes in data */
	__u8 dir;          /* AT_DIR_OUT / AT_DIR_IN */
	__u8 source;       /* enum at_source */
	__u16 _pad;
	__u32 fd;          /* SOCKET: the fd used; TLS: 0 */
	__u32 attach;      /* TLS: the loader's attachment id (binary), else 0 */
	__u8 data[AT_DATA_MAX];
};

/* A stream direction, the key of the kernel's per-stream maps: (conn,
 * tgid, dir). Sockets use tgid 0: their byte stream is the socket's,
 * whichever process of the tree writes to it. */
struct at_stream_key {
	__u64 conn;
	__u32 tgid;
	__u8 dir;
	__u8 source;
	__u16 _pad;
};

/* A file mapped executable by a session process (a binary or library
 * that may carry TLS code); reported once per (dev, ino). */
struct at_exec_map {
	struct at_hdr h;
	__u64 ino;
	__u32 dev;
	__u16 path_len;
	__u16 _pad;
	char data[];       /* path */
};

/*
 * Executables user space has already looked at for a TLS library (its
 * uprobes attached, which cover every later exec of the same inode, or
 * none there), with the size and change time they had then: an exec of
 * one of them needs no forced wakeup of the reader (bpf/proc.bpf.c).
 * dev is the kernel's encoding (major << 20 | minor), as in at_exec_map.
 */
#define AT_EXE_KNOWN_MAX 8192
/* Cgroups (by id) whose path user space has resolved: an exec in another
 * one wakes the reader at once, to name it while it exists. */
#define AT_CGROUP_KNOWN_MAX 1024

struct at_exe_key {
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct at_exe_ver {
	__u64 size;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 _pad;
};

/* Value of the tracked-process map, keyed by tgid. */
struct at_proc {
	__u64 session;
	__u64 start_ns;
};

#endif /* AGENTTRAIL_EVENTS_H */
