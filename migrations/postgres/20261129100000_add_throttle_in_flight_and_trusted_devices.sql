-- Sign-in attempts being checked count against the throttle before their password is hashed
-- (app/src/server/throttle.rs), so parallel guesses cannot all be checked.
alter table login_throttle add column in_flight bigint not null default 0;

-- Browsers that signed in as a user: their sign-ins are not counted against their address, so one
-- attacker behind a shared address cannot lock every user out (app/src/server/devices.rs). Only a
-- SHA-256 of the cookie's random token is stored.
create table trusted_devices (
    token_hash text primary key,
    user_id text not null references users (id) on delete cascade,
    created_at bigint not null,
    expires_at bigint not null
);
create index trusted_devices_user_id on trusted_devices (user_id);
