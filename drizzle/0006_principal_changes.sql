-- Principal changes are announced on NOTIFY taskbase_principals with the user's id, at commit:
-- a user row changed or deleted, a session revoked, re-timed or deleted, an API token changed or
-- deleted. The embedded server caches principals and drops a user's entries on it (PGlite
-- delivers the notification before the write's own call returns). last_used_at alone does not count.
CREATE FUNCTION taskbase_principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- (two branches: a record has only its own table's fields, and OLD.user_id on users fails)
  IF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('taskbase_principals', OLD.id::text);
  ELSE
    PERFORM pg_notify('taskbase_principals', OLD.user_id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_principal_changed AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION taskbase_principal_changed();
--> statement-breakpoint
CREATE TRIGGER sessions_principal_deleted AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION taskbase_principal_changed();
--> statement-breakpoint
CREATE TRIGGER sessions_principal_changed AFTER UPDATE ON sessions
  FOR EACH ROW WHEN ((OLD.revoked_at, OLD.expires_at, OLD.user_id) IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.user_id))
  EXECUTE FUNCTION taskbase_principal_changed();
--> statement-breakpoint
CREATE TRIGGER api_tokens_principal_deleted AFTER DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION taskbase_principal_changed();
--> statement-breakpoint
CREATE TRIGGER api_tokens_principal_changed AFTER UPDATE ON api_tokens
  FOR EACH ROW WHEN ((OLD.scope, OLD.expires_at, OLD.token_hash, OLD.user_id) IS DISTINCT FROM (NEW.scope, NEW.expires_at, NEW.token_hash, NEW.user_id))
  EXECUTE FUNCTION taskbase_principal_changed();
