"""The synthetic video benchmark: procedural motion, cameras, headless rendering, sequence files."""
