# The wsad code on a Python 3.11 base: the Prefect worker (CPU, default) and the Ray GPU worker
# (BASE=rayproject/ray:...-gpu, TORCH_INDEX=a CUDA wheel index) are built from this one file.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
USER root
RUN if command -v apt-get >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX} \
 && pip install --no-cache-dir -e '.[distributed]' 'dvc[s3]==3.67.1'
