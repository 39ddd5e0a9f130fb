-- Strata catalog store, PostgreSQL.
CREATE TABLE namespaces (
    name TEXT PRIMARY KEY NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE tables (
    namespace TEXT NOT NULL REFERENCES namespaces (name),
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    table_id TEXT NOT NULL UNIQUE,
    current_version BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (namespace, name)
);

-- One row per transaction committed through the catalog: retries with the same id are answered
-- from here.
CREATE TABLE commits (
    table_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    committed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (table_id, txn_id)
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'writer', 'reader')),
    namespace TEXT,
    description TEXT,
    created_at_ms BIGINT NOT NULL
);
