package postgres

// Internals for the external tests of migrate.go.
var (
	MigrateWith         = migrate
	MigrationStatusWith = migrationStatus
	LoadMigrations      = loadMigrations
)
