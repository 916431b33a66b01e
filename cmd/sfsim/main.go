// Command sfsim runs the Salesforce simulator as a process, so that syncd can be tried
// and tested end to end without a Salesforce org. The first line it prints on stdout
// is its base URL (use it as both the login URL and, through the token answer, the
// instance URL); it serves until SIGTERM or SIGINT.
//
//	sfsim --addr 127.0.0.1:0 --seed org.json --api-max 15000
//
// See the sfsim package documentation for the endpoints, the seed format and curl
// examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/syncd-io/syncd/internal/sfsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// shutdownGrace bounds how long requests in flight may take to finish on shutdown.
const shutdownGrace = 5 * time.Second

// run parses flags, starts the simulator and serves until ctx is done. It returns the
// process exit code: 0 after a clean shutdown, 2 for bad flags, 1 for other failures.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sfsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address; port 0 picks a free port")
	clientID := fs.String("client-id", sfsim.DefaultClientID, "connected app consumer key")
	clientSecret := fs.String("client-secret", sfsim.DefaultClientSecret, "connected app consumer secret")
	username := fs.String("username", sfsim.DefaultUsername, "the integration user's username (a System Administrator)")
	jwtCert := fs.String("jwt-cert", "", "PEM file of the X.509 certificate that verifies JWT bearer assertions")
	seedFile := fs.String("seed", "", "JSON seed document adding licenses, profiles, roles and users")
	apiMax := fs.Int64("api-max", sfsim.DefaultAPIMax, "daily API allowance (rolling 24 h)")
	sessionTTL := fs.Duration("session-ttl", sfsim.DefaultSessionTTL, "access token lifetime")
	latency := fs.Duration("latency", 0, "delay added to every request")
	faultRate := fs.Float64("fault-rate", 0, "probability (0..1) of a random fault on a REST request")
	randSeed := fs.Uint64("rand-seed", 1, "seed of the random fault generator")
	verbose := fs.Bool("v", false, "log every request to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sfsim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	opts := sfsim.Options{
		ClientID: *clientID, ClientSecret: *clientSecret, Username: *username,
		APIMax: *apiMax, SessionTTL: *sessionTTL, Latency: *latency, FaultRate: *faultRate,
		RandSeed: *randSeed,
	}
	if *jwtCert != "" {
		data, err := os.ReadFile(*jwtCert)
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: --jwt-cert: %v\n", err)
			return 2
		}
		if opts.JWTCertificate, err = sfsim.ParseCertificatePEM(data); err != nil {
			fmt.Fprintf(stderr, "sfsim: --jwt-cert %s: %v\n", *jwtCert, err)
			return 2
		}
	}
	if *seedFile != "" {
		data, err := os.ReadFile(*seedFile)
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: --seed: %v\n", err)
			return 2
		}
		if opts.Seed, err = sfsim.ParseSeed(data); err != nil {
			fmt.Fprintf(stderr, "sfsim: --seed %s: %v\n", *seedFile, err)
			return 2
		}
	}
	if *verbose {
		cfg := zap.NewDevelopmentConfig()
		cfg.OutputPaths = []string{"stderr"}
		log, err := cfg.Build()
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: logger: %v\n", err)
			return 1
		}
		defer func() { _ = log.Sync() }()
		opts.Logger = log
	}
	sim, err := sfsim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "sfsim: %v\n", err)
		return 2
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "sfsim: listen: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "sfsim: serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "sfsim: shutdown: %v\n", err)
		return 1
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "sfsim: serve: %v\n", err)
		return 1
	}
	return 0
}
