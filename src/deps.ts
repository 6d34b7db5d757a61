import type { Settings } from './config'
import type { Database } from './db/client'
import type { Logger } from './lib/logger'
import type { Metrics } from './lib/metrics'
import type { RateLimitStore } from './lib/rate-limit'
import type { AttachmentStorage } from './modules/attachments/storage'
import type { Jwt } from './modules/identity'
import type { AuthPlugin } from './plugins/auth'

/** Process-wide state the HTTP layer reads (readiness during shutdown). */
export interface Lifecycle {
  shuttingDown: boolean
}

/** Everything createApp needs; tests build it around a test database and a memory logger. */
export interface AppDeps {
  settings: Settings
  database: Database
  logger: Logger
  lifecycle?: Lifecycle
  /** Where rate-limit counters live (serve: Redis when REDIS_URL is set); default: this app's memory. */
  rateLimitStore?: RateLimitStore
  /** Prometheus metrics of this process (serve creates them when METRICS_ENABLED). */
  metrics?: Metrics
  /** Name resolution for webhook URLs (default: the system resolver; tests map names to addresses). */
  resolve?: (host: string) => Promise<string[]>
  /** Where attachment bytes live (default: what the settings name: a directory or an S3 bucket). */
  storage?: AttachmentStorage
}

/** What a feature module gets: the app deps plus the shared guard plugin (use it, never re-create it). */
export interface ModuleDeps extends AppDeps {
  auth: AuthPlugin
  /** The process's one attachment storage (AppDeps.storage, or what the settings name). */
  storage: AttachmentStorage
}

export interface IdentityDeps extends ModuleDeps {
  jwt: Jwt
}
