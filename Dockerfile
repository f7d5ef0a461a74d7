# tau2observe: the sidecar, the evaluator and the sample purple agents in one image.
# docker-compose.yml runs it three times (agent, proxy, evaluator).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, so code changes do not reinstall tau2 (about 1 GB).
COPY pyproject.toml README.md ./
COPY proxy/__init__.py proxy/
COPY evaluator/__init__.py evaluator/
RUN pip install '.[all]' && pip uninstall -y tau2observe

COPY proxy/ proxy/
COPY evaluator/ evaluator/
RUN pip install --no-deps '.[all]'

RUN useradd --create-home --uid 10001 tau2observe
USER tau2observe
ENTRYPOINT ["tau2observe"]
CMD ["--help"]
