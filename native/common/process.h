/* Facts about processes, and the clean slate a process gets before exec. */
#ifndef STACK_COMMON_PROCESS_H
#define STACK_COMMON_PROCESS_H
#include <sys/types.h>

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot, which with the pid
 * names one process (pids are reused); 0 when unreadable. Stores the state letter (field 3)
 * in *state when `state` is not NULL and the line has one. */
unsigned long long process_start_time(pid_t pid, char *state);

/* Every signal back to its default disposition (SIG_IGN survives exec) and none blocked. */
void reset_signals(void);

#endif
