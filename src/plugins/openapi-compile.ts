/** A route as Elysia keeps it in its route table: `compile` builds its handler and validators once. */
export interface CompilableRoute {
  compile?: () => unknown
}

/**
 * Compiles every route now, so the OpenAPI document sees the schemas as Elysia leaves them after
 * compiling (it adds `additionalProperties: false`), whichever routes ran before. Synchronous.
 *
 * While it runs, console.log is muted: Elysia's handler analysis (Sucrose) prints a multi-line
 * "[Sucrose] warning" with console.log for some minified handlers, which in the compiled binary
 * would land in the middle of `taskbase openapi`'s JSON on stdout. Nothing else runs meanwhile.
 */
export function compileAll(routes: readonly CompilableRoute[]): void {
  const log = console.log
  console.log = () => {}
  try {
    for (const route of routes) route.compile?.()
  } finally {
    console.log = log
  }
}
