-- +goose Up
-- The PostgreSQL twin of the SQLite schema (same tables and columns); see
-- migrations/sqlite for why times are integers and secrets hashes.
CREATE TABLE idp_user (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	org           TEXT NOT NULL DEFAULT '',
	fhir_user     TEXT NOT NULL DEFAULT '',
	patient       TEXT NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL
);

CREATE TABLE idp_client (
	id            TEXT PRIMARY KEY,
	secret_hash   TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL,
	org           TEXT NOT NULL DEFAULT '',
	redirect_uris TEXT NOT NULL DEFAULT '',
	scopes        TEXT NOT NULL DEFAULT '',
	public        INTEGER NOT NULL DEFAULT 0,
	grant_types   TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);

-- One row per authorization in progress: from the authorize request,
-- through sign-in, to the code exchange that deletes it.
CREATE TABLE idp_auth_request (
	id             TEXT PRIMARY KEY,
	client_id      TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL,
	state          TEXT NOT NULL DEFAULT '',
	nonce          TEXT NOT NULL DEFAULT '',
	scopes         TEXT NOT NULL DEFAULT '',
	response_type  TEXT NOT NULL,
	response_mode  TEXT NOT NULL DEFAULT '',
	challenge      TEXT NOT NULL DEFAULT '',
	challenge_meth TEXT NOT NULL DEFAULT '',
	launch_patient TEXT NOT NULL DEFAULT '',
	csrf           TEXT NOT NULL,
	user_id        TEXT NOT NULL DEFAULT '',
	patient        TEXT NOT NULL DEFAULT '',
	auth_time      BIGINT NOT NULL DEFAULT 0,
	done           INTEGER NOT NULL DEFAULT 0,
	code_hash      TEXT,
	code_expires   BIGINT NOT NULL DEFAULT 0,
	expires_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX idp_auth_request_code ON idp_auth_request (code_hash);

-- Access tokens are JWTs verified offline; the row lets userinfo and
-- revocation know about them.
CREATE TABLE idp_access_token (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL,
	subject    TEXT NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL
);

CREATE TABLE idp_refresh_token (
	token_hash TEXT PRIMARY KEY,
	id         TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	patient    TEXT NOT NULL DEFAULT '',
	auth_time  BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX idp_refresh_token_user ON idp_refresh_token (user_id, client_id);

CREATE TABLE idp_launch (
	id_hash    TEXT PRIMARY KEY,
	patient    TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE idp_launch;
DROP TABLE idp_refresh_token;
DROP TABLE idp_access_token;
DROP TABLE idp_auth_request;
DROP TABLE idp_client;
DROP TABLE idp_user;
