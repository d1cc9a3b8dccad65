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
};

/* Parse a /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) file. TG_OK, TG_ERR_SYSTEM (it
 * cannot be opened: the process is gone, or hidden), TG_ERR_IO or TG_ERR_PARSE. */
int proc_stat_read(const char *path, struct proc_stat *st);
/* Whether a process of the group runs: 1, or 0 when it has only zombies or nothing
 * left, or -1 when /proc cannot be read (the caller decides; kill(-pgid, 0) is what is left).
 * A zombie thread-group leader whose other threads run counts as running. */
int proc_group_running(pid_t pgid);

#endif
