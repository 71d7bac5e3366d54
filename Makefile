# Set-up is part of every target: a fresh clone needs only `make site` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The small CPU build; on a CUDA machine use e.g. `make site TORCH=torch`.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install site test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml $(wildcard setup.py generator/kernels/*.c)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

site: $(STAMP)
	$(BIN)/attnart build --out site

# The browser, HTML and Jekyll checks need Debian's chromium, a Java runtime and jekyll
# (installed with apt-get when missing, which needs root).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

/usr/bin/java:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless

/usr/bin/jekyll:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jekyll jekyll-theme-minima

test: $(STAMP) /usr/bin/chromium /usr/bin/java /usr/bin/jekyll
	$(BIN)/python -m ruff check generator tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/attnart bench --resolution 500

clean:
	rm -rf $(VENV) build *.egg-info generator/kernels/*.so
