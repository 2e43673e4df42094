# Two commands on a fresh clone (see README):
#   make run    install into .venv, then `snakemake --cores all` on the embedded default
#   make test   install what tests need (if not yet there), then run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.hmr-installed

.PHONY: install run test lint clean demo-video blazepose-heavy

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/snakemake --cores all

test: install
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

clean:
	rm -rf results data logs .snakemake
