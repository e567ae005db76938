VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-pgbouncer lint format clean readme-settings metrics-doc dashboards

# uv, bootstrapped from PyPI into the venv, installs in a fraction of pip's time; the venv is
# made without pip (ensurepip alone takes seconds) and uv comes through the system's pip, or
# the venv's own when the system has none. pip is the fallback where uv cannot be had.
# See docs/decisions.md, "Installing".
$(VENV)/.installed: setup.cfg
	python3 -m venv --without-pip $(VENV)
	@if python3 -m pip --python $(PY) install --quiet uv 2>/dev/null \
		|| { $(PY) -m ensurepip --default-pip >/dev/null && $(PIP) install --quiet uv; }; then \
		echo "installing with uv"; \
		$(VENV)/bin/uv pip install --quiet --python $(PY) --upgrade-package pip pip -e '.[test,dev]'; \
	else \
		echo "uv unavailable: installing with pip"; \
		$(PY) -m ensurepip --default-pip >/dev/null 2>&1; \
		$(PIP) install --quiet --upgrade pip && $(PIP) install --quiet -e '.[test,dev]'; \
	fi
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/matchday demo
	$(VENV)/bin/matchday serve --host $(HOST) --port $(PORT)

# pytest-xdist workers (tests/conftest.py says what keeps them apart); TEST_WORKERS=0: serial.
TEST_WORKERS ?= auto

test: install
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --cov --cov-report=term --durations=30

# The PostgreSQL tests again, through a PgBouncer in transaction mode that each test process
# starts from deploy/pgbouncer/pgbouncer.ini (docs/deployment.md, "PgBouncer").
test-pgbouncer: install
	MATCHDAY_TEST_PGBOUNCER=1 $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup \
		-m "postgres and not e2e" tests/integration tests/security

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy config models server workers
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -q -r config models server workers -c bandit.yaml
	@# pip-audit asks PyPI's JSON API (pypi.org/pypi/<name>/<version>/json) for advisories; where
	@# that API cannot be reached (offline, or a mirror without it) say so instead of failing.
	@if $(PY) -c "import urllib.request as u; u.urlopen('https://pypi.org/pypi/pip/24.0/json', timeout=10)" 2>/dev/null; then \
		$(VENV)/bin/pip-audit --skip-editable --strict; \
	else \
		echo "pip-audit SKIPPED: PyPI's vulnerability API is unreachable from here"; \
	fi

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov

metrics-doc: install
	$(PY) -m tests.metrics_doc

# deploy/grafana/dashboards/*.json from deploy/grafana/build.py (commit both).
dashboards: install
	$(PY) deploy/grafana/build.py

readme-settings: install
	$(PY) -c "import re,pathlib; from config.settings import settings_table as t; p=pathlib.Path('README.md'); s=p.read_text(); p.write_text(re.sub(r'(<!-- settings:start[^>]*-->\n).*?(\n<!-- settings:end -->)', lambda m: m.group(1)+t()+m.group(2), s, flags=re.S))"

# Benchmarks (tests/perf, docs/performance.md): not part of `make test`. Each starts its own
# servers on 127.0.0.1 and prints JSON, then one summary line; `make bench` runs them all.
# bench-reads needs wrk (Debian: apt-get install -y wrk). The load test (locust, the `load`
# extra) is separate: `make load`.
.PHONY: bench bench-reads bench-writes bench-explain bench-sse bench-sse-2 bench-standings \
	bench-analytics bench-tracing eval-analytics load

bench: bench-reads bench-writes bench-explain bench-sse bench-sse-2 bench-standings bench-analytics

# Three paired rounds, medians: one pair swings by ±0.3 on 2 cores (docs/performance.md).
bench-reads: install
	$(VENV)/bin/python tests/perf/http_reads.py --processes 2 --rounds 3

bench-writes: install
	$(VENV)/bin/python tests/perf/score_writes.py --rates 500,1000 --processes 2

bench-explain: install
	$(VENV)/bin/python tests/perf/explain_hot.py --events 1000

# Not in `bench`: what tracing costs a request (docs/operations.md, "Tracing and errors").
bench-tracing: install
	$(VENV)/bin/python tests/perf/tracing_overhead.py --requests 300

bench-analytics: install
	$(VENV)/bin/python tests/perf/analytics_latency.py --teams 64 --runs 20

eval-analytics: install
	$(PY) -m tests.analytics.eval --set all

bench-standings: install
	$(VENV)/bin/python tests/perf/standings_latency.py --teams 64 --scores 50

bench-sse: install
	$(VENV)/bin/python tests/perf/sse_fanout.py --connections 10000 --redis

bench-sse-2: install
	$(VENV)/bin/python tests/perf/sse_fanout.py --connections 20000 --redis --processes 2

load: install
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[test,dev,load]'
	$(VENV)/bin/python tests/load/mixed_run.py --minutes 5 --users 200 --processes 2

# The fault suite (tests/faults; docs/operations.md, "Fault suite"): every scenario, the long
# ones (marker faults_long) included, one after another, each on processes of its own; the
# figures are summed up at the end. `make test` runs its short subset (not faults_long).
.PHONY: test-faults test-image rehearsal test-rehearsal

# The multi-host rehearsal (tests/rehearsal, docs/deployment.md "Multi-host rehearsal"): its
# own network namespaces, PostgreSQL, Redis, two API hosts and a worker; prints JSON and one
# summary line. Needs root (namespaces); `make test` runs it as a test where it can, and
# `make test-rehearsal` adds the interruption test.
REHEARSAL_ARGS ?=
rehearsal: install
	$(VENV)/bin/python tests/rehearsal/multihost.py $(REHEARSAL_ARGS)

test-rehearsal: install
	$(VENV)/bin/pytest -n 0 tests/rehearsal -p no:cacheprovider

# The image's install steps as an unprivileged user, then its default command (tests/deploy,
# marker image_build): about a minute of PyPI downloads, so not part of `make test`.
test-image: install
	$(VENV)/bin/pytest -n 0 -m image_build tests/deploy -p no:cacheprovider

test-faults: install
	$(VENV)/bin/pytest tests/faults -m faults -p no:cacheprovider
