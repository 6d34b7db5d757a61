import { describe, expect, test } from 'bun:test'
import { createLogger, memoryLogger } from '../../src/lib/logger'

describe('logger', () => {
  test('drops lines below the level and serializes errors', () => {
    const lines: string[] = []
    const log = createLogger('warn', (l) => lines.push(l))
    log.debug('d')
    log.info('i')
    log.warn('w', { n: 1 })
    log.error('e', { err: new Error('boom') })
    expect(lines).toHaveLength(2)
    const [w, e] = lines.map((l) => JSON.parse(l))
    expect(w).toMatchObject({ level: 'warn', msg: 'w', n: 1 })
    expect(e.err).toMatchObject({ name: 'Error', message: 'boom' })
    expect(typeof e.time).toBe('string')
  })

  test('memoryLogger keeps every level', () => {
    const m = memoryLogger()
    m.logger.debug('a', { err: 'plain' })
    expect(m.entries()[0]).toMatchObject({ level: 'debug', msg: 'a', err: 'plain' })
  })
})
