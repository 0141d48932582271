"""Python bindings of libsemiparam (ctypes, standard library only).

One module per C header: semiparam.core (core.h), semiparam.go (go.h),
semiparam.sgf (sgf.h), semiparam.nn (nn.h), semiparam.search (search.h),
semiparam.go_evaluator (go_evaluator.h), semiparam.train (train.h),
semiparam.embed (embed.h), semiparam.agent (agent.h), ... The most used
names are re-exported here.
The shared library is taken from $SEMIPARAM_LIBRARY, else from this
checkout's build directory, else from the system's library path.
"""
from . import agent, core, dataset, embed, go, go_evaluator, model, nn, retriever, search, sgf, train
from ._lib import LIBRARY_PATH
from .core import (BufferTooSmallError, CancelledError, Feature, FileIOError, FormatError, IllegalMoveError,
                   InternalError, InvalidArgumentError, LogLevel, MisuseError, NoDeviceError, NoMemoryError, Rng,
                   SemiparamError, Status, UnsupportedError, VersionError, has_feature, last_error,
                   set_log_callback, set_progress_callback, version, version_info, version_string)
from .go import PASS, RESIGN, Color, Game, GameEnd, GameOptions
from .go_evaluator import GoEvaluator
from .model import Model
from .embed import Embedder, EmbedderKind, Pca
from .retriever import Retriever
from .search import Evaluation, Search, SearchKind
from .agent import Agent

__version__ = core.version_string()

__all__ = [
    "agent", "core", "dataset", "embed", "go", "go_evaluator", "model", "nn", "retriever", "search", "sgf", "train",
    "LIBRARY_PATH",
    "BufferTooSmallError", "CancelledError", "FileIOError", "FormatError", "IllegalMoveError", "InternalError",
    "InvalidArgumentError", "MisuseError", "NoDeviceError", "NoMemoryError", "SemiparamError", "UnsupportedError",
    "VersionError", "Feature", "LogLevel", "Status", "Rng", "has_feature", "last_error", "set_log_callback",
    "set_progress_callback", "version", "version_info", "version_string",
    "PASS", "RESIGN", "Color", "Game", "GameEnd", "GameOptions", "GoEvaluator", "Evaluation", "Search", "SearchKind",
    "Embedder", "EmbedderKind", "Pca", "Retriever", "Model", "Agent",
]
