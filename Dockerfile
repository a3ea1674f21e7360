# One image recipe for every service, built from the repository root (it needs shared/):
#   docker build --build-arg SERVICE=orquestrador --build-arg PORT=8083 -t orquestrador .
# SERVICE is the service's folder and PORT its port in the registry of services
# (mercado_shared.registry); make deploy and docker-compose.yml pass both.
# Stage 1 resolves the dependencies into a virtualenv; the service's image holds that
# virtualenv and the service's code only: no compiler, no pip cache, no tests.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /src/requirements.txt
RUN pip install -r /src/requirements.txt
COPY shared /src/shared
RUN pip install --no-deps /src/shared

# Development tooling, for docker compose's one-shot provisioning of the emulator only
# (`target: tools`): the images that serve never contain it.
FROM build AS tools
COPY devtools /src/devtools
RUN pip install --no-deps /src/devtools

FROM python:3.11.11-slim-bookworm
ARG SERVICE
ARG PORT=8080
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<a service's folder>" >&2; exit 1; }
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY ${SERVICE}/alembic.ini ./
COPY ${SERVICE}/migrations ./migrations
COPY ${SERVICE}/app ./app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=${PORT}
USER 10001
EXPOSE ${PORT}
# The commit this image was built from (make deploy passes it): /health reports it, and a
# release's smoke test checks that the candidate revision runs it.
ARG VERSION=dev
ENV VERSION=$VERSION
# Cloud Run sets PORT and sends SIGTERM 10 s before SIGKILL. The server (PID 1, exec form)
# answers long polls, drains requests, flushes the outbox and closes the pools within
# SHUTDOWN_SECONDS (8) of the signal (mercado_shared.server). Migrations run as a job:
# the same image with `alembic upgrade head`.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "mercado_shared.server"]
