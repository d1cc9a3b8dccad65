/*
 * record_shell_input's recogniser: session_mode_shell_reads_stdin() over an arbitrary
 * SSH_ORIGINAL_COMMAND (session_mode.c, shell_line.c). It runs in the setuid recorder before
 * the session starts, on a line the recorded user wrote: it must neither crash nor stall, must
 * give the same answer twice (it cuts a copy of the line, never the line), and must never take
 * a line whose first command is a bare shell for one that reads nothing from stdin, whatever
 * follows that command.
 */
#include <string.h>

#include "fuzz.h"
#include "session_mode.h"

static int reads(char *cmd)
{
	struct session_mode m = SESSION_MODE_VOID;

	m.kind = SESSION_COMMAND;
	m.command = cmd;
	return session_mode_shell_reads_stdin(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "bash; ";
	char *line, *copy;
	int r;

	if (size > 128 * 1024 || (line = malloc(sizeof(head) + size)) == NULL)
		return 0;
	memcpy(line, head, sizeof(head) - 1);
	memcpy(line + sizeof(head) - 1, data, size);
	line[sizeof(head) - 1 + size] = '\0';
	/* the input alone: answered, and the same way again */
	copy = strdup(line + sizeof(head) - 1);
	FUZZ_CHECK(copy != NULL);
	r = reads(line + sizeof(head) - 1);
	FUZZ_CHECK(strcmp(copy, line + sizeof(head) - 1) == 0);
	FUZZ_CHECK(reads(line + sizeof(head) - 1) == r);
	/* after a bare shell, nothing makes the line one that reads no commands */
	FUZZ_CHECK(reads(line) == 1);
	free(copy);
	free(line);
	return 0;
}
