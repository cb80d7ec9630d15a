# The hotline application image (call controller `hotline run`, API `hotline api`).
# Used by docker-compose.yml; the Asterisk image is asterisk/Dockerfile.
FROM python:3.11-slim-bookworm

RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends espeak-ng sox sip-tester; \
    rm -rf /var/lib/apt/lists/*

WORKDIR /srv/hotline
COPY pyproject.toml README.md ./
COPY hotline/ hotline/
COPY ivr/ ivr/
COPY speech/ speech/
COPY api/ api/
COPY cases/ cases/
COPY dialplans/ dialplans/
COPY asterisk/ asterisk/
RUN pip install --no-cache-dir .

ENV HOTLINE_DIALPLANS_DIR=/srv/hotline/dialplans \
    HOTLINE_STATE_DIR=/var/lib/hotline/state \
    HOTLINE_PROMPTS_DIR=/var/lib/hotline/prompts \
    HOTLINE_RECORDINGS_DIR=/var/lib/hotline/recordings
ENTRYPOINT ["hotline"]
