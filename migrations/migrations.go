// Package migrations holds the numbered SQL migrations (golang-migrate
// up/down pairs), embedded so every binary carries the schema it expects.
package migrations

import "embed"

// FS holds the *.sql files of this directory.
//
//go:embed *.sql
var FS embed.FS
