// Package pb_migrations holds Pregón's schema as PocketBase Go migrations, one
// collection (or one change) per time-prefixed file.
package pb_migrations

import "github.com/pocketbase/pocketbase/tools/types"

// API rule fragments shared by the collections. Roles live on the users
// collection: owner > manager > agent. Superusers bypass every rule.
const (
	ruleStaff   = "@request.auth.collectionName = 'users'"
	ruleManager = "@request.auth.collectionName = 'users' && (@request.auth.role = 'owner' || @request.auth.role = 'manager')"
	ruleOwner   = "@request.auth.collectionName = 'users' && @request.auth.role = 'owner'"
)

func rule(s string) *string { return types.Pointer(s) }
