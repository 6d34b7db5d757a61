/** An ILIKE pattern matching `text` literally anywhere: `%`, `_` and backslashes in it are escaped. */
import { type SQL, sql } from 'drizzle-orm'

/** A uuid[] from ids as ONE parameter, however many there are (an IN list would take one each). */
export const uuidArray = (ids: string[]): SQL => sql`string_to_array(${ids.join(',')}, ',')::uuid[]`

export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
