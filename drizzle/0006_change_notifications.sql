-- Changes that the embedded server's caches depend on are announced at commit with NOTIFY:
--   taskbase_principals <user id>: a user row changed or deleted, a session revoked, re-timed or
--     deleted, an API token changed or deleted (last_used_at alone does not count);
--   taskbase_projects <project id>: a project row changed or deleted, a membership added, changed
--     or removed.
-- The embedded server drops its cached entries on them; PGlite delivers the notification before
-- the write's own call returns. One function: its arguments are the channel and the column whose
-- value (of the old row, or of the new one for an insert) is the payload.
CREATE FUNCTION taskbase_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], to_jsonb(COALESCE(OLD, NEW)) ->> TG_ARGV[1]);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_principal_changed AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION taskbase_notify_change('taskbase_principals', 'id');
--> statement-breakpoint
CREATE TRIGGER sessions_principal_deleted AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION taskbase_notify_change('taskbase_principals', 'user_id');
--> statement-breakpoint
CREATE TRIGGER sessions_principal_changed AFTER UPDATE ON sessions
  FOR EACH ROW WHEN ((OLD.revoked_at, OLD.expires_at, OLD.user_id) IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.user_id))
  EXECUTE FUNCTION taskbase_notify_change('taskbase_principals', 'user_id');
--> statement-breakpoint
CREATE TRIGGER api_tokens_principal_deleted AFTER DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION taskbase_notify_change('taskbase_principals', 'user_id');
--> statement-breakpoint
CREATE TRIGGER api_tokens_principal_changed AFTER UPDATE ON api_tokens
  FOR EACH ROW WHEN ((OLD.scope, OLD.expires_at, OLD.token_hash, OLD.user_id) IS DISTINCT FROM (NEW.scope, NEW.expires_at, NEW.token_hash, NEW.user_id))
  EXECUTE FUNCTION taskbase_notify_change('taskbase_principals', 'user_id');
--> statement-breakpoint
CREATE TRIGGER projects_access_changed AFTER UPDATE OR DELETE ON projects
  FOR EACH ROW EXECUTE FUNCTION taskbase_notify_change('taskbase_projects', 'id');
--> statement-breakpoint
CREATE TRIGGER project_members_access_changed AFTER INSERT OR UPDATE OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION taskbase_notify_change('taskbase_projects', 'project_id');
