/** An ILIKE pattern matching `text` literally anywhere: `%`, `_` and backslashes in it are escaped. */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
