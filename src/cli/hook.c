/*
 * agenttrail hook: the program an agent's hook configuration runs.
 *
 *   agenttrail hook claude|codex|gemini     read the agent's hook JSON on
 *       stdin, ask the agenttrail recording this session (control socket),
 *       answer in the agent's protocol (cli/hook_proto.h)
 *   agenttrail hook install|uninstall AGENT  edit the agent's settings
 *   agenttrail hook status                  what the session's agenttrail says
 */
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/hook_install.h"
#include "cli/hook_proto.h"
#include "guard/control.h"
#include "guard/preflight.h"
#include "guard/shell.h"
#include "model/json_pool.h"

#define HOOK_MAX_INPUT (8u << 20)
#define ANSWER_TIMEOUT_S 20   /* in all; the agents wait 30 s or more for a hook */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: agenttrail hook claude|codex|gemini [--on-unreachable allow|deny]\n"
		"       agenttrail hook install claude|codex|gemini (--project DIR | --user)\n"
		"                               [--on-unreachable allow|deny]\n"
		"       agenttrail hook uninstall claude|codex|gemini (--project DIR | --user)\n"
		"       agenttrail hook status\n"
		"\n"
		"Tell an agent, in its own hook protocol, what the policy of 'agenttrail run'\n"
		"decides about its tool calls:\n"
		"  before a tool runs   the command line or file it names is judged against the\n"
		"                       session's policy and the labels the agent carries now;\n"
		"                       a call the policy would refuse is denied with the rule's\n"
		"                       reason, so the model reads why and what to do instead\n"
		"  after a tool ran     every operation the kernel refused, killed or noted\n"
		"                       during the call is returned as context the model reads\n"
		"\n"
		"The hook finds the agenttrail recording its session through the control\n"
		"socket named in AGENTTRAIL_SOCKET (set by 'agenttrail run'), or else by asking\n"
		"each socket in " CONTROL_DIR "; agenttrail knows the asking process from the\n"
		"kernel (SO_PEERCRED) and answers only about the session it belongs to.\n"
		"\n"
		"Options:\n"
		"      --on-unreachable allow|deny\n"
		"                      when no agenttrail records this session (or it does not\n"
		"                      answer): allow the tool call with a warning on stderr\n"
		"                      (default), or deny it with a reason that says so\n"
		"                      (env AGENTTRAIL_HOOK_ON_UNREACHABLE sets the default)\n"
		"      --socket PATH   the control socket to ask\n"
		"      --project DIR   install: into the project's settings (Claude Code:\n"
		"                      DIR/.claude/settings.json, Codex: DIR/.codex/hooks.json,\n"
		"                      Gemini CLI: DIR/.gemini/settings.json)\n"
		"      --user          install: into the user's settings (~/.claude/settings.json,\n"
		"                      $CODEX_HOME/hooks.json or ~/.codex/hooks.json,\n"
		"                      ~/.gemini/settings.json)\n"
		"  -h, --help          this help\n"
		"\n"
		"install merges agenttrail's entries into what is there (nothing else changes;\n"
		"a second install changes nothing); uninstall removes exactly them.\n");
}

/* ---- talking to agenttrail -------------------------------------------------- */

/* The whole exchange with agenttrail has one deadline, under the agents'
 * own hook timeout (30 s as installed): SIGALRM interrupts whatever call
 * is waiting, and the hook answers as configured for "unreachable". */
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void arm_deadline(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == 0)
		alarm(ANSWER_TIMEOUT_S);
}


static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One request, one answer (NULL with why on failure). */
static json_t *ask(const char *path, const json_t *req, char *why, size_t whylen)
{
	char *text = json_pool_dumps(req, JSON_COMPACT), *buf = NULL;
	size_t len, off = 0, cap = 0;
	json_t *ans = NULL;
	json_error_t jerr;
	int fd;

	if (!text) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	fd = connect_to(path);
	if (fd < 0) {
		snprintf(why, whylen, "cannot connect to %s: %s", path,
			 timed_out ? "timed out" : strerror(errno));
		free(text);
		return NULL;
	}
	len = strlen(text);
	text[len] = '\n';
	while (off < len + 1) {
		ssize_t n = send(fd, text + off, len + 1 - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR && !timed_out)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "%s: send: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (off = 0;;) {
		ssize_t n;

		if (off + 4096 + 1 > cap) {
			char *nb = cap < CONTROL_MAX_REQUEST * 4 ? realloc(buf, cap + 65536) : NULL;

			if (!nb) {
				snprintf(why, whylen, "%s: answer too large", path);
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		n = read(fd, buf + off, cap - off - 1);
		if (n < 0 && errno == EINTR && !timed_out)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s: no answer: %s", path,
				 errno == EAGAIN || timed_out ? "timed out" : strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	ans = off ? json_loadb(buf, off, 0, &jerr) : NULL;
	if (!json_is_object(ans)) {
		json_decref(ans);
		ans = NULL;
		snprintf(why, whylen, "%s: %s", path, off ? "malformed answer" : "closed without an answer");
	}
out:
	free(buf);
	free(text);
	close(fd);
	return ans;
}

/* The socket of the agenttrail recording this process's session: the one
 * named in the environment, else the first in CONTROL_DIR that does not
 * answer "not in session". */
static int find_socket(const char *given, char *out, size_t len, char *why, size_t whylen)
{
	const char *env = getenv("AGENTTRAIL_SOCKET");
	json_t *req = json_pack("{s:s}", "op", "status");
	DIR *d;
	struct dirent *de;
	int rc = -1;

	if (given || (env && env[0])) {
		snprintf(out, len, "%s", given ? given : env);
		json_decref(req);
		return 0;
	}
	d = opendir(CONTROL_DIR);
	if (!d) {
		snprintf(why, whylen, "AGENTTRAIL_SOCKET is not set and %s: %s", CONTROL_DIR,
			 strerror(errno));
		json_decref(req);
		return -1;
	}
	snprintf(why, whylen, "no agenttrail records this process's session (AGENTTRAIL_SOCKET "
		 "is not set, and no socket in %s knows it)", CONTROL_DIR);
	while (rc && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX], w[256];
		json_t *ans;

		if (n < 6 || strcmp(de->d_name + n - 5, ".sock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", CONTROL_DIR, de->d_name);
		ans = ask(path, req, w, sizeof(w));
		if (ans && !json_object_get(ans, "error")) {
			snprintf(out, len, "%s", path);
			rc = 0;
		}
		json_decref(ans);
	}
	closedir(d);
	json_decref(req);
	return rc;
}

/* ---- the adapter -------------------------------------------------------------- */

struct adapter {
	enum hook_agent agent;
	bool deny_unreachable;
	const char *socket;
};

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *nb = cap < HOOK_MAX_INPUT ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

/* code: set by the call that made answer (read here, after it ran) */
static int say(char *answer, const int *code)
{
	if (answer && answer[0])
		printf("%s\n", answer);
	free(answer);
	return fflush(stdout) ? 1 : *code;
}

/* agenttrail could not be asked: the configured behaviour. */
static int unreachable(const struct adapter *ad, const struct hook_call *c, const char *why)
{
	char reason[1024];
	int code;

	if (!ad->deny_unreachable || c->event == HOOK_EV_OTHER) {
		fprintf(stderr, "agenttrail hook: %s; the tool call was not checked "
			"(--on-unreachable allow)\n", why);
		return 0;
	}
	snprintf(reason, sizeof(reason),
		 "agenttrail could not check this tool call (%s), and this hook is configured to "
		 "refuse what it cannot check (--on-unreachable deny). Run the agent under "
		 "'agenttrail run --policy FILE -- ...'.", why);
	if (c->event == HOOK_EV_PRE)
		return say(hook_answer_deny(ad->agent, c, reason, &code), &code);
	return say(hook_answer_post(ad->agent, c, reason, true, &code), &code);
}

/* Device files a redirection may name without opening anything a
 * policy protects (judged after "." and ".." are folded). */
static bool harmless_device(const char *abs)
{
	static const char *const dev[] = { "/dev/null", "/dev/zero", "/dev/stdin", "/dev/stdout",
					   "/dev/stderr", "/dev/tty", "/dev/random", "/dev/urandom" };

	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
		if (!strcmp(abs, dev[i]))
			return true;
	return !strncmp(abs, "/dev/fd/", 8);
}

/* The request for a tool about to run: the commands its shell line runs
 * (and the executable each finds on the tool's PATH), the files it or its
 * redirections open. *partial: what the tool will do could not all be
 * read (a bound of the reader was hit). */
static json_t *pre_request(enum hook_agent a, const struct hook_call *c, bool *partial)
{
	json_t *req = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:[], s:[], s:[]}", "op", "pre",
				"agent", hook_agent_name(a), "tool", c->tool, "tool_use_id",
				c->tool_use_id, "cwd", c->cwd ? c->cwd : "/", "commands", "exes",
				"files");
	json_t *cmds = json_object_get(req, "commands"), *exes = json_object_get(req, "exes");
	json_t *files = json_object_get(req, "files");
	const char *cwd = c->cwd ? c->cwd : "/";
	struct sh_script sh = { 0 };
	char abs[PATH_MAX];

	*partial = c->truncated;
	if (!req)
		return NULL;
	if (c->shell && sh_parse(c->shell, strlen(c->shell), getenv("HOME"), &sh)) {
		*partial = true;
	} else if (c->shell) {
		*partial |= sh.truncated;
		for (size_t i = 0; i < sh.ncmds; i++) {
			json_t *argv = json_array();

			for (size_t k = 0; k < sh.cmds[i].argc; k++)
				json_array_append_new(argv, json_string(sh.cmds[i].argv[k]));
			json_array_append_new(cmds, argv);
			pf_which(sh.cmds[i].argv[0], cwd, getenv("PATH"), abs, sizeof(abs));
			json_array_append_new(exes, json_string(abs));
		}
		for (size_t i = 0; i < sh.nredirs; i++) {
			unsigned acc = sh.redirs[i].access;

			pol_absolute(cwd, sh.redirs[i].path, abs, sizeof(abs));
			if (harmless_device(abs))
				continue;
			json_array_append_new(files, json_pack("{s:s, s:s}", "path", abs, "access",
							      acc == (SH_READ | SH_WRITE) ? "readwrite"
							      : acc & SH_WRITE ? "write" : "read"));
		}
		sh_free(&sh);
	}
	for (size_t i = 0; i < c->nfiles; i++)
		json_array_append_new(files, json_pack("{s:s, s:s}", "path", c->files[i], "access",
						      c->access[i] & PF_WRITE ? "write" : "read"));
	return req;
}

/* One paragraph per violation the model should read (NULL: none);
 * *failed: one of them refused or killed. */
static char *post_text(const json_t *ans, bool *failed)
{
	const json_t *list = json_object_get(ans, "violations");
	size_t i, n = json_array_size(list), cap = 512 + n * 1200, o = 0;
	json_int_t more = json_integer_value(json_object_get(ans, "more"));
	char *out;
	json_t *v;

	*failed = more > 0;   /* what was left out is not known to be "notify" */
	if (!n && more <= 0)
		return NULL;
	out = malloc(cap);
	if (!out)
		return NULL;
	o += (size_t)snprintf(out, cap, "agenttrail: during this tool call the policy decided %lld "
			      "operation%s:", (long long)n + (more > 0 ? more : 0),
			      n + (size_t)(more > 0 ? more : 0) == 1 ? "" : "s");
	json_array_foreach(list, i, v) {
		const char *eff = json_string_value(json_object_get(v, "effect"));
		const json_t *enforced = json_object_get(v, "enforced");
		char item[1200];

		*failed |= !eff || strcmp(eff, "notify");
		snprintf(item, sizeof(item), "\n- %s %s of %.300s by %.40s (pid %lld), rule '%.100s'%s: %.600s",
			 eff && !strcmp(eff, "block") ? "refused" : eff && !strcmp(eff, "kill")
			 ? "killed the process for" : "noted",
			 json_string_value(json_object_get(v, "op")),
			 json_string_value(json_object_get(v, "target")),
			 json_string_value(json_object_get(v, "comm")),
			 (long long)json_integer_value(json_object_get(v, "pid")),
			 json_string_value(json_object_get(v, "rule")),
			 json_is_false(enforced) ? " (observed only, not prevented)" : "",
			 json_string_value(json_object_get(v, "reason")));
		/* %.Ns cuts by bytes: never inside a character */
		pol_utf8_trim(item);
		o += (size_t)snprintf(out + o, cap - o, "%s", item);
	}
	if (more > 0)
		snprintf(out + o, cap - o, "\n- and %lld more (agenttrail report violations)",
			 (long long)more);
	return out;
}

static int adapt(const struct adapter *ad)
{
	struct hook_call c;
	char err[512], sock[PATH_MAX], why[512], reason[2600];
	size_t len = 0;
	char *in = read_all(stdin, &len);
	json_error_t jerr = { .text = "" };
	json_t *input = NULL, *req = NULL, *ans;
	bool partial = false;
	int code, rc;

	if (in && len < HOOK_MAX_INPUT)
		input = json_loadb(in, len, 0, &jerr);
	free(in);
	if (!input) {
		if (len >= HOOK_MAX_INPUT)
			fprintf(stderr, "agenttrail hook %s: the hook input is larger than %u MiB\n",
				hook_agent_name(ad->agent), HOOK_MAX_INPUT >> 20);
		else
			fprintf(stderr, "agenttrail hook %s: the hook input is not JSON (%s at %d:%d)\n",
				hook_agent_name(ad->agent), jerr.text, jerr.line, jerr.column);
		/* a hook that cannot read its input must not let the tool run
		 * silently when configured to deny (exit 2 is a block to every
		 * agent) */
		return ad->deny_unreachable ? 2 : 1;
	}
	rc = hook_call_parse(ad->agent, input, &c, err, sizeof(err));
	json_decref(input);
	if (rc) {
		fprintf(stderr, "agenttrail hook %s: %s\n", hook_agent_name(ad->agent), err);
		return ad->deny_unreachable ? 2 : 1;
	}
	if (c.event == HOOK_EV_OTHER) {
		hook_call_free(&c);
		return 0;
	}
	arm_deadline();
	if (find_socket(ad->socket, sock, sizeof(sock), why, sizeof(why))) {
		rc = unreachable(ad, &c, why);
		hook_call_free(&c);
		return rc;
	}
	if (c.event == HOOK_EV_PRE)
		req = pre_request(ad->agent, &c, &partial);
	else
		req = json_pack("{s:s, s:s, s:s?}", "op", "post", "agent", hook_agent_name(ad->agent),
				"tool_use_id", c.tool_use_id);
	ans = req ? ask(sock, req, why, sizeof(why)) : NULL;
	json_decref(req);
	if (ans && json_object_get(ans, "error")) {
		snprintf(why, sizeof(why), "%.200s: %.300s", sock,
			 json_string_value(json_object_get(ans, "error")));
		json_decref(ans);
		ans = NULL;
	}
	if (!ans) {
		rc = unreachable(ad, &c, why);
		hook_call_free(&c);
		return rc;
	}
	if (c.event == HOOK_EV_PRE) {
		const char *dec = json_string_value(json_object_get(ans, "decision"));

		rc = 0;
		if (dec && !strcmp(dec, "deny")) {
			snprintf(reason, sizeof(reason), "agenttrail: refused by policy rule '%.200s': %s",
				 json_string_value(json_object_get(ans, "rule")),
				 json_string_value(json_object_get(ans, "reason")));
			pol_utf8_trim(reason);
			rc = say(hook_answer_deny(ad->agent, &c, reason, &code), &code);
		} else if (partial) {
			/* what was read is allowed; the rest was not judged */
			rc = unreachable(ad, &c, "the command line is too long or too deeply nested "
					 "to be read in full");
		}
	} else {
		bool failed = false;
		char *text = post_text(ans, &failed);

		rc = say(hook_answer_post(ad->agent, &c, text, failed, &code), &code);
		free(text);
	}
	json_decref(ans);
	hook_call_free(&c);
	return rc;
}

/* --on-unreachable allow|deny: 0 and *deny, or -1 with a message. */
static int parse_unreachable(const char *arg, bool *deny)
{
	if (strcmp(arg, "allow") && strcmp(arg, "deny")) {
		fprintf(stderr, "agenttrail hook: --on-unreachable: allow or deny, not '%s'\n", arg);
		return -1;
	}
	*deny = !strcmp(arg, "deny");
	return 0;
}

/* ---- install, status ---------------------------------------------------------- */

static int install(int argc, char **argv, bool uninstall)
{
	static const struct option longopts[] = {
		{ "project", required_argument, NULL, 'P' },
		{ "user", no_argument, NULL, 'U' },
		{ "on-unreachable", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *project = NULL, *home = getenv("HOME"), *what = uninstall ? "uninstall" : "install";
	bool user = false, deny = false;
	enum hook_agent a;
	char exe[PATH_MAX], cmd[PATH_MAX + 64], path[PATH_MAX], err[512];
	bool changed = false;
	ssize_t n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			project = optarg;
			break;
		case 'U':
			user = true;
			break;
		case 'u':
			if (parse_unreachable(optarg, &deny))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || hook_agent_parse(argv[optind], &a) || !!project == user) {
		fprintf(stderr, "agenttrail hook %s: give one agent (claude, codex, gemini) and one "
			"of --project DIR or --user\n", what);
		return 2;
	}
	if (user && (!home || !home[0])) {
		fprintf(stderr, "agenttrail hook %s: --user: HOME is not set\n", what);
		return 2;
	}
	if (hook_settings_path(a, project, home, getenv("CODEX_HOME"), path, sizeof(path))) {
		fprintf(stderr, "agenttrail hook %s: settings path too long\n", what);
		return 2;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "agenttrail hook %s: /proc/self/exe: %s\n", what, strerror(errno));
		return 1;
	}
	exe[n] = '\0';
	if (strpbrk(exe, " '\"\\$`")) {
		fprintf(stderr, "agenttrail hook %s: the path of agenttrail (%s) has a character a "
			"hook command cannot carry unquoted; install it elsewhere\n", what, exe);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s hook %s%s", exe, hook_agent_name(a),
		 deny ? " --on-unreachable deny" : "");
	if (hook_install_file(path, a, cmd, uninstall, &changed, err, sizeof(err))) {
		fprintf(stderr, "agenttrail hook %s: %s\n", what, err);
		return 1;
	}
	printf("%s: %s\n", path, !changed ? (uninstall ? "no agenttrail hooks, unchanged"
						       : "already installed, unchanged")
	       : uninstall ? "agenttrail hooks removed" : "agenttrail hooks installed");
	if (!uninstall && a == HOOK_CODEX)
		printf("note: Codex runs a hook only once it is trusted (review it with /hooks in "
		       "Codex, or run 'codex exec --dangerously-bypass-hook-trust'), project hooks "
		       "only in a trusted project, and only with its 'hooks' feature on (the default "
		       "in recent releases; older ones need 'codex_hooks = true' under [features] in "
		       "config.toml)\n");
	return 0;
}

static int status(const char *given)
{
	char sock[PATH_MAX], why[512];
	json_t *req = json_pack("{s:s}", "op", "status"), *ans;
	char *text;
	int c;

	if (find_socket(given, sock, sizeof(sock), why, sizeof(why))) {
		fprintf(stderr, "agenttrail hook status: %s\n", why);
		json_decref(req);
		return 1;
	}
	ans = ask(sock, req, why, sizeof(why));
	json_decref(req);
	if (!ans) {
		fprintf(stderr, "agenttrail hook status: %s\n", why);
		return 1;
	}
	text = json_pool_dumps(ans, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("socket: %s\n%s\n", sock, text ? text : "");
	free(text);
	c = json_object_get(ans, "error") != NULL;
	json_decref(ans);
	return c;
}

int cmd_hook(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "on-unreachable", required_argument, NULL, 'u' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("AGENTTRAIL_HOOK_ON_UNREACHABLE");
	struct adapter ad = { .deny_unreachable = env && !strcmp(env, "deny") };
	int c;

	if (argc >= 2 && !strcmp(argv[1], "install"))
		return install(argc - 1, argv + 1, false);
	if (argc >= 2 && !strcmp(argv[1], "uninstall"))
		return install(argc - 1, argv + 1, true);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (parse_unreachable(optarg, &ad.deny_unreachable))
				return 2;
			break;
		case 'S':
			ad.socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 == argc && !strcmp(argv[optind], "status"))
		return status(ad.socket);
	if (optind + 1 != argc || hook_agent_parse(argv[optind], &ad.agent)) {
		fprintf(stderr, "agenttrail hook: give the agent: claude, codex or gemini\n"
				"Try 'agenttrail hook --help'.\n");
		return 2;
	}
	return adapt(&ad);
}
