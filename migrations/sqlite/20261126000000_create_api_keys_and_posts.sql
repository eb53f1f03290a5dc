-- API keys of the public API (app/src/server/api_keys.rs) and the posts made through it
-- (app/src/server/posts.rs).

create table api_keys (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    name text not null,
    -- The key's first characters ("perch_" and six more): enough to tell keys apart in the list,
    -- far too few to guess the rest (security.md G.35).
    prefix text not null,
    -- SHA-256 of the whole key, hex. The key itself is shown once and stored nowhere.
    key_hash text not null unique,
    created_by text not null,
    created_at bigint not null,
    -- Updated at most once a minute, so that using a key is not a write per request.
    last_used_at bigint,
    revoked_at bigint,
    revoked_by text
);
create index api_keys_org on api_keys (org_id, created_at);

create table posts (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    -- No foreign key: the record of a post outlives a disconnect of its account.
    account_id text not null,
    x_user_id text not null,
    username text not null,
    x_post_id text not null,
    text text not null,
    reply_to_post_id text,
    quote_post_id text,
    -- The key that made it (keys are revoked, never deleted).
    api_key_id text,
    created_at bigint not null
);
create index posts_org on posts (org_id, created_at);
