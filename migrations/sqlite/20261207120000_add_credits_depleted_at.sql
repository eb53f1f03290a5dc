-- When X last answered a call through these credentials with 402 (the developer account's
-- pay-per-use credits are spent), or NULL once a call through them succeeded again. About the X
-- app, never an account: the settings page and the cards of the accounts connected through the
-- app say so (app/src/server/store/credentials.rs, `note_credits`).
alter table twitter_credentials add column credits_depleted_at bigint;
