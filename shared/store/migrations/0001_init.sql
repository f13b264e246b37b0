-- Gatehouse control-plane schema, version 1.

-- The single-row revision counter. Every Admin API write takes the next
-- revision with UPDATE ... RETURNING, which serialises writers so revisions
-- commit in order. log_floor is the highest revision removed from the change
-- log: a reader holding revision R can be served a delta iff R >= log_floor.
CREATE TABLE config_revision (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision  bigint  NOT NULL,
    log_floor bigint  NOT NULL
);
INSERT INTO config_revision (singleton, revision, log_floor) VALUES (true, 0, 0);

-- One row per revision: when it was made and the W3C trace context of the
-- request that made it, so sync-hub and data planes can link their spans.
CREATE TABLE revisions (
    revision   bigint      PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    trace      jsonb
);

-- One row per changed entity per revision (cascaded deletes included).
CREATE TABLE change_log (
    revision    bigint  NOT NULL REFERENCES revisions (revision) ON DELETE CASCADE,
    seq         integer NOT NULL,
    entity_type text    NOT NULL,
    entity_id   uuid    NOT NULL,
    op          text    NOT NULL CHECK (op IN ('upsert', 'delete')),
    entity      jsonb,
    PRIMARY KEY (revision, seq)
);

-- Every entity, whatever its type, as the JSON the Admin API serves.
CREATE TABLE entities (
    entity_type text  NOT NULL,
    id          uuid  NOT NULL,
    data        jsonb NOT NULL,
    tags        text[],
    expires_at  timestamptz,
    PRIMARY KEY (entity_type, id)
);
CREATE INDEX entities_tags_idx ON entities USING gin (tags);
CREATE INDEX entities_expires_idx ON entities (expires_at) WHERE expires_at IS NOT NULL;

-- Unique keys (single fields such as services.name, and cache keys such as
-- plugins' name+route+service+consumer+consumer_group), one row each.
CREATE TABLE entity_keys (
    entity_type text NOT NULL,
    key_name    text NOT NULL,
    key_value   text NOT NULL,
    id          uuid NOT NULL,
    PRIMARY KEY (entity_type, key_name, key_value)
);
CREATE INDEX entity_keys_id_idx ON entity_keys (entity_type, id);

-- Foreign keys, one row per non-null foreign field, for nested listings,
-- cascades and restricts.
CREATE TABLE entity_refs (
    entity_type text NOT NULL,
    id          uuid NOT NULL,
    field       text NOT NULL,
    ref_type    text NOT NULL,
    ref_id      uuid NOT NULL,
    PRIMARY KEY (entity_type, id, field)
);
CREATE INDEX entity_refs_ref_idx ON entity_refs (ref_type, ref_id, entity_type, field, id);

-- Data planes as sync-hub sees them (GET /clustering/data-planes).
CREATE TABLE clustering_data_planes (
    id               uuid        PRIMARY KEY,
    hostname         text        NOT NULL,
    ip               text        NOT NULL,
    version          text,
    sync_status      text        NOT NULL DEFAULT 'unknown',
    config_hash      text        NOT NULL,
    revision         bigint      NOT NULL DEFAULT 0,
    last_seen        timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    ttl              timestamptz NOT NULL,
    labels           jsonb,
    cert_details     jsonb,
    rpc_capabilities text[]      NOT NULL DEFAULT '{}',
    connected        boolean     NOT NULL DEFAULT false,
    hub_id           text,
    session_id       text,
    last_error       text
);
CREATE INDEX clustering_data_planes_ttl_idx ON clustering_data_planes (ttl);
