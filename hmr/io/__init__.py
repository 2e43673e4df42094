"""File formats: atomic HDF5 files, the sequence format, manifests."""
