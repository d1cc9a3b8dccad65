#include "shell_line.h"

#include <stdlib.h>
#include <string.h>

#include "tg_error.h"

/* Words that, first in a command, start or end a compound command: what follows is not a simple
 * command's words. */
static const char *const reserved[] = {"if",     "then",   "else", "elif",   "fi",     "do",
                                       "done",   "case",   "esac", "while",  "until",  "for",
                                       "select", "time",   "[[",   "]]",     "coproc", "function",
                                       "{",      "}",      "!",    NULL};

/* Characters sh expands or acts on inside a word; the word is then not what it reads as. */
static const char expanding[] = "$*?[{}~!";

struct cutter {
	char **w;
	char *o;       /* where the next character of a word goes */
	int n;         /* entries of w */
	int in_word;   /* a word is open, at w[n - 1] */
	int drop;      /* the next word is a redirection's target: left out */
	int uncertain; /* what shell_line.uncertain says */
};

int shell_line_reserved(const char *w)
{
	const char *const *r;

	for (r = reserved; *r != NULL; r++)
		if (strcmp(w, *r) == 0)
			return 1;
	return 0;
}

static void word_start(struct cutter *c)
{
	if (!c->in_word) {
		c->w[c->n++] = c->o;
		c->in_word = 1;
	}
}

static void word_end(struct cutter *c)
{
	if (!c->in_word)
		return;
	*c->o++ = '\0';
	c->in_word = 0;
	if (c->drop) {
		c->o = c->w[--c->n];
		c->drop = 0;
	} else if ((c->n == 1 || c->w[c->n - 2] == NULL) && shell_line_reserved(c->w[c->n - 1])) {
		c->uncertain = 1;
	}
}

static void command_end(struct cutter *c)
{
	word_end(c);
	c->drop = 0;
	if (c->n > 0 && c->w[c->n - 1] != NULL)
		c->w[c->n++] = NULL;
}

/* A redirection at p ("<", ">>", "2>&1", "<<-", "<>"): its fd number (the open word, if all
 * digits) and its target (the next word) are no words of the command. Returns past the operator. */
static const char *redirection(struct cutter *c, const char *p)
{
	const char *d;

	c->uncertain = 1;
	if (c->in_word) {
		*c->o = '\0';
		d = c->w[c->n - 1];
		if (*d != '\0' && d[strspn(d, "0123456789")] == '\0') {
			c->o = c->w[--c->n];
			c->in_word = 0;
		}
	}
	word_end(c);
	p += strspn(p, "<>&|-");
	c->drop = 1;
	return p;
}

/* A quoted part at p, into the open word; returns past it. */
static const char *quoted(struct cutter *c, const char *p)
{
	if (*p == '\'') {
		for (p++; *p != '\'' && *p != '\0'; p++)
			*c->o++ = *p;
	} else {
		for (p++; *p != '"' && *p != '\0'; p++) {
			if (*p == '$' || *p == '`')
				c->uncertain = 1;
			if (*p == '\\' && p[1] != '\0' && strchr("$`\"\\\n", p[1]) != NULL) {
				if (*++p == '\n')
					continue; /* a line continued */
			}
			*c->o++ = *p;
		}
	}
	if (*p == '\0') {
		c->uncertain = 1; /* not closed */
		return p;
	}
	return p + 1;
}

int shell_line_split(struct shell_line *l, const char *cmd)
{
	size_t len = strlen(cmd);
	struct cutter c = {NULL, NULL, 0, 0, 0, 0};
	const char *p = cmd;

	*l = (struct shell_line)SHELL_LINE_VOID;
	/* at most a word and a NULL per character, and a NUL after each word */
	if ((c.w = calloc(1, (len + 2) * sizeof(char *) + 2 * len + 2)) == NULL)
		return TG_ERR_NOMEM;
	c.o = (char *)(c.w + len + 2);
	while (*p != '\0') {
		if (*p == ' ' || *p == '\t') {
			word_end(&c);
			p++;
		} else if (*p == '#' && !c.in_word) {
			p += strcspn(p, "\n"); /* a comment */
		} else if (*p == '<' || *p == '>') {
			p = redirection(&c, p);
		} else if (strchr(";&|\n()`", *p) != NULL) {
			if ((*p == '&' || *p == '|') && p[1] == *p)
				p++; /* && and || */
			else if ((*p != ';' && *p != '\n') || (*p == ';' && p[1] == ';'))
				c.uncertain = 1;
			command_end(&c);
			p++;
		} else if (*p == '\\' && p[1] == '\n') {
			p += 2; /* a line continued */
		} else {
			word_start(&c);
			if (*p == '\'' || *p == '"') {
				p = quoted(&c, p);
				continue;
			}
			if (*p == '\\') {
				if (*++p == '\0') {
					c.uncertain = 1;
					break;
				}
			} else if (strchr(expanding, *p) != NULL) {
				c.uncertain = 1;
			}
			*c.o++ = *p++;
		}
	}
	command_end(&c);
	l->words = c.w; /* transferred */
	l->count = c.n;
	l->uncertain = c.uncertain;
	return TG_OK;
}

void shell_line_free(struct shell_line *l)
{
	free(l->words);
	*l = (struct shell_line)SHELL_LINE_VOID;
}
