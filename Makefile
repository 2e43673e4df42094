# Two commands on a fresh clone (see README):
#   make run    install into .venv, then `snakemake --cores all` on the embedded default
#   make test   install what tests need (if not yet there), then run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.hmr-installed

.PHONY: install run test lint clean demo-video blazepose-heavy mmpose

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/snakemake --cores all

test: install mmpose
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/snakemake --lint

# The README's demo video: sports2d's Sports2D/Demo/demo.mp4 (BSD-3-Clause) taken out of its wheel
# (`pip download --no-deps`: nothing installed), checksum-verified, licence beside it.
demo-video: videos/demo.mp4

videos/demo.mp4: | install
	$(BIN)/python -m hmr fetch-demo-video --out $@

# Optional: BlazePose's heavy landmark model (keypoints.mediapipe.model_complexity: 2), taken from the
# npm package @mediapipe/pose (Apache-2.0) into the installed mediapipe wheel, where mediapipe looks.
blazepose-heavy: install
	cd $(VENV) && npm pack --silent @mediapipe/pose@0.5.1675469404 >/dev/null && \
	  tar xzf mediapipe-pose-0.5.1675469404.tgz package/pose_landmark_heavy.tflite && \
	  cp package/pose_landmark_heavy.tflite "$$($(abspath $(BIN))/python -c 'from hmr.keypoints.mediapipe_backend import heavy_model_path; print(heavy_model_path())')" && \
	  rm -rf package mediapipe-pose-0.5.1675469404.tgz

# The mmpose backend (HRNet-W48), installed by `make test` when a prebuilt mmcv wheel with its compiled
# CPU ops is at hand (MMCV_WHEEL; by default ../shared/wheels/, built for torch 2.14.1), skipped with
# the reason otherwise. The OpenMMLab packages go in without their dependencies and then only their
# pure-Python ones, so pip never replaces the project's numpy or OpenCV.
MMCV_WHEEL ?= $(wildcard ../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl)
MMPOSE_STAMP := $(VENV)/.hmr-mmpose

mmpose: $(MMPOSE_STAMP)

$(MMPOSE_STAMP): $(STAMP)
	@if [ -z "$(MMCV_WHEEL)" ]; then \
	  echo "make mmpose: skipped (no mmcv wheel: ../shared/wheels/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl or MMCV_WHEEL=...); the mmpose tests skip"; \
	elif ! $(BIN)/python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '2.14.1')"; then \
	  echo "make mmpose: skipped ($(MMCV_WHEEL) is built for torch 2.14.1, not this venv's torch); the mmpose tests skip"; \
	else \
	  set -e; \
	  $(BIN)/python -m pip install --quiet "setuptools<81" wheel six "numpy<2"; \
	  $(BIN)/python -m pip wheel --quiet --no-build-isolation --no-deps chumpy==0.70 -w $(VENV)/wheels; \
	  $(BIN)/python -m pip install --quiet --no-deps "$(MMCV_WHEEL)" $(VENV)/wheels/chumpy-0.70-py3-none-any.whl \
	    mmengine==0.10.7 mmdet==3.3.0 mmpose==1.3.2; \
	  $(BIN)/python -m pip install --quiet addict yapf termcolor rich json-tricks munkres xtcocotools \
	    pycocotools shapely terminaltables "numpy<2"; \
	  $(BIN)/python -W ignore -c "import mmcv._ext, mmpose.apis"; \
	  touch $@; \
	fi

clean:
	rm -rf results data logs .snakemake
