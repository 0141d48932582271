/**
 * @file semiparam.h
 * @brief Umbrella header of libsemiparam: includes every module's header.
 */
#ifndef SEMIPARAM_H
#define SEMIPARAM_H

#include "semiparam/version.h"
#include "semiparam/core.h"
#include "semiparam/go.h"
#include "semiparam/sgf.h"
#include "semiparam/nn.h"
#include "semiparam/search.h"
#include "semiparam/go_evaluator.h"
#include "semiparam/dataset.h"
#include "semiparam/retriever.h"
#include "semiparam/embed.h"
#include "semiparam/model.h"
#include "semiparam/train.h"
#include "semiparam/agent.h"

#endif /* SEMIPARAM_H */
