// Command syncd keeps a Salesforce org's users in step with the company's identity
// provider. main is thin: it owns the process (signals, the environment, exit codes)
// and hands everything else to the commands, which build their parts through
// internal/app.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is stamped at link time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], env{
		stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv, now: time.Now,
		stderrIsTerminal: isTerminal(os.Stderr),
		reconcile:        forward(syscall.SIGUSR1), reload: forward(syscall.SIGHUP),
	})
	stop()
	os.Exit(code)
}

// forward delivers sig into a one-slot channel with a non-blocking send: signals
// that arrive while one is pending merge into it, and the sender never blocks.
func forward(sig os.Signal) <-chan struct{} {
	in := make(chan os.Signal, 1)
	signal.Notify(in, sig)
	out := make(chan struct{}, 1)
	go func() {
		for range in {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}

// isTerminal reports whether f is a character device, where progress lines and
// console logs are meant for a person.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
