# The Airflow image of docker-compose.yaml: the official Apache Airflow image with this provider
# installed (with scikit-learn and MLflow for the sample models of the example DAGs). Airflow
# stays pinned: pip is given the same apache-airflow version as the base image, so installing
# the provider never up- or downgrades Airflow.
#
#   docker compose build            # or: docker build --build-arg AIRFLOW_VERSION=3.3.2 .
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION
ENV AIRFLOW_VERSION=${AIRFLOW_VERSION}

USER airflow
WORKDIR /opt/mlendpoints
COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root airflow_provider_mlendpoints ./airflow_provider_mlendpoints
# celery<5.7: the Celery provider still imports celery.backends.database.retry (removed in 5.7).
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "/opt/mlendpoints[demo,mlflow]" \
        "apache-airflow-providers-celery" \
        "celery>=5.5,<5.7" \
        "psycopg2-binary>=2.9" \
        "asyncpg>=0.29" \
    && python -c "import airflow_provider_mlendpoints, airflow; assert airflow.__version__ == '${AIRFLOW_VERSION}', airflow.__version__"

WORKDIR /opt/airflow
# Mount points of the named volumes (demo data, emulator state): created here so that new volumes
# are owned by the airflow user and writable by group 0 (any AIRFLOW_UID runs with gid 0).
RUN mkdir -p /opt/airflow/demo /opt/airflow/emulator-state \
    && chmod 0775 /opt/airflow/demo /opt/airflow/emulator-state
