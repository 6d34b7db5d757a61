/** Prints the README's configuration table from the settings schema (src/config.ts). */
import { SettingsSchema } from '../src/config'

export function configTable(): string {
  const rows = ['| variable | default | meaning |', '|---|---|---|']
  for (const [name, schema] of Object.entries(SettingsSchema.properties)) {
    const s = schema as { default?: unknown; description?: string }
    const def = s.default === undefined ? '—' : s.default === '' ? '(empty)' : `\`${String(s.default)}\``
    rows.push(`| \`${name}\` | ${def} | ${s.description ?? ''} |`)
  }
  return rows.join('\n')
}

if (import.meta.main) console.log(configTable())
