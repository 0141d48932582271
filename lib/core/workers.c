/* Jobs on threads (workers.h). */
#include <pthread.h>

#include "workers.h"

void sp__run_workers(void *jobs, size_t job_size, int count, void *(*fn)(void *))
{
    pthread_t tid[SP__WORKERS_MAX];
    int created[SP__WORKERS_MAX] = { 0 };
    char *at = jobs;
    for (int i = 1; i < count; i++)
        created[i] = pthread_create(&tid[i], NULL, fn, at + (size_t)i * job_size) == 0;
    fn(at); /* job 0 on the calling thread */
    for (int i = 1; i < count; i++) {
        if (created[i])
            pthread_join(tid[i], NULL);
        else
            fn(at + (size_t)i * job_size); /* no thread to be had: it runs here */
    }
}
