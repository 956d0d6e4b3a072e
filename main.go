// Pregón: a self-hosted customer-messaging appliance in one binary.
package main

import (
	"log"
	"os"
	_ "time/tzdata" // schedules and contacts name IANA zones; the image has no zoneinfo

	"github.com/pocketbase/pocketbase"

	"pregon/channels"
	"pregon/cli"
	"pregon/demo"
	"pregon/hooks"
	"pregon/internal/sqlitemem"
	_ "pregon/pb_migrations"
)

func main() {
	// The health probe must not open the database; see cli.Healthcheck.
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(cli.Healthcheck(os.Args[2:], os.Stderr))
	}

	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: "pb_data", DBConnect: sqlitemem.Connect})
	env := hooks.Bind(app, hooks.Options{})
	app.RootCmd.AddCommand(demo.Command(app, func() *channels.Registry { return env.Registry }, os.Exit))
	app.RootCmd.Use = "pregon"
	app.RootCmd.Short = "Pregón: self-hosted customer messaging (WhatsApp, Telegram, SMS, web chat). Also: pregon healthcheck [--url URL]"
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
