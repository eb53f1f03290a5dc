-- Per-tenant limits (app/src/server/rate_limit.rs): one row per limited thing (an API key, or an
-- organization for one kind of request), counting the hits of the current one-minute window,
-- which starts on a multiple of 60 s of the database's clock. Every instance counts in the same
-- rows, so a limit holds across them.
create table rate_limit_windows (
    -- `<kind>:<id>`: `api_key:key_…`, `api_org:org_…`, `connect_starts:org_…`, `credential_tests:org_…`.
    bucket text primary key,
    window_start bigint not null,
    hits bigint not null
);

-- Open connect flows are counted per organization at every start (the cap on open flows).
create index twitter_oauth_flows_by_org on twitter_oauth_flows (org_id, expires_at);
