/* Run a batch of jobs on threads (internal): job 0 on the calling thread,
 * jobs 1..count-1 on threads of their own; a job whose thread cannot be
 * had runs on the calling thread after job 0. Returns when every job has. */
#ifndef SP_CORE_WORKERS_H
#define SP_CORE_WORKERS_H

#include <stddef.h>

/* At most this many jobs: the callers' thread options stop at 256. */
#define SP__WORKERS_MAX 256

/* fn(jobs + i * job_size) for i in 0..count-1 (count 1..SP__WORKERS_MAX). */
void sp__run_workers(void *jobs, size_t job_size, int count, void *(*fn)(void *));

#endif
