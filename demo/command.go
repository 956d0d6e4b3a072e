package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"

	"pregon/channels"
)

// Command is `pregon demo`. exit ends the process with a status: PocketBase
// ignores the error a subcommand returns (the process would exit 0), and a
// script that runs the demo must see a refusal.
func Command(app core.App, registry func() *channels.Registry, exit func(int)) *cobra.Command {
	var opts Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fill an empty data dir with a demo workspace (staff, custom fields, ~300 contacts)",
		Long: "Fills an EMPTY data dir with a believable demo workspace: an owner, a manager and an agent with\n" +
			"random passwords (printed once), a team, custom fields, contacts from MX, PE, CO, AR, CL, IN and US\n" +
			"with valid phones, tags, consent evidence and a year of history, and a Sandbox channel when this\n" +
			"build has one. The same --seed gives the same people. Refuses a data dir that already has users,\n" +
			"contacts or custom fields.",
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			res, err := Run(app, registry(), opts)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "pregon demo:", err)
				exit(1)
				return
			}
			Print(cmd.OutOrStdout(), app.DataDir(), res)
		},
	}
	cmd.Flags().IntVar(&opts.Contacts, "contacts", 300, "how many contacts to create")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "the seed of the generated people (same seed, same people)")
	return cmd
}

// Print writes what the demo created and how to sign in.
func Print(w io.Writer, dataDir string, res Result) {
	fmt.Fprintf(w, "Demo workspace \"Tienda Demo\" written to %s\n\n", dataDir)
	codes := make([]string, 0, len(res.ByCountry))
	for c := range res.ByCountry {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "  %d contacts:", res.Contacts)
	for _, c := range codes {
		fmt.Fprintf(w, " %s %d", c, res.ByCountry[c])
	}
	fmt.Fprintf(w, "\n  %d custom fields (city, points, birthday, vip, website), team Ventas\n", res.Fields)
	fmt.Fprintf(w, "  %d WhatsApp opt-ins with evidence, %d opt-outs, %d Telegram identities\n", res.OptIns, res.OptOuts, res.Telegram)
	if res.Sandbox && res.Broadcast != "" {
		fmt.Fprintln(w, "  Sandbox channel: created, with the draft broadcast \""+res.Broadcast+"\" to whoever writes to it")
	} else if res.Sandbox {
		fmt.Fprintln(w, "  Sandbox channel: created")
	} else {
		fmt.Fprintln(w, "  Sandbox channel: skipped (this build has no sandbox channel type)")
	}
	fmt.Fprintln(w, "\nSign in (these passwords are shown only now):")
	for _, a := range res.Accounts {
		fmt.Fprintf(w, "  %-8s %-30s %s\n", a.Role, a.Email, a.Password)
	}
	// Name the data dir: a plain "pregon serve" opens ./pb_data, not the
	// demo that was just written elsewhere.
	fmt.Fprintf(w, "\nStart it with: pregon serve --dir %s (then open http://127.0.0.1:8090/)\n", shellQuote(dataDir))
}

// shellQuote quotes a path for a copied command line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"\\$`&;|<>()*?[]#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
