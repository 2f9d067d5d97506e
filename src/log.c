#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "uplinkd";
static enum log_target log_target = LOG_TO_STDERR;
static int log_max = LOG_INFO;

void log_init(const char *prog, enum log_target target, int max_priority)
{
	log_prog = prog;
	log_target = target;
	log_max = max_priority;
	if (target == LOG_TO_SYSLOG)
		openlog(prog, LOG_PID, LOG_DAEMON);
}

void log_msg(int priority, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (priority > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	switch (log_target) {
	case LOG_TO_SYSLOG:
		syslog(priority, "%s", buf);
		break;
	case LOG_TO_JOURNAL:
		fprintf(stderr, "<%d>%s\n", priority, buf);
		break;
	case LOG_TO_STDERR:
		fprintf(stderr, "%s: %s\n", log_prog, buf);
		break;
	}
}
