# gwaudit as a container image, for the Kubernetes CronJob in README ("Running from cron").
#
#   docker build -t registry.example.com/gwaudit:0.1.0 .
#
# The install steps are README's "Installing on a server", word for word (tests/test_deploy.py
# keeps them in step). The image runs as an unprivileged user; the database, reports and
# configuration live on volumes (/var/lib/gwaudit, /etc/gwaudit).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# README, "Installing on a server", step 1: the libraries WeasyPrint (the PDF report) needs
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# an unprivileged user owning only its data folder (uid 10001, as the CronJob's securityContext)
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/gwaudit --create-home --shell /usr/sbin/nologin gwaudit

COPY pyproject.toml README.md /opt/gwaudit/src/
COPY src /opt/gwaudit/src/src
COPY rules /opt/gwaudit/src/rules
COPY templates /opt/gwaudit/src/templates
COPY sample_snapshots /opt/gwaudit/src/sample_snapshots

# README, "Installing on a server", steps 2 and 3: a virtual environment, gwaudit installed into it
RUN python3 -m venv /opt/gwaudit/.venv \
    && /opt/gwaudit/.venv/bin/pip install --no-cache-dir /opt/gwaudit/src \
    && /opt/gwaudit/.venv/bin/gwaudit --version

USER 10001:10001
WORKDIR /var/lib/gwaudit
ENV GWAUDIT_DB=/var/lib/gwaudit/gwaudit.duckdb
ENTRYPOINT ["/opt/gwaudit/.venv/bin/gwaudit"]
CMD ["--help"]
