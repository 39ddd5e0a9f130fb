-- Table locks as short-lived leases, so that a commit does not hold SQLite's database-wide
-- write lock while it writes to storage: a row per table being committed, with its holder and
-- the time after which another writer may take it over (a holder that died).
CREATE TABLE table_leases (
    table_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
