/*
 * The control socket: how an agent's hook talks to the agenttrail that
 * records its session.
 *
 * A unix stream socket, mode 0600 (0660 with a group), in a directory only
 * root can write. A client sends one JSON object on one line and gets one
 * JSON object on one line back, then the connection closes. The peer is
 * known from SO_PEERCRED, not from anything it says: a process that is not
 * in one of this agenttrail's sessions gets {"error": ...,
 * "code": "not_in_session"}, and a process in a session can only ask about
 * its own session.
 *
 * Everything runs on the recorder's thread: control_fd() is one epoll fd
 * (the listening socket and every client) to add to the recorder's loop,
 * and control_service() does what is ready without waiting for a client:
 * reads and writes are non-blocking, 64 clients at a time (the next wait
 * in the backlog), and a client slower than 2 s is dropped.
 */
#ifndef AT_GUARD_CONTROL_H
#define AT_GUARD_CONTROL_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_DIR "/run/agenttrail"
#define CONTROL_MAX_REQUEST (1u << 20)

struct control_ops {
	void *ctx;
	/* The session pid belongs to, 0 if none. */
	uint64_t (*session_of)(void *ctx, pid_t pid);
	/* The answer to request req (an object) from pid in session (a new
	 * reference, or NULL for an internal error). */
	json_t *(*handle)(void *ctx, pid_t pid, uint64_t session, const json_t *req);
};

struct control;

/*
 * Listen at path (NULL: CONTROL_DIR/<pid>.sock). group >= 0 makes the
 * socket 0660 and owned by that group. Returns NULL with a message.
 */
struct control *control_open(const char *path, gid_t group, const struct control_ops *ops,
			     char *err, size_t errlen);
const char *control_path(const struct control *c);
int control_fd(const struct control *c);
/* Accept, read, answer: whatever is ready. Also closes clients that sent
 * nothing complete for too long. */
void control_service(struct control *c);
/* Stop listening and remove the socket. */
void control_close(struct control *c);

#endif
