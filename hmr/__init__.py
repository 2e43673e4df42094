"""hmr: uncertainty-aware human mesh recovery from video with part-based 3D dynamics.

A reproducible Snakemake pipeline implementing Lee & Lee, ICCV 2021. See README.md.
"""

__version__ = "0.1.0"
