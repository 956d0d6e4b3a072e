package hooks

import (
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/pb_public"
)

// bindStatic serves the embedded dashboard and web-chat widget at "/".
func bindStatic(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		// The SPA fallback below would answer unknown /api paths with
		// index.html and a 200; make them a JSON 404 instead.
		se.Router.GET("/api/{path...}", func(e *core.RequestEvent) error {
			return e.NotFoundError("No such API endpoint; see docs/API.md.", nil)
		})
		if !se.Router.HasRoute("GET", "/{path...}") {
			se.Router.GET("/{path...}", apis.Static(pb_public.FS(), true))
		}
		return se.Next()
	})
}
