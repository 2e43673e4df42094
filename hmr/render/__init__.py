"""Rendering and export on a headless CPU: meshes over video frames (the numpy rasteriser of
:mod:`hmr.synthetic.render`), video writing with OpenCV, and BVH export of SMPL motion."""
