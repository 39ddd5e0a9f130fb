-- Token lifecycle (expiry, revocation, last use) and the audit trail of writes.
ALTER TABLE tokens ADD COLUMN expires_at_ms INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at_ms INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at_ms INTEGER;

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    token_id TEXT NOT NULL,
    action TEXT NOT NULL,
    namespace TEXT,
    target TEXT,
    status INTEGER NOT NULL,
    detail TEXT
);
CREATE INDEX audit_namespace ON audit (namespace, id);
