import { expect, test } from 'bun:test'
import { compileAll } from '../../../src/plugins/openapi-compile'

test('compiling routes for the document prints nothing on stdout, and console.log comes back', () => {
  const before = console.log
  const printed: unknown[] = []
  console.log = (...args: unknown[]) => printed.push(args)
  try {
    const compiled: string[] = []
    compileAll([
      {
        compile: () => {
          console.log('[Sucrose] warning: unexpected isContextPassToFunction error')
          compiled.push('a')
        },
      },
      {},
      { compile: () => compiled.push('b') },
    ])
    expect(compiled).toEqual(['a', 'b'])
    expect(printed).toEqual([])
    console.log('after')
    expect(printed).toEqual([['after']])
    expect(() =>
      compileAll([
        {
          compile: () => {
            throw new Error('boom')
          },
        },
      ]),
    ).toThrow('boom')
    console.log('still restored')
    expect(printed).toHaveLength(2)
  } finally {
    console.log = before
  }
})
