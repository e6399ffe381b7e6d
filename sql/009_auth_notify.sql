-- clipmill schema, version 9: clipmill.fcgi keeps API key and session
-- lookups for a few seconds (auth_cache_ttl); these triggers tell every
-- process at once, by NOTIFY on clipmill_auth with the user's id, when a
-- user is disabled, given a new key, renamed or deleted, and when a
-- session ends or changes (logout, disable, rotate-key, sweep), whichever
-- program or statement does it.  The processes LISTEN and forget that
-- user's lookups.

CREATE FUNCTION clipmill_auth_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_auth', OLD.id::text);
	RETURN NULL;
END $$;

CREATE FUNCTION clipmill_auth_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('clipmill_auth', OLD.user_id::text);
	RETURN NULL;
END $$;

CREATE TRIGGER users_auth_changed AFTER UPDATE ON users FOR EACH ROW
	WHEN (OLD.key_hash IS DISTINCT FROM NEW.key_hash
	    OR OLD.disabled IS DISTINCT FROM NEW.disabled
	    OR OLD.name IS DISTINCT FROM NEW.name)
	EXECUTE FUNCTION clipmill_auth_user_changed();
CREATE TRIGGER users_auth_deleted AFTER DELETE ON users FOR EACH ROW
	EXECUTE FUNCTION clipmill_auth_user_changed();
-- Any change to a session row: its end, and also last_seen, which
-- clipmill.fcgi writes every few minutes and then looks up afresh.
CREATE TRIGGER sessions_auth_changed AFTER UPDATE OR DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION clipmill_auth_session_changed();
