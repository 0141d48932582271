/* What the agent (lib/agent) asks of the model's searcher payloads
 * (model_search.c): kept apart from model_internal.h, which a build without
 * the nn module cannot include. */
#ifndef SP_MODEL_SEARCH_RELEASE_H
#define SP_MODEL_SEARCH_RELEASE_H

#include "semiparam/model.h"

/* Free the searcher payloads of model m whose neighbours callback reads
 * `neighbours_payload` (NULL: none): sp_model_search_model() keeps one per
 * distinct callback payload until the model is freed, and an agent's is the
 * agent, so sp_agent_free gives it back after freeing its search. A no-op
 * without the nn module. */
void sp__model_search_release_neighbours(sp_model *m, const void *neighbours_payload);

#endif
