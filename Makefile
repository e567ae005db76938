VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format clean readme-settings

$(VENV)/.installed: setup.cfg
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/matchday demo
	$(VENV)/bin/matchday serve --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/pytest --cov --cov-report=term

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy config models server workers

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov

readme-settings: install
	$(PY) -c "import re,pathlib; from config.settings import settings_table as t; p=pathlib.Path('README.md'); s=p.read_text(); p.write_text(re.sub(r'(<!-- settings:start[^>]*-->\n).*?(\n<!-- settings:end -->)', lambda m: m.group(1)+t()+m.group(2), s, flags=re.S))"
