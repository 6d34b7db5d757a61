import { migrate } from '../db/migrate'
import { type CliIO, openDatabase, settingsOrExit } from './common'

export async function migrateCommand(io: CliIO): Promise<number> {
  const settings = settingsOrExit(io, { persistSecret: false })
  const database = await openDatabase(settings)
  try {
    const applied = await migrate(database)
    io.stdout(
      applied.length
        ? `applied ${applied.length} migration(s): ${applied.join(', ')}\n`
        : 'database is up to date\n',
    )
    return 0
  } finally {
    await database.close()
  }
}
