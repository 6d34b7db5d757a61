import { describe, expect, test } from 'bun:test'
import { EventEmitter } from 'node:events'
import { processIO, terminalPrompt } from '../../src/cli/common'

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

test('the process IO writes to stdout and stderr, and has no prompt without a TTY', async () => {
  expect(() => processIO.stdout('')).not.toThrow()
  expect(() => processIO.stderr('')).not.toThrow()
  if (!process.stdin.isTTY) expect(await processIO.prompt!('unused: ', true)).toBeNull()
})
