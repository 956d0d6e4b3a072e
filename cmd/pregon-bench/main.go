// Command pregon-bench measures Pregón as a whole system: each subcommand
// runs one benchmark named in BENCHMARKS.md and prints its figures.
//
//	go run ./cmd/pregon-bench <subcommand> [flags]
package main

import (
	"fmt"
	"os"
	"sort"
)

// commands maps a subcommand to its runner; each lives in its own file.
var commands = map[string]func(args []string) error{}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: pregon-bench <subcommand> [flags]\nsubcommands: %v\n", names)
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "pregon-bench:", err)
		os.Exit(1)
	}
}
