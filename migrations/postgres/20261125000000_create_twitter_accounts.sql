-- Connected X accounts and the OAuth 2.0 flows that connect them (app/src/server/accounts.rs,
-- app/src/server/oauth_flows.rs). Tokens are vault blobs bound to their account; nothing secret
-- is plaintext here.

create table twitter_accounts (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    -- NULL: connected on the organization default's card; otherwise the brand it posts for.
    brand_id text,
    x_user_id text not null,
    username text not null,
    name text not null,
    profile_image_url text,
    -- The credentials that issued the tokens: their record and secret generation (no foreign key:
    -- a replaced or removed record is exactly what makes the tokens unusable), and the Client ID
    -- preview for the card.
    credential_id text not null,
    credential_generation bigint not null,
    client_id_preview text not null,
    access_token_enc bytea not null,
    -- NULL when X issued none (offline.access not granted).
    refresh_token_enc bytea,
    access_expires_at bigint not null,
    -- The scopes X granted, space separated, as its token endpoint reported them.
    scopes text not null,
    status text not null check (status in ('connected', 'needs_reconnection')),
    -- Why and when the account was found to need reconnection (app/src/domain/accounts.rs).
    status_reason text,
    status_at bigint,
    connected_at bigint not null,
    updated_at bigint not null,
    refreshed_at bigint,
    -- The refresh lease (security.md F.30): one refresh per account at a time, across instances.
    refresh_lease_owner text,
    refresh_lease_until bigint,
    -- Set just before a refresh token is sent to X, cleared when X's answer is stored or known
    -- to be a failure: still set under a lapsed lease, it means an instance died with X's answer
    -- in hand, and the refresh token it sent must never be sent again (security.md H.37).
    refresh_sent_at bigint,
    foreign key (org_id, brand_id) references brands (org_id, id) on delete cascade
);
-- One row per X account and card: connecting it again updates the row (a reconnect).
create unique index twitter_accounts_default_user on twitter_accounts (org_id, x_user_id) where brand_id is null;
create unique index twitter_accounts_brand_user on twitter_accounts (org_id, brand_id, x_user_id) where brand_id is not null;

-- OAuth flows between Connect and X's callback: single use, ten minutes (security.md E.24).
create table twitter_oauth_flows (
    -- SHA-256 of the state, hex: the state itself is only in the browser's URL at X.
    state_hash text primary key,
    org_id text not null references organizations (id) on delete cascade,
    -- Who started it: a dashboard user (Connect on the accounts page, bound to that browser
    -- session) or an API key (a connect link handed to an end user, bound to nothing but the
    -- state). Exactly one is set.
    user_id text references users (id) on delete cascade,
    api_key_id text,
    brand_id text,
    -- Set when the flow reconnects this account.
    account_id text,
    credential_id text not null,
    credential_generation bigint not null,
    client_id_preview text not null,
    -- The flow's Client ID, Client Secret and PKCE verifier, sealed together (E.25, E.28).
    sealed bytea not null,
    created_at bigint not null,
    expires_at bigint not null,
    foreign key (org_id, brand_id) references brands (org_id, id) on delete cascade,
    check ((user_id is null) <> (api_key_id is null))
);
create index twitter_oauth_flows_expires on twitter_oauth_flows (expires_at);
