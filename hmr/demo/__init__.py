"""The demo on any video: person detection and single-person tracking (BlazePose), the tracked
box written into a sequence file for the stages, and the outputs a user opens elsewhere
(``mesh.mp4``, ``smpl.npz`` with VIBE's key names, a BVH of the motion)."""
