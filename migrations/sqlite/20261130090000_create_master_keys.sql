-- The ids of the master keys this database's secrets are sealed with (app/src/server/master_keys.rs),
-- never the keys themselves: an id is the first 4 bytes of a domain-separated SHA-256 of its key,
-- and every vault blob carries it in the clear anyway. Startup refuses a key ring that lacks a
-- recorded key, so a lost or mismatched key file is caught before anything is sealed under
-- another key, even while the database holds no secret yet.
create table master_keys (
    -- The u32 key id.
    key_id bigint primary key,
    first_seen_at bigint not null
);
