// Package pb_public embeds the built dashboard and web-chat widget (dist/),
// so that `go run . serve` needs no Node.
package pb_public

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built files rooted at dist/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist/ is embedded at build time; its absence is a build bug
	}
	return sub
}
