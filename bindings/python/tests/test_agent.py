"""semiparam.agent: agents of each kind (random playouts, a tiny baseline
model in both search modes, a tiny retrieval model over a raw-plane
embedder and an exact "Flat" index of random 5x5 games) play whole games
with legal moves only, their top moves' visits summing to the simulations
plus the visits a kept tree brought; a game added with add_game() is
retrieved for its own positions at distance 0; the neighbours' outcomes and
next moves against the dataset; the options' and structs' defaults against
C's; bad arguments and handles that do not belong together refused; the
model closing its agents first (also in a collected cycle), and a closed
borrowed handle refusing the agent's calls."""
import gc
import math
import unittest

import semiparam as sp
from semiparam import agent, embed, go, nn
from semiparam.agent import Agent, AgentOptions
from semiparam.dataset import NEIGHBOUR_ACTIONS, Dataset, GameText
from semiparam.embed import Embedder, Pca
from semiparam.go import PASS, Color, Game
from semiparam.model import Model
from semiparam.model_search import ModelSearchMode
from semiparam.retriever import Retriever
from semiparam.search import SearchFpu, SearchKind

SIZE = 5
AREA = SIZE * SIZE
HISTORY = 2
DIM = 8
N = 3
GAMES = 30
SIMULATIONS = 12

HAVE_NN = sp.has_feature(sp.Feature.NN)
HAVE_RETRIEVAL = HAVE_NN and sp.has_feature(sp.Feature.RETRIEVAL)


def random_game(rng, i):
    """A random game of 6..25 moves (or to its end), Black winning two games in three."""
    g = Game(SIZE)
    for _ in range(6 + i % 20):
        if g.is_over:
            break
        g.play(g.random_move(rng))
    g.set_info("RE", "B+R" if i % 3 else "W+R")
    return g


def tiny_model(neighbours=0, seed=1):
    return Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1, seed=seed), board_size=SIZE, history=HISTORY,
                 channels=8, repr_blocks=1, dyn_blocks=1, value_hidden=8, neighbours=neighbours,
                 neighbour_channels=3, neighbour_blocks=1)


class World:
    """The pieces of a retrieval agent, as test_agent.c builds them: a
    dataset of random games, the raw-plane embedder of a PCA of its
    positions, the exact index of their keys, and two tiny models (N = 3
    with the embedder's id, and a baseline)."""

    def __init__(self, seed):
        self.ds = Dataset(SIZE)
        with sp.Rng(seed) as rng:
            for i in range(GAMES):
                with random_game(rng, i) as g:
                    self.ds.add_game(g, "test", dedup=False)
        positions = list(range(self.ds.position_count))
        planes, _ = embed.position_planes(self.ds, positions, history=HISTORY)
        with Pca(planes, go.plane_count(HISTORY) * AREA, DIM, threads=1) as pca:
            self.embedder = Embedder.from_pca(pca, SIZE, HISTORY)
        keys, games = self.embedder.embed_positions(self.ds, positions)
        self.retriever = Retriever.build(keys, positions, games, DIM, factory="Flat", threads=1,
                                         embedder_id=self.embedder.id)
        self.retrieval = tiny_model(N, seed + 1)
        self.retrieval.set_embedder(self.embedder.id)
        self.baseline = tiny_model(0, seed + 2)

    def agent(self, **fields):
        """A retrieval agent over this world."""
        return Agent(self.retrieval, self.embedder, self.retriever, self.dataset, **fields)

    @property
    def dataset(self):
        return self.ds

    def close(self):
        for h in (self.retrieval, self.baseline, self.retriever, self.embedder, self.ds):
            h.close()


class TestAgentOptions(unittest.TestCase):
    def test_defaults_match_c(self):
        o = agent.agent_options()
        self.assertIsInstance(o, AgentOptions)
        self.assertEqual(agent.AGENT_OPTIONS_VERSION, 3)
        self.assertEqual((o.version, o.simulations, o.kind, o.mode, o.threads, o.batch, o.fpu, o.playouts,
                          o.board_size, o.nprobe, o.temperature, o.seconds, o.seed, o.zero_neighbours,
                          o.per_node_neighbours, o.temperature_moves),
                         (3, 200, SearchKind.PUCT, ModelSearchMode.RULES, 1, 0, SearchFpu.PARENT, 1, 9, 0, 0.0, 0.0,
                          1, 0, 0, 0))
        o = agent.agent_options(simulations=7, kind=SearchKind.GUMBEL, temperature=0.5, seed=2 ** 63)
        self.assertEqual((o.simulations, o.kind, o.temperature, o.seed), (7, SearchKind.GUMBEL, 0.5, 2 ** 63))
        with self.assertRaises(TypeError):
            agent.agent_options(simulation=7)
        with self.assertRaises(ValueError):
            agent.agent_options(seed=-1)

    def test_report_and_neighbour_defaults(self):
        with Agent(board_size=SIZE, simulations=4) as a:
            r = a.report()  # before any genmove: the empty report
            self.assertEqual((r.version, r.move, r.simulations, r.reused, r.value, r.neighbours, r.queries, r.seconds),
                             (agent.AGENT_REPORT_VERSION, PASS, 0, 0, 0.0, 0, 0, 0.0))
            self.assertEqual((a.top_moves(), a.principal_variation(), a.root_neighbours()), ([], [], []))
            self.assertEqual(repr(a), "<semiparam.Agent 5x5, playouts, 4 simulations>")
        n = agent.AgentNeighbour()
        self.assertEqual(agent._neighbour_init(n, agent.AGENT_NEIGHBOUR_VERSION), 0)
        self.assertEqual((n.version, n.position, n.game, n.distance, n.outcome, list(n.next_moves)),
                         (1, 0, 0, 0.0, 0, [agent.NO_NEXT_MOVE] * NEIGHBOUR_ACTIONS))

    def test_bad_options_are_refused(self):
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            Agent(simulations=0)
        self.assertIn("simulations", str(cm.exception))
        for fields in (dict(temperature=math.nan), dict(mode=7), dict(board_size=1), dict(threads=0),
                       dict(seconds=-1.0), dict(temperature_moves=-1)):
            with self.subTest(**fields), self.assertRaises(sp.InvalidArgumentError):
                Agent(**fields)
        with self.assertRaises(sp.VersionError):
            Agent(options=agent.agent_options(version=agent.AGENT_OPTIONS_VERSION + 1))
        with self.assertRaises(TypeError):
            Agent(options=agent.agent_options(), simulations=3)
        with self.assertRaises(TypeError):
            Agent(options={"simulations": 3})


class SelfPlay:
    def self_play(self, a, retrieval, keeps_tree, max_plies=150):
        """@a plays both sides to the end (or @max_plies): every move legal, the
        top moves' visits the simulations plus those a kept tree brought."""
        reused = 0
        with Game(SIZE) as g:
            for ply in range(max_plies):
                if g.is_over:
                    break
                move = a.genmove(g)
                self.assertTrue(move == PASS or g.is_legal(move), "ply %d: move %d is illegal" % (ply, move))
                r = a.report()
                self.assertEqual(r.move, move)
                self.assertGreaterEqual(r.simulations, SIMULATIONS)
                top = a.top_moves(None)
                self.assertEqual(sum(t[1] for t in top), r.simulations + r.reused)
                self.assertEqual([t[1] for t in top], sorted((t[1] for t in top), reverse=True))
                self.assertTrue(all(m == PASS or 0 <= m < AREA for m, _, _, _ in top))
                self.assertEqual(a.top_moves(2), top[:2])
                self.assertIn(move, [m for m, _, _, _ in top])  # temperature 0: a visited move
                pv = a.principal_variation()
                self.assertTrue(pv and pv[0] == move, (pv, move))
                if ply == 0 or not keeps_tree:
                    self.assertEqual(r.reused, 0)
                reused += r.reused
                self.assertTrue(-1.0 <= r.value <= 1.0)
                self.assertGreaterEqual(r.seconds, r.seconds_search)
                self.assertEqual(r.neighbours, N if retrieval else 0)
                self.assertEqual(r.queries > 0, retrieval)
                self.assertEqual(len(a.root_neighbours()), r.neighbours)
                g.play(move)  # IllegalMoveError otherwise
            self.assertEqual(reused > 0, keeps_tree)
            if g.is_over:
                self.assertEqual(a.genmove(g), PASS)
                self.assertEqual(a.report().simulations, 0)
                self.assertEqual((a.top_moves(), a.principal_variation()), ([], []))


class TestPlayouts(SelfPlay, unittest.TestCase):
    def test_self_play(self):
        with Agent(board_size=SIZE, simulations=SIMULATIONS, seed=3) as a:
            self.assertEqual((a.board_size, a.neighbours), (SIZE, 0))
            self.self_play(a, retrieval=False, keeps_tree=True)
            with Game(SIZE) as g, self.assertRaises(sp.MisuseError):
                g.play(0)
                a.add_game(g)

    def test_temperature_moves_draw_only_the_opening(self):
        """Past the first temperature_moves moves the agent plays as one without
        a temperature fed the same calls; before them it draws."""
        with Agent(board_size=SIZE, simulations=SIMULATIONS, seed=5) as plain, \
                Agent(board_size=SIZE, simulations=SIMULATIONS, seed=5, temperature=1.0,
                      temperature_moves=1) as drawn, Game(SIZE) as g:
            g.play(0)
            for _ in range(20):
                self.assertEqual(drawn.genmove(g), plain.genmove(g))
            g.undo()
            self.assertGreater(len({drawn.genmove(g) for _ in range(20)}), 1)


@unittest.skipUnless(HAVE_NN, "built without the nn module (-Dnn=disabled)")
class TestBaseline(SelfPlay, unittest.TestCase):
    def test_self_play_both_modes(self):
        with tiny_model(seed=4) as m:
            for mode, threads in ((ModelSearchMode.RULES, 1), (ModelSearchMode.LEARNED, 2)):
                with self.subTest(mode=mode), Agent(m, simulations=SIMULATIONS, mode=mode, threads=threads) as a:
                    self.assertEqual((a.board_size, a.neighbours), (SIZE, 0))
                    self.self_play(a, retrieval=False, keeps_tree=mode == ModelSearchMode.RULES, max_plies=60)

    def test_a_retrieval_model_as_its_own_baseline(self):
        """zero_neighbours: the N = 3 model with every x_i = 0 retrieves nothing and plays."""
        with tiny_model(N, seed=6) as m, Agent(m, simulations=SIMULATIONS, zero_neighbours=1) as a:
            self.assertEqual((a.board_size, a.neighbours), (SIZE, 0))
            self.self_play(a, retrieval=False, keeps_tree=True, max_plies=30)
        with tiny_model(seed=7) as m, self.assertRaises(sp.InvalidArgumentError):
            Agent(m, zero_neighbours=1)

    def test_closing_the_model_closes_the_agent(self):
        m = tiny_model(seed=5)
        a = Agent(m, simulations=4)
        b = Agent(m, simulations=4)
        b.close()  # an agent closed first is no trouble
        with Game(SIZE) as g:
            self.assertNotEqual(a.genmove(g), None)
            m.close()
            self.assertTrue(a.closed)
            with self.assertRaises(ValueError):
                a.genmove(g)
            with self.assertRaises(ValueError):
                Agent(m)


    def test_a_collected_cycle_frees_the_agent_before_the_model(self):
        # The garbage collection of a cycle clears the model's weak list of
        # dependents before any finalizer runs, in no set order: the model
        # must still outlive the agent, whose tree holds states of its search.
        freed = []

        def counting(cls, name):
            free = cls._free
            cls._free = staticmethod(lambda ptr: (freed.append(name), free(ptr)))

        class Player:
            def __init__(self):
                self.model = tiny_model(seed=6)
                self.agent = Agent(self.model, simulations=4)
                self.me = self

        frees = Agent.__dict__["_free"], Model.__dict__["_free"]
        counting(Agent, "agent")
        counting(Model, "model")
        try:
            for _ in range(10):
                p = Player()
                with Game(SIZE) as g:
                    p.agent.genmove(g)
                del p
                gc.collect()
            self.assertEqual(freed, ["agent", "model"] * 10)
        finally:
            Agent._free, Model._free = frees


@unittest.skipUnless(HAVE_RETRIEVAL, "built without the nn or retrieval module")
class TestRetrieval(SelfPlay, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World(3)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_self_play_both_modes(self):
        # Rules mode retrieves at every node with per_node_neighbours, from both workers at once.
        for mode, threads in ((ModelSearchMode.RULES, 2), (ModelSearchMode.LEARNED, 1)):
            with self.subTest(mode=mode), self.w.agent(simulations=SIMULATIONS, mode=mode, threads=threads,
                                                       per_node_neighbours=int(threads == 2)) as a:
                self.assertEqual((a.board_size, a.neighbours), (SIZE, N))
                self.assertEqual(repr(a), "<semiparam.Agent 5x5, retrieval, N = 3, %d simulations>" % SIMULATIONS)
                self.self_play(a, retrieval=True, keeps_tree=mode == ModelSearchMode.RULES, max_plies=40)

    def test_one_retrieval_per_move_unless_per_node(self):
        # Rules mode evaluates real positions at every node: each retrieves with per_node_neighbours.
        for per_node in (0, 1):
            with self.subTest(per_node_neighbours=per_node), \
                    self.w.agent(simulations=8, mode=ModelSearchMode.RULES, per_node_neighbours=per_node) as a, \
                    self.w.ds.game_replay(4, 6) as g:
                a.genmove(g)
                queries = a.report().queries
                self.assertEqual(queries > 1, bool(per_node), "%d queries" % queries)

    def test_neighbours_tell_their_outcome_and_next_moves(self):
        ds = self.w.ds
        with self.w.agent(simulations=4) as a, ds.game_replay(7, 5) as g:
            a.genmove(g)
            neighbours = a.root_neighbours()
            self.assertEqual(len(neighbours), N)
            self.assertEqual([n.distance for n in neighbours], sorted(n.distance for n in neighbours))
            for i, n in enumerate(neighbours):
                self.assertEqual(bytes(n), bytes(a.neighbour(i)))
                self.assertEqual(ds.position_locate(n.position), (n.game, n.move_number))
                with ds.game_replay(n.game, n.move_number) as at:
                    winner = Color.BLACK if n.game % 3 else Color.WHITE  # random_game's results
                    self.assertEqual(ds.game_info(n.game).winner, winner)
                    self.assertEqual(n.outcome, 1 if winner == at.to_play else -1)
                actions = ds.game_moves(n.game)
                want = [go.action_to_move(SIZE, actions[k]) if k < len(actions) else agent.NO_NEXT_MOVE
                        for k in range(n.move_number, n.move_number + NEIGHBOUR_ACTIONS)]
                self.assertEqual(list(n.next_moves), want)
            for index in (N, -1, 2 ** 31):
                with self.subTest(index=index), self.assertRaises((sp.InvalidArgumentError, ValueError)):
                    a.neighbour(index)
            with self.assertRaises(TypeError):
                a.neighbour("0")

    def test_an_added_game_is_retrieved_for_its_own_positions(self):
        w = World(5)
        try:
            with w.agent(simulations=4) as a, sp.Rng(99) as rng, random_game(rng, 31) as played:
                games, first, keys = w.ds.game_count, w.ds.position_count, w.retriever.count
                gid = a.add_game(played, source="self-play")
                self.assertEqual(gid, games)
                self.assertEqual(w.ds.game_text(gid, GameText.SOURCE), "self-play")
                self.assertEqual(w.retriever.count, keys + played.move_count)
                self.assertEqual(w.ds.position_count, first + played.move_count)
                for k in range(0, played.move_count, 4):
                    with w.ds.game_replay(gid, k) as at:
                        a.genmove(at)
                        nearest = a.neighbour(0)
                        self.assertLess(nearest.distance, 1e-4)
                        # Random games repeat few positions: the nearest is this
                        # one, or another with the same planes.
                        if nearest.position == first + k:
                            self.assertEqual((nearest.game, nearest.move_number), (gid, k))
                        else:
                            self.assertLess(a.neighbour(1).distance, 1e-4)
                # What the agent refuses to remember.
                with self.assertRaises(TypeError):
                    a.add_game(None)
                with Game(SIZE) as empty, self.assertRaises(sp.InvalidArgumentError):
                    a.add_game(empty)
                with Game(7) as seven, self.assertRaises(sp.InvalidArgumentError):
                    seven.play(10)
                    a.add_game(seven)
                with Game(SIZE) as g, self.assertRaises(TypeError):
                    g.play(0)
                    a.add_game(g, source=5)
        finally:
            w.close()

    def test_bad_arguments_and_mismatched_handles(self):
        w = self.w
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            Agent(w.retrieval, None, w.retriever, w.ds)
        self.assertIn("embedder", str(cm.exception))
        with self.assertRaises(sp.InvalidArgumentError):
            Agent(w.retrieval, w.embedder, None, w.ds)
        with self.assertRaises(sp.InvalidArgumentError):
            Agent(w.retrieval, w.embedder, w.retriever, None)
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            Agent(w.baseline, w.embedder)
        self.assertIn("retrieves nothing", str(cm.exception))
        with self.assertRaises(sp.InvalidArgumentError):
            Agent(None, None, w.retriever)
        with tiny_model(N, 77) as other:
            other.set_embedder(0x1234)
            with self.assertRaises(sp.InvalidArgumentError):
                Agent(other, w.embedder, w.retriever, w.ds)
        with Dataset(7) as small, self.assertRaises(sp.InvalidArgumentError):
            Agent(w.retrieval, w.embedder, w.retriever, small)
        # Handles of the wrong kind, in the wrong place.
        for args in (("model",), (w.embedder,), (w.retrieval, w.retriever, w.embedder, w.ds),
                     (w.retrieval, w.embedder, w.retriever, w.retriever)):
            with self.subTest(args=args), self.assertRaises(TypeError):
                Agent(*args)
        # Calls on working agents.
        with Agent(w.baseline, simulations=4) as a, Game(7) as seven, Game(SIZE) as g:
            with self.assertRaises(sp.InvalidArgumentError):
                a.genmove(seven)
            with self.assertRaises(TypeError):
                a.genmove(None)
            with self.assertRaises(ValueError):
                a.genmove(g, math.nan)
            with self.assertRaises(TypeError):
                a.genmove(g, "1")
            g.play(12)
            with self.assertRaises(sp.MisuseError):
                a.add_game(g)
            a.genmove(g)
            with self.assertRaises(sp.InvalidArgumentError):  # no neighbours without retrieval
                a.neighbour(0)
            self.assertEqual(a.root_neighbours(), [])
            with self.assertRaises(ValueError):
                a.top_moves(-1)

    def test_closed_handles_refuse_the_agents_calls(self):
        for name in ("ds", "retriever", "embedder"):
            w = World(6)
            try:
                with self.subTest(closed=name), Game(SIZE) as g:
                    a = w.agent(simulations=4)
                    a.genmove(g)
                    getattr(w, name).close()
                    for call in (lambda: a.genmove(g), a.report, lambda: a.neighbour(0), a.top_moves,
                                 lambda: a.add_game(g), lambda: a.board_size, w.agent):
                        with self.assertRaises(ValueError) as cm:
                            call()
                        self.assertNotIsInstance(cm.exception, sp.SemiparamError)  # not from C
                    self.assertFalse(a.closed)
                    a.close()
                    self.assertTrue(a.closed)
                    self.assertFalse(w.retrieval.closed)
            finally:
                w.close()

    def test_the_agent_borrows_and_holds(self):
        w = World(7)
        try:
            # Closing the agent leaves every handle open.
            w.agent(simulations=4).close()
            self.assertFalse(any(h.closed for h in (w.retrieval, w.embedder, w.retriever, w.ds)))
            # A call holds every borrowed handle: they refuse close() meanwhile
            # (the hold is taken by hand here, as a call on another thread takes it).
            a = w.agent(simulations=4)
            a._hold()
            try:
                for h in (w.ds, w.retriever, w.embedder, w.retrieval, a):
                    with self.assertRaises(sp.MisuseError):
                        h.close()
            finally:
                a._release()
            self.assertFalse(any(h.closed for h in (w.retrieval, w.embedder, w.retriever, w.ds, a)))
            # The model closes its agents before it goes.
            w.retrieval.close()
            self.assertTrue(a.closed)
        finally:
            w.close()

if __name__ == "__main__":
    unittest.main()
