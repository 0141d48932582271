"""semiparam.nn: backend options and device counts."""
import unittest

import semiparam as sp
from semiparam import nn


class TestNn(unittest.TestCase):
    def test_options_defaults_and_fields(self):
        o = nn.nn_options()
        self.assertEqual((o.version, o.backend, o.threads, o.precision, o.seed),
                         (nn.NN_OPTIONS_VERSION, nn.Backend.AUTO, 0, nn.Precision.F32, 1))
        o = nn.nn_options(backend=nn.Backend.CPU, threads=2, precision=nn.Precision.BF16, seed=9)
        self.assertEqual((o.backend, o.threads, o.precision, o.seed), (1, 2, 1, 9))
        with self.assertRaises(TypeError):
            nn.nn_options(backend="cpu")
        with self.assertRaises(TypeError):
            nn.nn_options(device=1)

    def test_device_count(self):
        self.assertGreaterEqual(nn.device_count(nn.Backend.CPU), 1)
        self.assertGreaterEqual(nn.device_count(nn.Backend.GPU), 0)
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            nn.device_count(nn.Backend.AUTO)  # C refuses: neither CPU nor GPU
        self.assertIn("not CPU or GPU", str(cm.exception))
        with self.assertRaises(TypeError):
            nn.device_count(None)


if __name__ == "__main__":
    unittest.main()
