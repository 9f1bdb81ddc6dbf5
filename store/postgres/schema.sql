-- The tables of Warp's PostgreSQL store (package store/postgres).
--
-- postgres.New runs this file on demand, with the configured table name in
-- place of warp_store (warp_store_history, warp_store_history_keep and
-- warp_store_members are renamed alike), unless Config.SkipSchema is set;
-- run it yourself (for instance from your migrations) when the
-- application's role may not create tables. Every statement is idempotent.

-- One row per key. version is the key's merge.Version (a uint64 hybrid-
-- logical-clock timestamp) held as a bigint: the adapter neither accepts
-- nor assigns a version above merge.MaxVersion (2^62-1, about the year
-- 4199), rejects fencing tokens above 2^63-1 and refuses to read back a
-- larger version, so the bigint's value is the version itself and orders
-- like it. A deleted key keeps its row as a tombstone (deleted =
-- true, value NULL) so that its version survives. The C collation makes
-- key order byte order, which Scan's range query relies on.
CREATE TABLE IF NOT EXISTS "warp_store" (
    key        text COLLATE "C" PRIMARY KEY,
    value      bytea,
    version    bigint      NOT NULL,
    fence      bigint      NOT NULL DEFAULT 0,
    deleted    boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Older versions for GetAt, filled by a trigger only when Config.History
-- is above zero; the trigger keeps the newest History rows per key.
CREATE TABLE IF NOT EXISTS "warp_store_history" (
    key     text COLLATE "C" NOT NULL,
    version bigint  NOT NULL,
    value   bytea,
    deleted boolean NOT NULL,
    PRIMARY KEY (key, version)
);

CREATE OR REPLACE FUNCTION "warp_store_history_keep"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "warp_store_history" (key, version, value, deleted)
    VALUES (OLD.key, OLD.version, OLD.value, OLD.deleted);
    DELETE FROM "warp_store_history"
     WHERE key = OLD.key
       AND version <= (SELECT h.version FROM "warp_store_history" h
                        WHERE h.key = OLD.key
                        ORDER BY h.version DESC OFFSET TG_ARGV[0]::int LIMIT 1);
    RETURN NULL;
END
$$;

-- The membership of clusters (store.Membership): one row per member, and
-- per cluster one row with node '' whose incarnation is the largest one
-- issued there (so that incarnations keep growing after their members
-- are gone). A guarded write locks its writer's row FOR KEY SHARE in the
-- statement or transaction that writes. Expel, Leave and a Join that
-- replaces a record first mark the row dead (an UPDATE that negates its
-- incarnation and waits for no writer; once it committed, no write
-- matches the row), then DELETE it, which waits for the locks of the
-- writes in flight. Renew's UPDATE of counter does not wait for them.
CREATE TABLE IF NOT EXISTS "warp_store_members" (
    cluster     text COLLATE "C" NOT NULL,
    node        text COLLATE "C" NOT NULL,
    incarnation bigint NOT NULL,
    counter     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (cluster, node)
);

-- With Config.History = N > 0, New then (re)creates the trigger:
--
--   DROP TRIGGER IF EXISTS "warp_store_history" ON "warp_store";
--   CREATE TRIGGER "warp_store_history" AFTER UPDATE ON "warp_store"
--       FOR EACH ROW WHEN (OLD.version <> NEW.version AND OLD.version > 0)
--       EXECUTE FUNCTION "warp_store_history_keep"('N');
--
-- and with History = 0 it drops it. History is a property of the table:
-- every Store on one table should use the same value.
