/*
 * What /proc/<pid>/stat says of a process, and whether a process group still
 * has a process that runs.
 *
 * kill(-pgid, 0) finds zombies too. A process of the group whose parent died
 * before it (the shell's child when the shell took its hangup first) is
 * reaped by init, or by the nearest subreaper: at once on a systemd host, but
 * seconds later under some container inits, or never under a subreaper that
 * does not wait. Until then its zombie keeps the group's id in use, though
 * nothing of the group runs any more.
 *
 * A terminal's session is found the same way, by the session id of each
 * process: there is no kill() for a session. Its id is safe to look for only
 * while the pid it is (the shell's, which setsid() made its leader) cannot go
 * to another process: the caller keeps the shell's zombie until it is done.
 */
#ifndef PROC_STAT_H
#define PROC_STAT_H

#include <stddef.h>
#include <sys/types.h>

struct proc_stat {
	char comm[64]; /* the name, cut to fit */
	char state;    /* R, S, D, T, Z, X, ... */
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
};

/* Parse a /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) file. TG_OK, TG_ERR_SYSTEM (it
 * cannot be opened: the process is gone, or hidden), TG_ERR_IO or TG_ERR_PARSE. */
int proc_stat_read(const char *path, struct proc_stat *st);
/* Whether a process of the group runs: 1, or 0 when it has only zombies or nothing
 * left, or -1 when /proc cannot be read (the caller decides; kill(-pgid, 0) is what is left).
 * A zombie thread-group leader whose other threads run counts as running. */
int proc_group_running(pid_t pgid);
/* Send sig (0: none, a probe) to every process that runs in session sid, and to the process sid
 * itself while it runs outside it (it may not have called setsid() yet), zombies left alone.
 * Each is taken as a pidfd before its stat is read, and signalled through it, so a process that
 * ends meanwhile and has its pid go to another is not signalled in its place (kill() where
 * pidfds are missing). How many it found, or -1 when /proc cannot be read; *denied counts those
 * it may not signal (EPERM: another user's). */
int proc_session_signal(pid_t sid, int sig, int *denied);

#endif
