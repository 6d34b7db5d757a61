import { startServer } from '../../src/cli/serve'
import { TEST_SECRET } from './app'

/**
 * `taskbase serve` in this process on an embedded database in `dataDir`, on a free loopback port,
 * quiet; `env` adds or overrides settings (JOBS_ENABLED, METRICS_*, …).
 */
export const serveEmbedded = (dataDir: string, env: Record<string, string> = {}) =>
  startServer({
    env: {
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      SECRET_KEY: TEST_SECRET,
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    stdout: () => {},
    stderr: () => {},
  })
