# MLflow tracking server: Postgres driver, S3 client for the proxied artifact store, and
# Flask-WTF for `--app-name basic-auth`. Same MLflow version as the wsad clients.
FROM python:3.11-slim
RUN pip install --no-cache-dir mlflow==3.17.2 psycopg2-binary==2.9.11 boto3==1.40.* Flask-WTF==1.3.0
RUN useradd --create-home mlflow
USER mlflow
EXPOSE 5000
