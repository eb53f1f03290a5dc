-- Bring-your-own X app credentials (one default per organization, at most one override per
-- brand) and the organization's audit trail. Secrets are vault blobs (app/src/server/vault.rs);
-- only the first six characters of a Client ID are plaintext.

-- Lets credentials reference a brand together with its organization, so an override can never
-- point at another tenant's brand.
create unique index brands_org_id_id on brands (org_id, id);

create table twitter_credentials (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    -- NULL: the organization default; otherwise the brand this override belongs to.
    brand_id text,
    client_id_preview text not null,
    client_id_enc blob not null,
    client_secret_enc blob not null,
    -- 1 when saved; one more each time the secret of the same Client ID is replaced.
    generation bigint not null,
    created_at bigint not null,
    updated_at bigint not null,
    updated_by text not null,
    last_test_result text check (last_test_result in ('valid', 'invalid_client', 'unreachable')),
    last_tested_at bigint,
    foreign key (org_id, brand_id) references brands (org_id, id) on delete cascade
);
-- NULLs never collide in a unique index, so the default and the overrides get one each.
create unique index twitter_credentials_default on twitter_credentials (org_id) where brand_id is null;
create unique index twitter_credentials_brand on twitter_credentials (org_id, brand_id) where brand_id is not null;

create table audit_events (
    seq integer primary key autoincrement,
    org_id text not null references organizations (id) on delete cascade,
    at bigint not null,
    actor text not null,
    action text not null,
    -- What it was about, kept as text so the trail outlives a deleted brand.
    target text not null,
    detail text not null
);
create index audit_events_org on audit_events (org_id, seq);
