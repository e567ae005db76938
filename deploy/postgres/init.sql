-- Run once on a new production database (as a superuser), before `matchday migrate`.
-- tests/integration/test_postgres_ops.py runs it on a PostgreSQL of its own.

-- `matchday db top-queries` (needs shared_preload_libraries, deploy/postgres/postgresql.conf)
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- The application's role: it owns the schema (migrations) and its statements time out. Through
-- PgBouncer the timeout also comes from its connect_query (deploy/pgbouncer/pgbouncer.ini).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'matchday') THEN
        CREATE ROLE matchday LOGIN;  -- ALTER ROLE matchday PASSWORD '...' from a secret
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') THEN
        CREATE ROLE replicator LOGIN REPLICATION;  -- streaming replicas and pg_basebackup
    END IF;
END
$$;
ALTER ROLE matchday SET statement_timeout = '5s';
GRANT pg_read_all_stats TO matchday;  -- the text of every statement in pg_stat_statements
