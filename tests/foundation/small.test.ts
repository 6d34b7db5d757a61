import { describe, expect, test } from 'bun:test'
import { EventEmitter } from 'node:events'
import { getTableConfig } from 'drizzle-orm/pg-core'
import { processIO, terminalPrompt } from '../../src/cli/common'
import { inert } from '../../src/cli/openapi'
import * as schema from '../../src/db/schema'
import { createLogger, memoryLogger } from '../../src/lib/logger'
import { cleanLine } from '../../src/lib/text'

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

describe('schema', () => {
  test('every table declares the indexes the lists and the outbox rely on', () => {
    const indexes = (t: Parameters<typeof getTableConfig>[0]) =>
      getTableConfig(t).indexes.map((i) => i.config.name)
    expect(indexes(schema.users)).toEqual(
      expect.arrayContaining(['users_email_lower_key', 'users_username_lower_key']),
    )
    expect(indexes(schema.events)).toEqual(
      expect.arrayContaining(['events_project_seq_idx', 'events_undispatched_idx']),
    )
    expect(indexes(schema.projects)).toEqual(
      expect.arrayContaining(['projects_slug_key', 'projects_deleted_at_idx']),
    )
    expect(indexes(schema.tasks)).toContain('tasks_project_number_key')
    // every foreign key points where the ownership model says (deleting a user or project cascades)
    const refs = (t: Parameters<typeof getTableConfig>[0]) =>
      getTableConfig(t)
        .foreignKeys.map((fk) => {
          const r = fk.reference()
          return `${r.columns[0]!.name}->${getTableConfig(r.foreignTable).name}:${fk.onDelete}`
        })
        .sort()
    expect(refs(schema.sessions)).toEqual(['userId->users:cascade'])
    expect(refs(schema.refreshTokens)).toEqual(['sessionId->sessions:cascade'])
    expect(refs(schema.apiTokens)).toEqual(['userId->users:cascade'])
    expect(refs(schema.oneTimeTokens)).toEqual(['userId->users:cascade'])
    expect(refs(schema.idempotencyKeys)).toEqual(['userId->users:cascade'])
    expect(refs(schema.projectMembers)).toEqual(['projectId->projects:cascade', 'userId->users:cascade'])
    expect(refs(schema.tasks)).toEqual([
      'assigneeId->users:set null',
      'createdBy->users:set null',
      'projectId->projects:cascade',
    ])
    expect(refs(schema.comments)).toEqual([
      'authorId->users:set null',
      'projectId->projects:cascade',
      'taskId->tasks:cascade',
    ])
    expect(refs(schema.events)).toEqual(['actorId->users:set null', 'projectId->projects:cascade'])
    // a requester's report jobs go with them; the queue indexes serve claims, lease expiry and purge
    expect(refs(schema.jobs)).toEqual(['requestedBy->users:cascade'])
    expect(indexes(schema.jobs)).toEqual(
      expect.arrayContaining(['jobs_queued_idx', 'jobs_running_idx', 'jobs_finished_idx']),
    )
  })
})

describe('cleanLine', () => {
  test('strips tags and control characters and trims', () => {
    expect(cleanLine('  <b>Hi</b> <script>alert(1)</script>there\u0000\n ')).toBe('Hi alert(1)there')
    expect(cleanLine('<img src=x onerror=alert(1)>')).toBe('')
  })

  test('keeps ordinary text around a lone < or >', () => {
    expect(cleanLine('x < 5 and y > 3')).toBe('x < 5 and y > 3')
    expect(cleanLine('a < b')).toBe('a < b')
    expect(cleanLine('R&D <internal')).toBe('R&D <internal')
    expect(cleanLine('1<2 & 3>2')).toBe('1<2 & 3>2')
    expect(cleanLine('<3 you')).toBe('<3 you')
    expect(cleanLine('a <= b -> c')).toBe('a <= b -> c')
  })

  test('still removes real tags, comments and XSS payloads', () => {
    expect(cleanLine('<script>alert(1)</script>')).toBe('alert(1)')
    expect(cleanLine('<svg/onload=alert(1)>')).toBe('')
    expect(cleanLine('Hi <IMG SRC=x onerror=alert(1)> there')).toBe('Hi  there')
    expect(cleanLine('a<!-- hidden <b>x</b> -->b')).toBe('ab')
    expect(cleanLine('a<!-- unterminated')).toBe('a')
    expect(cleanLine('<<script>script>alert(1)<</script>/script>')).not.toMatch(/<\/?script/i)
    expect(cleanLine('<a href="x">link</a>\u0007\ttab')).toBe('link tab')
    expect(cleanLine('<scr<b>ipt>alert(1)</scr</b>ipt>')).not.toMatch(/<\/?[a-z]/i)
  })
})

class FakeTTY extends EventEmitter {
  isTTY = true
  raw: boolean[] = []
  setRawMode(raw: boolean) {
    this.raw.push(raw)
  }
  setEncoding() {}
  resume() {}
  pause() {}
}

describe('terminalPrompt', () => {
  test('reads a hidden line with backspace, without echoing it', async () => {
    const tty = new FakeTTY()
    const echoed: string[] = []
    const answer = terminalPrompt('Password: ', true, tty, (s) => echoed.push(s))
    tty.emit('data', 'abc\u007fd')
    tty.emit('data', 'e\r')
    expect(await answer).toBe('abde')
    expect(echoed.join('')).toBe('Password: \n')
    expect(tty.raw).toEqual([true, false])
  })

  test('echoes visible input, and Ctrl-C gives null', async () => {
    const tty = new FakeTTY()
    const echoed: string[] = []
    const answer = terminalPrompt('Name: ', false, tty, (s) => echoed.push(s))
    tty.emit('data', 'ab\u0003')
    expect(await answer).toBeNull()
    expect(echoed.join('')).toBe('Name: ab\n')
  })

  test('without a TTY there is no prompt', async () => {
    const tty = new FakeTTY()
    tty.isTTY = false
    expect(await terminalPrompt('x', true, tty, () => {})).toBeNull()
  })
})

test('the openapi stand-in database refuses any call', () => {
  const db = inert('database') as unknown as { db: { select: () => unknown } }
  expect(() => db.db.select()).toThrow('the openapi command has no database (called database.db.select)')
})

test('the process IO writes to stdout and stderr, and has no prompt without a TTY', async () => {
  expect(() => processIO.stdout('')).not.toThrow()
  expect(() => processIO.stderr('')).not.toThrow()
  if (!process.stdin.isTTY) expect(await processIO.prompt!('unused: ', true)).toBeNull()
})

test('uuid and email formats use fast checkers, not the Zod-backed ones @elysiajs/openapi installs', async () => {
  await import('../../src/plugins/docs')
  const { FormatRegistry } = await import('@sinclair/typebox')
  const uuid = FormatRegistry.Get('uuid')!
  expect(uuid('01939a4e-5b6c-7d8e-9f00-112233445566')).toBe(true)
  expect(uuid('not-a-uuid')).toBe(false)
  expect(FormatRegistry.Get('email')!('a@b.co')).toBe(true)
  expect(FormatRegistry.Get('date-time')!('2026-11-22T10:15:00.000Z')).toBe(true)
  expect(uuid.toString()).not.toContain('string3')
})

test('date-time is RFC 3339', async () => {
  await import('../../src/plugins/docs')
  const { FormatRegistry } = await import('@sinclair/typebox')
  const dt = FormatRegistry.Get('date-time')!
  for (const ok of ['2026-11-22T10:15:00.000Z', '2026-11-22T10:15:00+01:00', '2026-11-22t10:15:00z'])
    expect(dt(ok)).toBe(true)
  for (const bad of [
    '2026-11-22',
    '2026-13-01T00:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T10:15:00',
    'x2026-11-22T10:15:00Z',
  ])
    expect(dt(bad)).toBe(false)
})
