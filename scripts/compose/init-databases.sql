-- docker compose: one database per service, as make run and Cloud SQL have.
CREATE DATABASE cliente;
CREATE DATABASE veiculo;
CREATE DATABASE pagamento;
CREATE DATABASE orquestrador;
