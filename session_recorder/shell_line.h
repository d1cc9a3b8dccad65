/*
 * A command line cut into simple commands the way sh reads it, as far as that
 * is certain without running anything: words with their quoting removed
 * ('...', "...", a backslash), joined by ";", "&&", "||" or newlines, with
 * comments dropped. Everything else sh acts on (| & < > ( ) $ ` * ? [ { } ~ !,
 * ";;", a reserved word such as "if" or "{" first in a command, an unclosed
 * quote) makes the line uncertain: it is still cut into words, at every such
 * operator (a redirection's target and its fd number left out), for a reader
 * that can then only look for names.
 */
#ifndef SHELL_LINE_H
#define SHELL_LINE_H

struct shell_line {
	char **words;  /* each simple command's words followed by a NULL; one block */
	int count;     /* entries of words, the NULLs included */
	int uncertain; /* syntax beyond words, quoting, ; && || and newlines */
};
#define SHELL_LINE_VOID                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Cut cmd into l (l is set on entry). TG_OK, or TG_ERR_NOMEM. */
int shell_line_split(struct shell_line *l, const char *cmd);
void shell_line_free(struct shell_line *l);
/* The word, first in a command, is a reserved word ("if", "then", "{", "!"): what follows it is
 * the command. */
int shell_line_reserved(const char *word);

#endif
