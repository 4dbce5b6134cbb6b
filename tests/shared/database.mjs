// Databases for the Node tests: a SQLite file in the test's folder, or a fresh, randomly
// named PostgreSQL database on ROUTEKIT_TEST_PG_URL (dropped afterwards).

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const pgUrl = process.env.ROUTEKIT_TEST_PG_URL;

/// The backends to run on: SQLite, and PostgreSQL when ROUTEKIT_TEST_PG_URL names a server
/// (scripts/test sets it, and fails under CI=true without one).
export const backends = ['sqlite', ...(pgUrl ? ['postgres'] : [])];
if (!pgUrl) console.log('# ROUTEKIT_TEST_PG_URL is not set: the PostgreSQL runs are skipped');

/// A fresh database for `backend` (`dir` holds a SQLite file), and how to drop it.
export function database(backend, dir) {
  if (backend === 'sqlite') return { url: `sqlite://${join(dir, `app-${Date.now()}.db`)}`, drop() {} };
  const name = `routekit_js_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('psql', [pgUrl, '-q', '-c', `CREATE DATABASE ${name}`]);
  const at = new URL(pgUrl);
  at.pathname = `/${name}`;
  return {
    url: at.toString(),
    drop: () => execFileSync('psql', [pgUrl, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}
