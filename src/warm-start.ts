import { compilePglite } from './db/pglite-assets'

const command = process.argv[2]
if ((command === undefined || command === 'serve') && !process.env.DATABASE_URL) compilePglite()
