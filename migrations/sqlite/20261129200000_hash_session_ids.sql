-- Sessions move from tower-sessions' own table to Perch's, which stores only a SHA-256 of each
-- session id (app/src/server/sessions.rs): the old table held the ids themselves, so a copy of
-- the database signed anyone in. Sessions that existed before this migration end with it.
drop table if exists tower_sessions;

-- Ending every session of a user (a password change, "sign out everywhere", a removal) moves the
-- user's epoch on; a session is accepted only while it carries the epoch of its user.
alter table users add column session_epoch bigint not null default 0;

create table sessions (
    -- Lower-case hex SHA-256 of the cookie's value; the value itself is never stored.
    id_hash text primary key,
    -- The signed-in user and their epoch when the session was created; null while anonymous.
    user_id text references users (id) on delete cascade,
    user_epoch bigint,
    -- The session's data as JSON, without its id.
    data text not null,
    expires_at bigint not null,
    check ((user_id is null) = (user_epoch is null))
);
create index sessions_user_id on sessions (user_id);
create index sessions_expires_at on sessions (expires_at);
