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
--> statement-breakpoint
-- Project access changes (the project row, a membership) are announced on NOTIFY
-- taskbase_projects with the project's id: the embedded server caches each caller's access.
CREATE FUNCTION taskbase_project_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'projects' THEN
    PERFORM pg_notify('taskbase_projects', OLD.id::text);
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('taskbase_projects', NEW.project_id::text);
  ELSE
    PERFORM pg_notify('taskbase_projects', OLD.project_id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER projects_access_changed AFTER UPDATE OR DELETE ON projects
  FOR EACH ROW EXECUTE FUNCTION taskbase_project_changed();
--> statement-breakpoint
CREATE TRIGGER project_members_access_changed AFTER INSERT OR UPDATE OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION taskbase_project_changed();
