// Command syncd keeps a Salesforce org's users in step with the company's identity
// provider. This is the entry point; the daemon, planning and approval commands are
// wired here as their packages land (see DESIGN.md).
package main

import (
	"fmt"
	"io"
	"os"
)

// version is stamped at link time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit code. It takes its
// output streams so that tests can drive it without a subprocess.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintf(stdout, "syncd %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "syncd: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: syncd <command>

commands:
  version   print the version
  help      show this help
`)
}
