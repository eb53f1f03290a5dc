-- Organizations (tenants), their users and brands, and sign-in throttling.
-- Timestamps are Unix seconds; ids are prefixed random text (see app/src/server/ids.rs).

create table organizations (
    id text primary key,
    name text not null,
    created_at bigint not null
);

create table users (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    -- Stored trimmed and lower-cased (app/src/domain/email.rs): one account per address.
    email text not null,
    password_hash text not null,
    role text not null check (role in ('owner', 'admin', 'member')),
    created_at bigint not null
);
create unique index users_email_key on users (email);
create index users_org_id on users (org_id);

create table brands (
    id text primary key,
    org_id text not null references organizations (id) on delete cascade,
    name text not null,
    -- Lower-cased name: "Acme" and "ACME" are one brand within an organization.
    name_key text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index brands_org_name_key on brands (org_id, name_key);

create table login_throttle (
    key text primary key,
    failures bigint not null,
    locked_until bigint not null,
    updated_at bigint not null
);
