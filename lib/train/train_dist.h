/* The trainer's side of data-parallel training: what libsemiparam-mpi
 * (lib/dist) calls, through the private export node (SP__SHARED and
 * lib/libsemiparam.map), so libsemiparam itself stays free of MPI. Apart
 * from train_internal.h because lib/dist sees only public headers and
 * core's: nothing of the network's insides (oneDNN) here. */
#ifndef SP_TRAIN_DIST_H
#define SP_TRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_internal.h"
#include "semiparam/train.h"

/* Called once per step on every replica of a data-parallel run, after the
 * backward pass and before the optimizer step, with the step's figures
 * packed into buf (sp__trainer_set_reduce): it must replace buf by its sum
 * over the replicas (in place) and return SP_OK, or an error that fails
 * the step. */
typedef int (*sp__trainer_reduce_fn)(float *buf, size_t count, void *payload);

/* Make t replica `replica` of `replicas` (before its first step, or
 * between steps): it draws rows
 * [replica * B / replicas, (replica + 1) * B / replicas) of every global
 * batch of B positions (batch_size % (replicas x micro_batches) == 0, else
 * SP_ERR_INVALID_ARG naming the options), so the replicas' rows together
 * are the one-replica batch. It also takes the room of a step's figures
 * (SP_ERR_NOMEM), so that no step fails for it on one replica alone. */
SP__SHARED int sp__trainer_set_replica(sp_trainer *t, int replica, int replicas);

/* The hook every step calls (NULL: none). With it, a step fails on every
 * replica when one of them fails (the sampler winds back on each), and
 * sp_trainer_run() reports no progress: the caller of the replicas does,
 * so that a stop is agreed by all of them. */
SP__SHARED void sp__trainer_set_reduce(sp_trainer *t, sp__trainer_reduce_fn fn, void *payload);

/* Floats the hook is given per step: gradients of every trained parameter,
 * the running statistics, the loss figures and one status per replica. */
SP__SHARED size_t sp__trainer_reduce_floats(const sp_trainer *t);

/* Every parameter's values, running statistics included, as one vector of
 * sp__trainer_state_floats() floats (the replicas' start from rank 0's). */
SP__SHARED size_t sp__trainer_state_floats(const sp_trainer *t);
SP__SHARED int sp__trainer_read_state(const sp_trainer *t, float *out);
SP__SHARED int sp__trainer_write_state(sp_trainer *t, const float *in);

/* After step `done` of `total` of a replicas' run: the progress callback
 * of the options (or the process-wide one), non-zero to stop. */
SP__SHARED int sp__trainer_report(const sp_trainer *t, uint64_t done, uint64_t total);

/* sp_trainer_resume() from a checkpoint's bytes (each replica from the
 * bytes rank 0 read and broadcast); the error message without a path. */
SP__SHARED int sp__trainer_resume_bytes(sp_trainer *t, const void *data, size_t size);

#endif
